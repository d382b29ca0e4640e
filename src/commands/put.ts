import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, nodeFlag} from '../cli/flags.js'
import {KEY_HELP, putValue, VALUE_HELP} from '../cli/kv.js'

export default class Put extends BaseCommand {
  static override description = `Write KEY=VALUE through the leader; prints OK once it is committed and applied.\n${KEY_HELP}; ${VALUE_HELP}.\nVALUE "-" reads stdin to its end and stores it byte for byte: a trailing newline is kept (echo adds one; printf '%s' does not). --json names the node that answered.`
  static override examples = [
    '<%= config.bin %> put color blue',
    "printf '%s' hello | <%= config.bin %> put greeting -",
    '<%= config.bin %> put color red --node 1',
  ]
  static override args = {
    key: Args.string({description: 'the key', required: true}),
    value: Args.string({description: 'the value, or - to read it from stdin', required: true}),
  }
  static override flags = {timeout: durationFlag({description: 'give up after this long (exit 4, outcome unknown)', default: 5000, min: 1}), node: nodeFlag}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Put)
    const out = await putValue(flags.dir, args.key, args.value, {timeoutMs: flags.timeout, node: flags.node})
    if (!this.jsonEnabled()) this.log('OK')
    return out
  }
}
