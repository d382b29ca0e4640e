import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {durationFlag, forceFlag} from '../../cli/flags.js'
import {loadCluster, parseNodeId, resolveDir} from '../../clusterdir/config.js'
import {promoteMember, PROMOTE_LAG} from '../../cluster/membership.js'
import {describeMembership} from '../../core/membership.js'

export default class MemberPromote extends BaseCommand {
  static override description = `Promote a learner to voter, once it is within ${PROMOTE_LAG} entries of the leader`
  static override examples = ['<%= config.bin %> member promote 4']
  static override args = {id: Args.string({description: 'the learner to promote', required: true})}
  static override flags = {
    force: forceFlag(),
    timeout: durationFlag({description: 'how long to wait for it to catch up and for the change to commit', default: 30_000, min: 1}),
  }

  async run(): Promise<unknown> {
    const {flags, args} = await this.parse(MemberPromote)
    const dir = resolveDir(flags.dir)
    const id = parseNodeId(args.id, loadCluster(dir))
    const configuration = await promoteMember(dir, id, {force: flags.force, timeoutMs: flags.timeout})
    if (!this.jsonEnabled()) this.log(`Node ${id} is a voter; configuration: ${describeMembership(configuration)}`)
    return {id, configuration}
  }
}
