// Cluster services behind the CLI commands: init, start (idempotent, waits for a leader), stop,
// partition (stored under lock, pushed to running nodes). Each returns data; commands render it.
import {readFileSync, rmSync} from 'node:fs'
import {CliError, ExitCode, operationalError, usageError} from '../lib/errors.js'
import type {NodeId} from '../core/types.js'
import type {PartitionRules} from '../transport/link-filter.js'
import {
  clusterExists,
  DEFAULTS,
  loadCluster,
  nodeDir,
  paths,
  readPartition,
  readSecret,
  writeNewCluster,
  writePartition,
  type ClusterConfig,
  type InitOptions,
} from './config.js'
import {withDirLock} from './lock.js'
import {isAlive, isPaused, pausePid, processArgs, removePidFile, resumePid, runningPid, sleep, spawnReplica, stopPids} from './processes.js'
import {adminRequest, agreedLeader, clusterStatus, nodeStatuses, type ClusterStatus} from './status.js'

export async function initCluster(dir: string, o: InitOptions, force: boolean): Promise<ClusterConfig> {
  return withDirLock(dir, async () => {
    if (clusterExists(dir)) {
      if (!force) {
        throw operationalError(`a cluster already exists in ${dir}`, 'use --force to replace it (its data is deleted)', 'exists')
      }
      const old = loadCluster(dir)
      const running = old.nodes.filter((n) => runningPid(dir, n.id) !== null).map((n) => n.id)
      if (running.length > 0) {
        throw operationalError(`nodes ${running.join(', ')} of the cluster in ${dir} are running`, 'run raftctl stop first', 'running')
      }
      for (const n of old.nodes) rmSync(nodeDir(dir, n.id), {recursive: true, force: true})
      rmSync(paths.partition(dir), {force: true})
    }
    return writeNewCluster(dir, o)
  })
}

export interface StartResult {
  config: ClusterConfig
  started: NodeId[]
  alreadyRunning: NodeId[]
  initialised: boolean
}

export interface StartOptions {
  ids?: NodeId[]
  /** Used only when the directory has no cluster yet. */
  init: InitOptions
  /** --nodes was given explicitly: it must match an existing cluster. */
  nodesGiven: boolean
  unsafeStaleReads?: boolean
}

export async function startNodes(dir: string, opts: StartOptions): Promise<StartResult> {
  const {config, initialised, started, alreadyRunning, spawned} = await withDirLock(dir, async () => {
    let initialised = false
    let config: ClusterConfig
    if (!clusterExists(dir)) {
      config = writeNewCluster(dir, opts.init)
      initialised = true
    } else {
      config = loadCluster(dir)
      if (opts.nodesGiven && opts.init.nodes !== config.nodes.length) {
        throw usageError(
          `the cluster in ${dir} has ${config.nodes.length} nodes, not ${opts.init.nodes}`,
          `to recreate it: raftctl stop && raftctl init --force --nodes ${opts.init.nodes}`,
        )
      }
    }
    const ids = opts.ids ?? config.nodes.map((n) => n.id)
    for (const id of ids) {
      if (id < 1 || id > config.nodes.length) throw usageError(`unknown node id ${id}: this cluster has nodes 1..${config.nodes.length}`)
    }
    const started: NodeId[] = []
    const alreadyRunning: NodeId[] = []
    const spawned = new Map<NodeId, number>()
    for (const id of ids) {
      if (runningPid(dir, id) !== null) {
        alreadyRunning.push(id)
        continue
      }
      removePidFile(dir, id)
      spawned.set(id, spawnReplica(dir, id, {unsafeStaleReads: opts.unsafeStaleReads}))
      started.push(id)
    }
    return {config, initialised, started, alreadyRunning, spawned}
  })
  await waitForStart(dir, config, spawned)
  if (spawned.size === config.nodes.length) await campaignNow(dir, config, Math.min(...spawned.keys()))
  return {config, started, alreadyRunning, initialised}
}

/**
 * When the whole cluster was just started, nobody leads yet and every node would wait out a
 * randomised election timeout (300–600 ms by default) first. Asking one node to campaign at once
 * saves that wait. Best effort: it goes through PreVote (so it cannot disturb a leader that
 * appeared meanwhile), and if the node's log is behind the others' it simply loses and the
 * ordinary timeouts elect someone else.
 */
async function campaignNow(dir: string, config: ClusterConfig, id: NodeId): Promise<void> {
  try {
    await adminRequest(config, readSecret(dir), id, {type: 'campaign'}, 1000)
  } catch {
    // The election timeout will do.
  }
}

