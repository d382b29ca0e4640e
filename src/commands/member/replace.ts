import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {durationFlag, forceFlag} from '../../cli/flags.js'
import {loadCluster, parseNodeId, resolveDir} from '../../clusterdir/config.js'
import {replaceMember} from '../../cluster/membership.js'

export default class MemberReplace extends BaseCommand {
  static override description = 'Replace a node (e.g. one whose disk died): remove it, then add a fresh node with a new id in its place'
  static override examples = ['<%= config.bin %> member replace 3']
  static override args = {id: Args.string({description: 'the node to replace', required: true})}
  static override flags = {
    force: forceFlag('each new configuration'),
    timeout: durationFlag({description: 'how long to wait for each step', default: 30_000, min: 1}),
  }

  async run(): Promise<unknown> {
    const {flags, args} = await this.parse(MemberReplace)
    const dir = resolveDir(flags.dir)
    const id = parseNodeId(args.id, loadCluster(dir))
    const r = await replaceMember(dir, id, {force: flags.force, timeoutMs: flags.timeout})
    if (!this.jsonEnabled()) this.log(`Replaced node ${id} with node ${r.added.id} (${r.added.address}, a ${r.added.role})`)
    return r
  }
}
