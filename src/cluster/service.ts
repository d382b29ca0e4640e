// Cluster services behind the CLI commands: init, start (idempotent, waits for a leader), stop,
// partition (stored under lock, pushed to running nodes). Each returns data; commands render it.
import {readFileSync, rmSync} from 'node:fs'
import {formatDuration} from '../lib/duration.js'
import {CliError, ExitCode, operationalError, usageError} from '../lib/errors.js'
import type {NodeId} from '../core/types.js'
import type {PartitionRules} from '../transport/link-filter.js'
import {isTestMode, type TestMode} from '../protocol/test-modes.js'
import {
  clusterExists,
  DEFAULTS,
  loadCluster,
  noCluster,
  nodeDir,
  parseNodeId,
  paths,
  raftctl,
  readPartition,
  readSecret,
  writeNewCluster,
  writePartition,
  type ClusterConfig,
  type InitOptions,
  validateInit,
} from '../clusterdir/config.js'
import {withDirLock} from './lock.js'
import {liveLockOwner} from '../clusterdir/data-lock.js'
import {completePartition} from './partition.js'
import {isAlive, isPaused, nodeIdsOnDisk, processArgs, readPid, removePidFile, runningPid, writePidFile} from '../clusterdir/pids.js'
import {pausePid, resumePid, sleep, spawnReplica, stopPids, type Spawned} from './processes.js'
import {adminRequest, agreedLeader, clusterStatus, nodeStatuses, type ClusterStatus} from './status.js'