/** Waits until every spawned replica answers an admin ping, or reports the one that died. */
async function waitForStart(dir: string, config: ClusterConfig, spawned: Map<NodeId, number>, timeoutMs = 10_000): Promise<void> {
  if (spawned.size === 0) return
  const secret = readSecret(dir)
  const pending = new Map(spawned)
  const deadline = Date.now() + timeoutMs
  while (pending.size > 0) {
    await Promise.all(
      [...pending].map(async ([id, pid]) => {
        if (!isAlive(pid)) {
          throw new CliError(
            `node ${id} failed to start: ${lastError(paths.log(dir, id)) ?? 'it exited'}`,
            ExitCode.operational,
            'start-failed',
            `see its log: ${paths.log(dir, id)}`,
          )
        }
        try {
          await adminRequest(config, secret, id, {type: 'status'}, 300)
          pending.delete(id)
        } catch {
          // Not listening yet.
        }
      }),
    )
    if (pending.size === 0) return
    if (Date.now() > deadline) {
      const ids = [...pending.keys()]
      throw new CliError(`node(s) ${ids.join(', ')} did not answer within ${timeoutMs / 1000}s`, ExitCode.operational, 'start-failed', `see ${paths.log(dir, ids[0]!)}`)
    }
    await sleep(25)
  }
}

/** The most recent "cannot start" or error line of a node log. */
function lastError(logPath: string): string | null {
  try {
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-50).reverse()
    const line = lines.find((l) => /cannot start|Error|error|bad option/.test(l))
    if (!line) return null
    return line.replace(/^\S+ \[node \d+\] /, '').replace(/^cannot start: /, '').replace(/^Error: /, '')
  } catch {
    return null
  }
}

/** Polls until a leader is agreed and every running node answers, or the timeout passes. */
export async function waitForLeader(dir: string, config: ClusterConfig, timeoutMs: number): Promise<ClusterStatus> {
  const secret = readSecret(dir)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await clusterStatus(dir, config, secret, 500)
    const runningButSilent = status.nodes.some((n) => !n.up && n.pid !== null)
    if (status.leader !== null && !runningButSilent) return status
    if (Date.now() > deadline) {
      throw new CliError(`no leader elected within ${timeoutMs}ms`, ExitCode.unavailable, 'unavailable', 'check raftctl status and raftctl logs ID')
    }
    await sleep(25)
  }
}

export interface StopResult {
  stopped: NodeId[]
  notRunning: NodeId[]
}

export async function stopNodes(dir: string, ids: NodeId[] | undefined, kill: boolean): Promise<StopResult> {
  const config = loadCluster(dir)
  const targets = ids ?? config.nodes.map((n) => n.id)
  const pids: number[] = []
  const stopped: NodeId[] = []
  const notRunning: NodeId[] = []
  for (const id of targets) {
    const pid = runningPid(dir, id)
    if (pid === null) {
      notRunning.push(id)
      continue
    }
    pids.push(pid)
    stopped.push(id)
  }
  await stopPids(pids, {kill})
  // A killed replica cannot remove its own pid file.
  for (const id of stopped) if (runningPid(dir, id) === null) removePidFile(dir, id)
  return {stopped, notRunning}
}

export interface PauseResult {
  paused: NodeId[]
  alreadyPaused: NodeId[]
}

/**
 * Freezes the given nodes with SIGSTOP (their sockets stay open, peers and clients just see no
 * answer). Every node must be running, else nothing is paused. Returns once they are stopped.
 */
export async function pauseNodes(dir: string, ids: NodeId[]): Promise<PauseResult> {
  const pids = runningPids(dir, ids)
  const paused: NodeId[] = []
  const alreadyPaused: NodeId[] = []
  for (const [id, pid] of pids) {
    if (isPaused(pid) === true) {
      alreadyPaused.push(id)
      continue
    }
    pausePid(pid)
    paused.push(id)
  }
  await waitForPauseState(paused.map((id) => pids.get(id)!), true)
  return {paused, alreadyPaused}
}

export interface ResumeResult {
  resumed: NodeId[]
  notPaused: NodeId[]
}

/**
 * Resumes paused nodes with SIGCONT: the given ones (each must be running), or every running
 * node of the cluster that is paused. Returns once they run again.
 */
