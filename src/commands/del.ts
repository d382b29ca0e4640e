import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, nodeFlag} from '../cli/flags.js'
import {checkKey, KEY_HELP, notFound, withClient} from '../cli/kv.js'

export default class Del extends BaseCommand {
  static override description = `Delete KEY; prints OK. Exit 3 if it was absent.\n${KEY_HELP}.`
  static override examples = ['<%= config.bin %> del color']
  static override args = {key: Args.string({description: 'the key', required: true})}
  static override flags = {timeout: durationFlag({description: 'give up after this long (exit 4, outcome unknown)', default: 5000, min: 1}), node: nodeFlag}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Del)
    checkKey(args.key)
    const out = await withClient(flags.dir, {node: flags.node}, (c) => c.del(args.key, flags.timeout))
    if (out.result.status === 'not-found') throw notFound(args.key)
    if (!this.jsonEnabled()) this.log('OK')
    return {key: args.key, index: out.index, previous: out.result.status === 'ok' ? out.result.previous : null, node: out.node}
  }
}
