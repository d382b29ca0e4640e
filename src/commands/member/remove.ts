import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {durationFlag, forceFlag} from '../../cli/flags.js'
import {loadCluster, parseNodeId, resolveDir} from '../../clusterdir/config.js'
import {removeMember} from '../../cluster/membership.js'
import {describeMembership} from '../../core/membership.js'

export default class MemberRemove extends BaseCommand {
  static override description = 'Remove a node from the configuration (also a down node, or the leader), then stop it; its id is never reused'
  static override examples = ['<%= config.bin %> member remove 3', '<%= config.bin %> member remove 2 --force']
  static override args = {id: Args.string({description: 'the node to remove', required: true})}
  static override flags = {
    force: forceFlag(),
    timeout: durationFlag({description: 'how long to wait for the change to commit', default: 10_000, min: 1}),
  }

  async run(): Promise<unknown> {
    const {flags, args} = await this.parse(MemberRemove)
    const dir = resolveDir(flags.dir)
    const id = parseNodeId(args.id, loadCluster(dir))
    const r = await removeMember(dir, id, {force: flags.force, timeoutMs: flags.timeout})
    if (!this.jsonEnabled()) {
      this.log(`Removed node ${id}${r.stopped ? ' and stopped it' : ' (it was not running)'}; configuration: ${describeMembership(r.configuration)}`)
    }
    return r
  }
}
