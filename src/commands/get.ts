import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, nodeFlag} from '../cli/flags.js'
import {getValue, KEY_HELP} from '../cli/kv.js'

export default class Get extends BaseCommand {
  static override description = `Read KEY. Linearizable by default (ReadIndex on the leader); --stale answers from any node's applied state (with --node: that node's).\n${KEY_HELP}. Exit 3 if the key does not exist. --json names the node that answered.`
  static override examples = ['<%= config.bin %> get color', '<%= config.bin %> get color --stale', '<%= config.bin %> get color --stale --node 3 --json']
  static override args = {key: Args.string({description: 'the key', required: true})}
  static override flags = {
    stale: Flags.boolean({description: "answer from a node's applied state (may be stale)", default: false}),
    timeout: durationFlag({description: 'give up after this long (exit 4)', default: 5000, min: 1}),
    node: nodeFlag,
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Get)
    const out = await getValue(flags.dir, args.key, {stale: flags.stale, timeoutMs: flags.timeout, node: flags.node})
    if (!this.jsonEnabled()) process.stdout.write(out.value + '\n')
    return out
  }
}