export async function resumeNodes(dir: string, ids?: NodeId[]): Promise<ResumeResult> {
  let pids: Map<NodeId, number>
  if (ids !== undefined) {
    pids = runningPids(dir, ids)
  } else {
    pids = new Map()
    for (const n of loadCluster(dir).nodes) {
      const pid = runningPid(dir, n.id)
      if (pid !== null) pids.set(n.id, pid)
    }
  }
  const resumed: NodeId[] = []
  const notPaused: NodeId[] = []
  for (const [id, pid] of pids) {
    // Where the state is unknown (no /proc), SIGCONT anyway: it is harmless for a running process.
    const state = isPaused(pid)
    if (state !== false) resumePid(pid)
    if (state === false) notPaused.push(id)
    else resumed.push(id)
  }
  await waitForPauseState(resumed.map((id) => pids.get(id)!), false)
  return {resumed, notPaused}
}

/** The pids of the given nodes; an error naming the nodes that are not running. */
function runningPids(dir: string, ids: NodeId[]): Map<NodeId, number> {
  const config = loadCluster(dir)
  for (const id of ids) {
    if (id < 1 || id > config.nodes.length) throw usageError(`unknown node id ${id}: this cluster has nodes 1..${config.nodes.length}`)
  }
  const pids = new Map<NodeId, number>()
  const down: NodeId[] = []
  for (const id of ids) {
    const pid = runningPid(dir, id)
    if (pid === null) down.push(id)
    else pids.set(id, pid)
  }
  if (down.length > 0) {
    const which = down.length === 1 ? `node ${down[0]} is` : `nodes ${down.join(', ')} are`
    throw operationalError(`${which} not running`, `start it first: raftctl start ${down.join(' ')}`, 'not-running')
  }
  return pids
}

/** Polls (bounded) until every pid is paused (or resumed); gives up quietly after 2 s. */
async function waitForPauseState(pids: number[], paused: boolean): Promise<void> {
  const deadline = Date.now() + 2000
  let pending = pids.filter((pid) => isAlive(pid) && isPaused(pid) === !paused)
  while (pending.length > 0 && Date.now() < deadline) {
    await sleep(5)
    pending = pending.filter((pid) => isAlive(pid) && isPaused(pid) === !paused)
  }
}

/** Whether a running replica of the cluster serves reads without ReadIndex (test-only mode). */
export function runningUnsafeStaleReads(dir: string): boolean {
  return loadCluster(dir).nodes.some((n) => {
    const pid = runningPid(dir, n.id)
    return pid !== null && (processArgs(pid) ?? []).includes('--unsafe-stale-reads')
  })
}

export interface PartitionResult {
  rules: PartitionRules | null
  applied: NodeId[]
  unreachable: NodeId[]
}

/** Stores the partition (under lock) and pushes it to every running node. */
export async function applyPartition(dir: string, config: ClusterConfig, rules: PartitionRules | null): Promise<PartitionResult> {
  await withDirLock(dir, () => writePartition(dir, rules))
  const secret = readSecret(dir)
  const applied: NodeId[] = []
  const unreachable: NodeId[] = []
  await Promise.all(
    config.nodes.map(async (n) => {
      if (runningPid(dir, n.id) === null) return
      try {
        await adminRequest(config, secret, n.id, {type: 'partition', rules}, 1000)
        applied.push(n.id)
      } catch {
        unreachable.push(n.id)
      }
    }),
  )
  applied.sort((a, b) => a - b)
  unreachable.sort((a, b) => a - b)
  return {rules, applied, unreachable}
}

export function currentPartition(dir: string): PartitionRules | null {
  return readPartition(dir)
}

/** Builds partition groups from `1,2 3,4,5`; nodes not named form one more group. */
export function parseGroups(args: string[], config: ClusterConfig): NodeId[][] {
  const seen = new Map<NodeId, number>()
  const groups = args.map((arg, gi) => {
    if (!/^\d+(,\d+)*$/.test(arg)) throw usageError(`malformed group ${JSON.stringify(arg)}: use comma-separated node ids, e.g. 1,2`)
    return arg.split(',').map((t) => {
      const id = Number(t)
      if (id < 1 || id > config.nodes.length) throw usageError(`unknown node id ${id}: this cluster has nodes 1..${config.nodes.length}`)
      const other = seen.get(id)
      if (other !== undefined) throw usageError(`node ${id} is named in two groups (${args[other]} and ${arg})`)
      seen.set(id, gi)
      return id
    })
  })
  return groups
}

/** The leader per the up nodes, or null; used by `partition --isolate leader`. */
export async function findLeader(config: ClusterConfig, secret: string): Promise<NodeId | null> {
  return agreedLeader(await nodeStatuses(config, secret, 1000))
}

export {DEFAULTS}
