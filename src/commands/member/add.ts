import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {durationFlag, forceFlag, intFlag} from '../../cli/flags.js'
import {raftctl, resolveDir} from '../../clusterdir/config.js'
import {addMember, PROMOTE_LAG} from '../../cluster/membership.js'

export default class MemberAdd extends BaseCommand {
  static override description = `Add a node: picks the next id and port, starts it, adds it as a learner and promotes it to voter once it is within ${PROMOTE_LAG} entries of the leader`
  static override examples = ['<%= config.bin %> member add', '<%= config.bin %> member add --learner', '<%= config.bin %> member add --port 7110']
  static override flags = {
    learner: Flags.boolean({description: 'keep it a learner (it receives the log but never votes)', default: false}),
    port: intFlag({description: "its port (default: the next free one after the cluster's)", min: 1, max: 65535}),
    force: forceFlag(),
    timeout: durationFlag({description: 'how long to wait for each step (start, commit, catch-up)', default: 30_000, min: 1}),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(MemberAdd)
    const dir = resolveDir(flags.dir)
    const r = await addMember(dir, {learner: flags.learner, port: flags.port, force: flags.force, timeoutMs: flags.timeout})
    if (!this.jsonEnabled()) {
      this.log(`Added node ${r.id} (${r.address}) as a ${r.role}`)
      if (r.role === 'learner') process.stderr.write(`To promote it: ${raftctl(dir, `member promote ${r.id}`)}\n`)
    }
    return r
  }
}
