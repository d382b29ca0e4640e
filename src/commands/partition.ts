import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {CliError, ExitCode, usageError} from '../lib/errors.js'
import {loadCluster, parseNodeId, raftctl, readSecret, resolveDir} from '../clusterdir/config.js'
import {applyPartition, currentPartition, findLeader, parseGroups, type PartitionResult} from '../cluster/service.js'
import {describePartition} from '../cluster/partition.js'

export default class Partition extends BaseCommand {
  static override description =
    'Cut the peer network into groups (nodes not named form one more group); --isolate cuts one node off; --heal restores it; no argument prints the current partition'
  static override examples = [
    '<%= config.bin %> partition 1,2 3,4,5',
    '<%= config.bin %> partition --isolate leader',
    '<%= config.bin %> partition --isolate 3',
    '<%= config.bin %> partition --heal',
    '<%= config.bin %> partition',
  ]
  static override strict = false
  static override args = {groups: Args.string({description: 'groups of node ids, e.g. 1,2 3,4,5', required: false})}
  static override flags = {
    isolate: Flags.string({description: 'cut one node (an id, or "leader") off from all others'}),
    heal: Flags.boolean({description: 'restore full connectivity', default: false}),
  }

  async run(): Promise<unknown> {
    const {flags, argv} = await this.parse(Partition)
    const dir = resolveDir(flags.dir)
    const config = loadCluster(dir)
    const groupsArgs = argv as string[]
    const ids = config.nodes.map((n) => n.id)
    const modes = [groupsArgs.length > 0, flags.isolate !== undefined, flags.heal].filter(Boolean).length
    if (modes > 1) throw usageError('give groups, --isolate or --heal, not several')
    let result: PartitionResult
    if (flags.heal) {
      result = await applyPartition(dir, config, null)
    } else if (flags.isolate !== undefined) {
      let id: number
      if (flags.isolate === 'leader') {
        const leader = await findLeader(config, readSecret(dir))
        if (leader === null) throw new CliError('no leader to isolate right now', ExitCode.unavailable, 'unavailable', `check ${raftctl(dir, 'status')}`)
        id = leader
      } else {
        id = parseNodeId(flags.isolate, config)
      }
      result = await applyPartition(dir, config, {groups: [[id]]})
    } else if (groupsArgs.length > 0) {
      result = await applyPartition(dir, config, {groups: parseGroups(groupsArgs, config)})
    } else {
      const rules = currentPartition(dir, config)
      if (!this.jsonEnabled()) this.log(rules ? `partition: ${describePartition(rules, ids)}` : 'no partition: full connectivity')
      return {partition: rules}
    }
    if (!this.jsonEnabled()) {
      if (result.rules) this.log(`Partitioned: ${describePartition(result.rules, ids)}`)
      else if (flags.heal) this.log('Healed: full connectivity')
      else this.log('No partition: one group holds every node (full connectivity)')
      if (result.applied.length > 0) process.stderr.write(`Applied by node(s) ${result.applied.join(', ')}\n`)
      if (result.unreachable.length > 0) process.stderr.write(`Warning: node(s) ${result.unreachable.join(', ')} did not answer; they apply it when they start\n`)
    }
    return {partition: result.rules, applied: result.applied, unreachable: result.unreachable}
  }
}
