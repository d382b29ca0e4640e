import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag} from '../cli/flags.js'
import {getValue, KEY_HELP} from '../cli/kv.js'

export default class Get extends BaseCommand {
  static override description = `Read KEY. Linearizable by default (ReadIndex on the leader); --stale answers from any node.\n${KEY_HELP}. Exit 3 if the key does not exist.`
  static override examples = ['<%= config.bin %> get color', '<%= config.bin %> get color --stale']
  static override args = {key: Args.string({description: 'the key', required: true})}
  static override flags = {
    stale: Flags.boolean({description: "answer from a node's applied state (may be stale)", default: false}),
    timeout: durationFlag({description: 'give up after this long (exit 4)', default: 5000}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Get)
    const out = await getValue(flags.dir, args.key, flags.stale, flags.timeout)
    if (!this.jsonEnabled()) process.stdout.write(out.value + '\n')
    return out
  }
}
