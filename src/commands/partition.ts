import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {CliError, ExitCode, usageError} from '../lib/errors.js'
import {loadCluster, parseNodeId, raftctl, readSecret, resolveDir, type ClusterConfig} from '../clusterdir/config.js'
import {healAll, parseLink, setCuts} from '../cluster/network.js'
import {currentPartition, findLeader, parseGroups, type PartitionResult} from '../cluster/service.js'
import {describePartition} from '../cluster/partition.js'
import {bridge, ring, tethered} from '../sim/partitions.js'
import type {PartitionRules} from '../transport/link-filter.js'

export default class Partition extends BaseCommand {
  static override description = `Cut the peer network: into groups (nodes not named form one more group), or into a partial topology (a bridge, a majorities ring, a tethered majority, one-way cuts); --heal restores it; no argument prints the current partition
Link faults set with raftctl net (delay, loss, duplication) stay in force; --heal (raftctl heal) removes them and disk faults too.
--bridge ID: the other nodes split into two halves that hear each other only through ID. --ring: each node hears only its nearest neighbours in id order (every node sees a majority, no two the same one). --tethered IDS: those nodes (a majority) fully connected, every other node linked to one of them only, a different one each (the 2020 Cloudflare etcd outage). --one-way FROM:TO: drop messages from FROM to TO only (repeatable; FROM>TO in quotes works too).`
  static override examples = [
    '<%= config.bin %> partition 1,2 3,4,5',
    '<%= config.bin %> partition --isolate leader',
    '<%= config.bin %> partition --isolate 3',
    '<%= config.bin %> partition --bridge 3',
    '<%= config.bin %> partition --ring',
    '<%= config.bin %> partition --tethered 1,2,3',
    '<%= config.bin %> partition --one-way 1:2 --one-way 3:1',
    '<%= config.bin %> partition --heal',
    '<%= config.bin %> partition',
  ]
  static override strict = false
  static override args = {groups: Args.string({description: 'groups of node ids, e.g. 1,2 3,4,5', required: false})}
  static override flags = {
    isolate: Flags.string({description: 'cut one node (an id, or "leader") off from all others'}),
    bridge: Flags.string({description: 'two halves joined only through this node (an id, or "leader")', helpValue: 'ID'}),
    ring: Flags.boolean({description: 'a majorities ring in id order', default: false}),
    tethered: Flags.string({description: 'a fully connected majority (comma-separated ids); each other node keeps one link to it', helpValue: 'IDS'}),
    'one-way': Flags.string({description: 'drop the messages from FROM to TO (FROM:TO; repeatable)', multiple: true, helpValue: 'FROM:TO'}),
    heal: Flags.boolean({description: 'restore full connectivity (and remove link and disk faults)', default: false}),
  }

  async run(): Promise<unknown> {
    const {flags, argv} = await this.parse(Partition)
    const dir = resolveDir(flags.dir)
    const config = loadCluster(dir)
    const groupsArgs = argv as string[]
    const ids = config.nodes.map((n) => n.id)
    const modes = [
      groupsArgs.length > 0,
      flags.isolate !== undefined,
      flags.bridge !== undefined,
      flags.ring,
      flags.tethered !== undefined,
      (flags['one-way'] ?? []).length > 0,
      flags.heal,
    ].filter(Boolean).length
    if (modes > 1) throw usageError('give one of: groups, --isolate, --bridge, --ring, --tethered, --one-way or --heal')
    let result: PartitionResult
    if (flags.heal) {
      result = await healAll(dir, config)
    } else if (modes === 0) {
      const rules = currentPartition(dir, config)
      if (!this.jsonEnabled()) this.log(rules ? `partition: ${describePartition(rules, ids)}` : 'no partition: full connectivity')
      return {partition: rules}
    } else {
      result = await setCuts(dir, config, await this.rulesFromFlags(dir, config, flags, groupsArgs))
    }
    if (!this.jsonEnabled()) {
      if (result.rules) this.log(`Partitioned: ${describePartition(result.rules, ids)}`)
      else if (flags.heal) this.log('Healed: full connectivity')
      else this.log('No partition: one group holds every node (full connectivity)')
      if (result.applied.length > 0) process.stderr.write(`Applied by node(s) ${result.applied.join(', ')}\n`)
      if (result.unreachable.length > 0)
        process.stderr.write(`Warning: node(s) ${result.unreachable.join(', ')} did not answer; they apply it when they start\n`)
    }
    return {partition: result.rules, applied: result.applied, unreachable: result.unreachable}
  }

  private async rulesFromFlags(
    dir: string,
    config: ClusterConfig,
    flags: {isolate?: string; bridge?: string; ring: boolean; tethered?: string; 'one-way'?: string[]},
    groupsArgs: string[],
  ): Promise<PartitionRules> {
    const ids = config.nodes.map((n) => n.id)
    if (flags.isolate !== undefined) return {groups: [[await nodeOrLeader(dir, config, flags.isolate, 'isolate')]]}
    if (flags.bridge !== undefined) {
      if (ids.length < 3) throw usageError('a bridge needs at least 3 nodes')
      return bridge(ids, await nodeOrLeader(dir, config, flags.bridge, 'bridge')).rules
    }
    if (flags.ring) {
      if (ids.length < 4) throw usageError('a majorities ring needs at least 4 nodes (with 3, every node hears both others)')
      return ring(ids).rules
    }
    if (flags.tethered !== undefined) {
      const [majority] = parseGroups([flags.tethered], config)
      if (majority!.length <= ids.length / 2) throw usageError(`--tethered: ${flags.tethered} is not a majority of the ${ids.length} nodes`)
      if (majority!.length === ids.length) throw usageError('--tethered: name a majority, not every node')
      return tethered(ids, majority!).rules
    }
    if ((flags['one-way'] ?? []).length > 0) return {groups: [], cuts: flags['one-way']!.map((c) => parseLink(c, config, '--one-way'))}
    return {groups: parseGroups(groupsArgs, config)}
  }
}

async function nodeOrLeader(dir: string, config: ClusterConfig, text: string, what: string): Promise<number> {
  if (text !== 'leader') return parseNodeId(text, config)
  const leader = await findLeader(config, readSecret(dir))
  if (leader === null) throw new CliError(`no leader to ${what} right now`, ExitCode.unavailable, 'unavailable', `check ${raftctl(dir, 'status')}`)
  return leader
}
