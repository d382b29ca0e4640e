import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag} from '../cli/flags.js'
import {loadCluster, parseNodeId, resolveDir} from '../clusterdir/config.js'
import {transferLeader} from '../cluster/membership.js'

export default class TransferLeader extends BaseCommand {
  static override description = 'Hand leadership to a node (default: the most caught-up voter); returns once it leads'
  static override examples = ['<%= config.bin %> transfer-leader', '<%= config.bin %> transfer-leader 3']
  static override args = {id: Args.string({description: 'the voter to lead', required: false})}
  static override flags = {
    timeout: durationFlag({description: 'how long to wait for it to lead', default: 10_000, min: 1}),
  }

  async run(): Promise<unknown> {
    const {flags, args} = await this.parse(TransferLeader)
    const dir = resolveDir(flags.dir)
    const to = args.id !== undefined ? parseNodeId(args.id, loadCluster(dir)) : undefined
    const r = await transferLeader(dir, to, flags.timeout)
    if (!this.jsonEnabled())
      this.log(r.from === r.to ? `Node ${r.to} already leads (term ${r.term})` : `Node ${r.to} leads (term ${r.term}); it took over from node ${r.from}`)
    return r
  }
}
