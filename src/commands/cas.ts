import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {CliError, ExitCode} from '../lib/errors.js'
import {durationFlag, nodeFlag} from '../cli/flags.js'
import {checkArgUtf8, checkKey, checkValue, KEY_HELP, notFound, VALUE_HELP, withClient} from '../cli/kv.js'

export default class Cas extends BaseCommand {
  static override description = `Compare-and-swap: set KEY to NEW only if its value is EXPECTED; prints OK.\nExit 5 (with the current value) on mismatch, 3 if the key is absent. ${KEY_HELP}; ${VALUE_HELP}.`
  static override examples = ['<%= config.bin %> cas color blue green']
  static override args = {
    key: Args.string({description: 'the key', required: true}),
    expected: Args.string({description: 'the value the key must have', required: true}),
    new: Args.string({description: 'the value to set', required: true}),
  }
  static override flags = {timeout: durationFlag({description: 'give up after this long (exit 4, outcome unknown)', default: 5000, min: 1}), node: nodeFlag}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Cas)
    checkKey(args.key)
    checkValue(args.expected, 'EXPECTED')
    checkValue(args.new, 'NEW')
    checkArgUtf8(args.expected, 'EXPECTED')
    checkArgUtf8(args.new, 'NEW')
    const out = await withClient(flags.dir, {node: flags.node}, (c) => c.cas(args.key, args.expected, args.new, flags.timeout))
    const r = out.result
    if (r.status === 'not-found') throw notFound(args.key)
    if (r.status === 'mismatch') {
      throw new CliError(
        `compare failed: ${JSON.stringify(args.key)} is ${JSON.stringify(r.current)}, not ${JSON.stringify(args.expected)}`,
        ExitCode.compareFailed,
        'compare-failed',
      )
    }
    if (r.status !== 'ok') throw new CliError(`write refused: ${r.status}`, ExitCode.unavailable, 'unavailable')
    if (!this.jsonEnabled()) this.log('OK')
    return {key: args.key, value: args.new, previous: r.previous, index: out.index, node: out.node}
  }
}