export async function initCluster(dir: string, o: InitOptions, force: boolean): Promise<ClusterConfig> {
  validateInit(o)
  return withDirLock(dir, async () => {
    if (clusterExists(dir)) {
      if (!force) {
        throw operationalError(`a cluster already exists in ${dir}`, 'use --force to replace it (its data is deleted)', 'exists')
      }
      // Whatever cluster.json says (it may be damaged), the node folders and pid files tell what runs.
      const ids = nodeIdsOnDisk(dir)
      const running = ids.filter((id) => runningPid(dir, id) !== null || liveLockOwner(dir, id) !== null)
      if (running.length > 0) {
        throw operationalError(`nodes ${running.join(', ')} of the cluster in ${dir} are running`, `run ${raftctl(dir, 'stop')} first`, 'running')
      }
      for (const id of ids) rmSync(nodeDir(dir, id), {recursive: true, force: true})
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
  /** The processes this call started, by node: watch them until the cluster is ready. */
  spawned: Map<NodeId, Spawned>
}

export interface StartOptions {
  ids?: NodeId[]
  /** Used only when the directory has no cluster yet; without it, a missing cluster is an error. */
  init?: InitOptions
  /** --nodes was given explicitly: it must match an existing cluster. */
  nodesGiven?: boolean
  /** --base-port was given explicitly: it must match an existing cluster. */
  basePortGiven?: boolean
  /** Test only: start the replicas deliberately broken (protocol/test-modes.ts). */
  mutant?: TestMode
}

/**
 * Starts the given nodes (or all) that do not run yet, initialising the directory first if it has
 * no cluster, and waits until every started node has opened its storage and answers. A node that
 * dies meanwhile is reported (its `cannot start` reason, its log), and a cluster this call created
 * is then removed again: a failed start leaves nothing behind but the node logs.
 */
export async function startNodes(dir: string, opts: StartOptions): Promise<StartResult> {
  const result = await withDirLock(dir, async () => {
    let initialised = false
    let config: ClusterConfig
    if (!clusterExists(dir)) {
      if (!opts.init) throw noCluster(dir)
      config = writeNewCluster(dir, opts.init)
      initialised = true
    } else {
      config = loadCluster(dir)
      if (opts.init && opts.nodesGiven && opts.init.nodes !== config.nodes.length) {
        throw usageError(
          `the cluster in ${dir} has ${config.nodes.length} nodes, not ${opts.init.nodes}`,
          `to recreate it: ${raftctl(dir, 'stop')} && ${raftctl(dir, `init --force --nodes ${opts.init.nodes}`)}`,
        )
      }
      const basePort = config.nodes[0]!.port - config.nodes[0]!.id
      if (opts.init && opts.basePortGiven && opts.init.basePort !== basePort) {
        throw usageError(
          `the cluster in ${dir} has base port ${basePort}, not ${opts.init.basePort}`,
          `to recreate it: ${raftctl(dir, 'stop')} && ${raftctl(dir, `init --force --nodes ${config.nodes.length} --base-port ${opts.init.basePort}`)}`,
        )
      }
    }
    const ids = opts.ids ?? config.nodes.map((n) => n.id)
    for (const id of ids) parseNodeId(String(id), config)
    const started: NodeId[] = []
    const alreadyRunning: NodeId[] = []
    const spawned = new Map<NodeId, Spawned>()
    for (const id of ids) {
      // The pid file, or else the data-dir lock (a replica whose pid file was lost) names a live replica.
      const pid = runningPid(dir, id) ?? liveLockOwner(dir, id)
      if (pid !== null) {
        if (readPid(dir, id) !== pid) writePidFile(dir, id, pid)
        alreadyRunning.push(id)
        continue
      }
      removePidFile(dir, id)
      spawned.set(id, spawnReplica(dir, id, {mutant: opts.mutant}))
      started.push(id)
    }
    return {config, initialised, started, alreadyRunning, spawned}
  })
  const {config, spawned} = result
  try {
    const lost = await waitForStart(dir, config, spawned)
    // A replica that found its node already running (another start won the race) is not a failure.
    for (const id of lost) {
      result.started.splice(result.started.indexOf(id), 1)
      result.alreadyRunning.push(id)
      result.alreadyRunning.sort((a, b) => a - b)
      spawned.delete(id)
    }
  } catch (err) {
    if (result.initialised) await removeNewCluster(dir, config, spawned)
    throw err
  }
  if (spawned.size === config.nodes.length) await campaignNow(dir, config, Math.min(...spawned.keys()))
  return result
}

/** Undoes the initialisation of a start that failed: its processes, cluster.json, secret and data (not the logs). */
async function removeNewCluster(dir: string, config: ClusterConfig, spawned: Map<NodeId, Spawned>): Promise<void> {
  await stopPids([...spawned.values()].map((s) => s.pid).filter(isAlive), {kill: true})
  await withDirLock(dir, () => {
    for (const n of config.nodes) {
      for (const p of [paths.data(dir, n.id), `${paths.data(dir, n.id)}.lock`, paths.pid(dir, n.id)]) rmSync(p, {recursive: true, force: true})
    }
    for (const p of [paths.cluster(dir), paths.secret(dir), paths.partition(dir)]) rmSync(p, {force: true})
  })
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

/**
 * Waits until every spawned replica answers an admin ping (it answers only once its storage is
 * open and it listens). Returns the nodes whose replica exited because another process already
 * runs the node; throws naming every node that died, with its `cannot start` reason and log.
 */
async function waitForStart(dir: string, config: ClusterConfig, spawned: Map<NodeId, Spawned>, timeoutMs = 10_000): Promise<NodeId[]> {
  if (spawned.size === 0) return []
  const secret = readSecret(dir)
  const pending = new Map(spawned)
  const died = new Map<NodeId, Spawned>()
  const lost: NodeId[] = []
  const deadline = Date.now() + timeoutMs
  while (pending.size > 0) {
    await Promise.all(
      [...pending].map(async ([id, s]) => {
        if (!isAlive(s.pid)) {
          pending.delete(id)
          const other = runningPid(dir, id)
          if (other !== null && other !== s.pid) lost.push(id)
          else died.set(id, s)
          return
        }
        try {
          await adminRequest(config, secret, id, {type: 'status'}, 300)
          pending.delete(id)
        } catch {
          // Not listening yet.
        }
      }),
    )
    if (pending.size === 0) break
    if (Date.now() > deadline) {
      const ids = [...pending.keys()]
      throw new CliError(
        `node(s) ${ids.join(', ')} did not answer within ${formatDuration(timeoutMs)}`,
        ExitCode.operational,
        'start-failed',
        `see ${paths.log(dir, ids[0]!)}`,
      )
    }
    await sleep(25)
  }
  if (died.size > 0) throw startFailed(dir, died)
  return lost.sort((a, b) => a - b)
}

/** The start-failed error for nodes that died: each with the reason its log gives, and the logs. */
function startFailed(dir: string, died: Map<NodeId, Spawned>): CliError {
  const reasons = [...died].sort(([a], [b]) => a - b).map(([id, s]) => ({id, reason: startFailure(paths.log(dir, id), s.logOffset)}))
  const ids = reasons.map((r) => r.id)
  const same = reasons.every((r) => r.reason === reasons[0]!.reason)
  const message =
    reasons.length === 1
      ? `node ${ids[0]} failed to start: ${reasons[0]!.reason}`
      : same
        ? `nodes ${ids.join(', ')} failed to start: ${reasons[0]!.reason}`
        : `nodes ${ids.join(', ')} failed to start: ${reasons.map((r) => `node ${r.id}: ${r.reason}`).join('; ')}`
  const logs = ids.map((id) => paths.log(dir, id))
  return new CliError(message, ExitCode.operational, 'start-failed', logs.length === 1 ? `see its log: ${logs[0]}` : `see their logs: ${logs.join(', ')}`)
}

/**
 * Why a replica stopped, from what it wrote to its log since `offset`: its `cannot start:` (or
 * `cannot continue:`) line, else the last line Node itself printed (a bad option, say).
 */
export function startFailure(logPath: string, offset = 0): string {
  let lines: string[]
  try {
    lines = readFileSync(logPath).subarray(offset).toString('utf8').trimEnd().split('\n')
  } catch {
    return 'it exited'
  }
  const own = lines.findLast((l) => /\] cannot (start|continue): /.test(l))
  if (own) return own.replace(/^.*?\] cannot (start|continue): /, '')
  const other = lines.findLast((l) => l.trim() !== '' && !/^\s+at /.test(l) && !/^\S+ \[node \d+\] /.test(l))
  return other ? other.replace(/^Error: /, '').trim() : 'it exited'
}

/** The started nodes whose process has died since: the same error start gives. */
export function checkStarted(dir: string, spawned: Map<NodeId, Spawned>): void {
  const died = new Map([...spawned].filter(([, s]) => !isAlive(s.pid)))
  if (died.size > 0) throw startFailed(dir, died)
}

/**
 * Polls until a leader is agreed and every running node answers, or the timeout passes. With
 * `started`, a started node that dies meanwhile ends the wait with its reason.
 */
export async function waitForLeader(dir: string, config: ClusterConfig, timeoutMs: number, started?: Map<NodeId, Spawned>): Promise<ClusterStatus> {
  const secret = readSecret(dir)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await clusterStatus(dir, config, secret, 500)
    if (started) checkStarted(dir, started)
    // A paused node (SIGSTOP) answers nothing until resumed: waiting for it would wait out the timeout.
    const runningButSilent = status.nodes.some((n) => !n.up && n.pid !== null && n.role !== 'paused')
    if (status.leader !== null && !runningButSilent) return status
    if (Date.now() > deadline) {
      throw new CliError(
        `no leader elected within ${formatDuration(timeoutMs)}`,
        ExitCode.unavailable,
        'unavailable',
        `check ${raftctl(dir, 'status')} and ${raftctl(dir, 'logs ID')}`,
      )
    }
    await sleep(25)
  }
}

export interface StopResult {
  stopped: NodeId[]
  notRunning: NodeId[]
}

/**
 * Stops the given nodes (or all). Works from the pid files, so it also stops the nodes of a
 * cluster whose cluster.json is damaged or gone (their ids are then the node folders on disk).
 */
export async function stopNodes(dir: string, ids: NodeId[] | undefined, kill: boolean): Promise<StopResult> {
  // All: the members, and a removed node if it still runs.
  const targets = ids ?? knownNodes(dir, true).ids.filter((id) => knownNodes(dir).ids.includes(id) || runningPid(dir, id) !== null)
  const pids: number[] = []
  const stopped: NodeId[] = []
  const notRunning: NodeId[] = []
  for (const id of targets) {
    const pid = runningPid(dir, id) ?? liveLockOwner(dir, id)
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

/**
 * The nodes of the cluster: per cluster.json, else (damaged or missing) the node folders on disk,
 * with what is wrong with cluster.json.
 */
export function knownNodes(dir: string, withRemoved = false): {ids: NodeId[]; problem?: string} {
  try {
    const config = loadCluster(dir)
    const removed = withRemoved ? (config.removed ?? []).map((n) => n.id) : []
    return {ids: [...config.nodes.map((n) => n.id), ...removed].sort((a, b) => a - b)}
  } catch (err) {
    const onDisk = nodeIdsOnDisk(dir)
    if (onDisk.length === 0) throw err
    return {ids: onDisk, problem: (err as Error).message}
  }
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
  await waitForPauseState(
    paused.map((id) => pids.get(id)!),
    true,
  )
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
  await waitForPauseState(
    resumed.map((id) => pids.get(id)!),
    false,
  )
  return {resumed, notPaused}
}

/** The pids of the given nodes; an error naming the nodes that are not running. */
function runningPids(dir: string, ids: NodeId[]): Map<NodeId, number> {
  const config = loadCluster(dir)
  for (const id of ids) parseNodeId(String(id), config)
  const pids = new Map<NodeId, number>()
  const down: NodeId[] = []
  for (const id of ids) {
    const pid = runningPid(dir, id)
    if (pid === null) down.push(id)
    else pids.set(id, pid)
  }
  if (down.length > 0) {
    const which = down.length === 1 ? `node ${down[0]} is` : `nodes ${down.join(', ')} are`
    throw operationalError(`${which} not running`, `start it first: ${raftctl(dir, `start ${down.join(' ')}`)}`, 'not-running')
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

/**
 * The test-only mode each running replica of the cluster was started in (`--mutant NAME`, or the
 * older `--unsafe-stale-reads`; null for a normal one), by node id.
 */
export function runningModes(dir: string): Map<NodeId, TestMode | null> {
  const modes = new Map<NodeId, TestMode | null>()
  for (const n of loadCluster(dir).nodes) {
    const pid = runningPid(dir, n.id)
    const args = pid === null ? null : processArgs(pid)
    if (!args) continue
    const at = args.indexOf('--mutant')
    const name = at >= 0 ? args[at + 1] : undefined
    modes.set(n.id, name !== undefined && isTestMode(name) ? name : args.includes('--unsafe-stale-reads') ? 'read-without-readindex' : null)
  }
  return modes
}

/** The test-only mode a running replica of the cluster runs in, or null when none does. */
export function runningMutant(dir: string): TestMode | null {
  for (const mode of runningModes(dir).values()) if (mode !== null) return mode
  return null
}

export interface PartitionResult {
  rules: PartitionRules | null
  applied: NodeId[]
  unreachable: NodeId[]
}

/**
 * Stores the partition (under lock, every side named; null when it cuts nothing) and pushes it to
 * every running node. Anything that keeps it from being pushed (no secret, say) fails before
 * anything is stored; nodes that are down or do not answer apply it when they start.
 */
export async function applyPartition(dir: string, config: ClusterConfig, rules: PartitionRules | null): Promise<PartitionResult> {
  readSecret(dir)
  const complete = completePartition(
    rules,
    config.nodes.map((n) => n.id),
  )
  await withDirLock(dir, () => writePartition(dir, complete))
  return pushPartition(dir, config, complete)
}

/** Pushes stored rules (every side named) to every running node; names those that did not answer. */
export async function pushPartition(dir: string, config: ClusterConfig, complete: PartitionRules | null): Promise<PartitionResult> {
  const secret = readSecret(dir)
  const applied: NodeId[] = []
  const unreachable: NodeId[] = []
  await Promise.all(
    config.nodes.map(async (n) => {
      if (runningPid(dir, n.id) === null) return
      try {
        await adminRequest(config, secret, n.id, {type: 'partition', rules: complete}, 1000)
        applied.push(n.id)
      } catch {
        unreachable.push(n.id)
      }
    }),
  )
  applied.sort((a, b) => a - b)
  unreachable.sort((a, b) => a - b)
  return {rules: complete, applied, unreachable}
}

/** The stored partition with every side named, or null. */
export function currentPartition(dir: string, config: ClusterConfig): PartitionRules | null {
  return completePartition(
    readPartition(dir),
    config.nodes.map((n) => n.id),
  )
}

/** Builds partition groups from `1,2 3,4,5`; nodes not named form one more group. */
export function parseGroups(args: string[], config: ClusterConfig): NodeId[][] {
  const seen = new Map<NodeId, number>()
  const groups = args.map((arg, gi) => {
    if (!/^\d+(,\d+)*$/.test(arg)) throw usageError(`malformed group ${JSON.stringify(arg)}: use comma-separated node ids, e.g. 1,2`)
    return arg.split(',').map((t) => {
      const id = parseNodeId(t, config)
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
