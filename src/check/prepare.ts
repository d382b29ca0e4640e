// Getting the cluster ready for `raftctl check`: create or start it (in the test-only mode asked
// for, restarting replicas that run in another), resume paused nodes, clear disk faults and give
// every node a volatile write cache (so that a SIGKILL loses what was not fsynced, as a power loss
// would: the durability verdict's premise), heal a stored partition, wait for a leader. And undoing
// the disk settings at the end.
import {clusterExists, DEFAULTS, loadCluster, readSecret, type ClusterConfig} from '../clusterdir/config.js'
import {writeDiskFaults} from '../clusterdir/disk-faults.js'
import {applyPartition, currentPartition, resumeNodes, runningModes, runningMutant, startNodes, stopNodes, waitForLeader} from '../cluster/service.js'
import type {NodeId} from '../core/types.js'
import type {TestMode} from '../protocol/test-modes.js'

export interface PrepareOptions {
  dir: string
  nodes?: number
  basePort?: number
  /** Test only: run the replicas in this mode (restarting the ones that run otherwise). */
  mutant?: TestMode
  leaderTimeoutMs: number
}

export interface PreparedCluster {
  config: ClusterConfig
  secret: string
  /** The test-only mode the replicas run in (asked for, or found running), or null. */
  mutant: TestMode | null
  leader: NodeId
}

export async function prepareCluster(o: PrepareOptions, line: (text: string) => void): Promise<PreparedCluster> {
  const mutant = await settleMode(o, line)
  // Before any replica starts or fsyncs again: a volatile cache, no slow disk left over.
  if (clusterExists(o.dir)) setVolatileDisks(o.dir, loadCluster(o.dir), true)
  const started = await startNodes(o.dir, {
    init: {
      nodes: o.nodes ?? DEFAULTS.nodes,
      basePort: o.basePort ?? DEFAULTS.basePort,
      host: DEFAULTS.host,
      electionTimeoutMs: DEFAULTS.electionTimeoutMs,
      heartbeatMs: DEFAULTS.heartbeatMs,
    },
    nodesGiven: o.nodes !== undefined,
    ...(mutant ? {mutant} : {}),
  })
  const config = started.config
  if (started.initialised) {
    line(`initialised a ${config.nodes.length}-node cluster in ${o.dir}`)
    setVolatileDisks(o.dir, config, true)
  }
  if (started.started.length > 0) line(`started node(s) ${started.started.join(', ')}${mutant ? ` with --mutant ${mutant} (test only)` : ''}`)
  if (currentPartition(o.dir, config) !== null) {
    await applyPartition(o.dir, config, null)
    line('healed the partition that was in force')
  }
  const status = await waitForLeader(o.dir, config, o.leaderTimeoutMs)
  return {config, secret: readSecret(o.dir), mutant, leader: status.leader!}
}

/**
 * The mode the replicas will run in: the one asked for (the running replicas are stopped, gently,
 * to be started again in it, unless they already run in it), else the one a running replica was
 * started in. Also resumes paused nodes.
 */
async function settleMode(o: PrepareOptions, line: (text: string) => void): Promise<TestMode | null> {
  // A --nodes that disagrees with the cluster is left to startNodes to refuse (with its hint).
  if (!clusterExists(o.dir) || (o.nodes !== undefined && o.nodes !== loadCluster(o.dir).nodes.length)) return o.mutant ?? null
  const resumed = await resumeNodes(o.dir)
  if (resumed.resumed.length > 0) line(`resumed paused node(s) ${resumed.resumed.join(', ')}`)
  if (o.mutant !== undefined) {
    // A cluster that runs half one way is restarted too.
    if ([...runningModes(o.dir).values()].some((m) => m !== o.mutant)) {
      const stopped = await stopNodes(o.dir, undefined, false)
      if (stopped.stopped.length > 0) line(`stopped node(s) ${stopped.stopped.join(', ')} to restart them with --mutant ${o.mutant}`)
    }
    return o.mutant
  }
  const running = runningMutant(o.dir)
  if (running !== null) line(`the cluster runs with --mutant ${running} (test only): expect a failure; killed nodes restart in that mode`)
  return running
}

/** Every node's disk: volatile (true) or back to normal, and no slow disk either way. */
export function setVolatileDisks(dir: string, config: ClusterConfig, volatile: boolean): void {
  for (const n of config.nodes) writeDiskFaults(dir, n.id, volatile ? {volatile: true} : {})
}
