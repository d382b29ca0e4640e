import {BaseCommand} from '../cli/base.js'
import {loadCluster, resolveDir} from '../clusterdir/config.js'
import {healAll} from '../cluster/network.js'

export default class Heal extends BaseCommand {
  static override description =
    'Undo every injected fault: restore full connectivity, remove link faults (raftctl net) and disk faults (same as raftctl partition --heal)'
  static override examples = ['<%= config.bin %> heal']

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Heal)
    const dir = resolveDir(flags.dir)
    const result = await healAll(dir, loadCluster(dir))
    if (!this.jsonEnabled()) {
      this.log(`Healed: full connectivity${result.disks.length > 0 ? `; disks of node(s) ${result.disks.join(', ')} back to normal` : ''}`)
      if (result.unreachable.length > 0) process.stderr.write(`Warning: node(s) ${result.unreachable.join(', ')} did not answer\n`)
    }
    return {partition: null, applied: result.applied, unreachable: result.unreachable}
  }
}
