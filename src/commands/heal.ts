import {BaseCommand} from '../cli/base.js'
import {loadCluster, resolveDir} from '../clusterdir/config.js'
import {applyPartition} from '../cluster/service.js'

export default class Heal extends BaseCommand {
  static override description = 'Restore full connectivity (same as raftctl partition --heal)'
  static override examples = ['<%= config.bin %> heal']

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Heal)
    const dir = resolveDir(flags.dir)
    const result = await applyPartition(dir, loadCluster(dir), null)
    if (!this.jsonEnabled()) {
      this.log('Healed: full connectivity')
      if (result.unreachable.length > 0) process.stderr.write(`Warning: node(s) ${result.unreachable.join(', ')} did not answer\n`)
    }
    return {partition: null, applied: result.applied, unreachable: result.unreachable}
  }
}
