// One `raftctl bench` run against a cluster directory: checks the cluster is up and has a leader,
// makes C ClusterClients (each its own client session: a session allows one write in flight, so
// closed-loop clients cannot share one) over N connections per node (default one per client; with
// fewer, clients share them round-robin, as etcd's benchmark multiplexes its clients over
// `--conns` gRPC connections), warms each up with one uncounted operation
// (connects, finds the leader), runs the closed loop for the duration, and meanwhile polls every
// node's status to count leader changes. Returns the summary document and the first errors.
import {ClusterClient, ConnectionPool} from '../client/cluster-client.js'
import {loadCluster, raftctl, readSecret, type ClusterConfig} from '../clusterdir/config.js'
import {waitForLeader} from '../cluster/service.js'
import {adminRequest, agreedLeader, nodeStatuses, type ClusterStatus} from '../cluster/status.js'
import {pollStatuses} from '../cluster/status-poller.js'
import {operationalError} from '../lib/errors.js'
import {benchKey, benchValue, closedLoop, pickOp, type BenchOp, type ClosedLoopResult} from './loop.js'
import {ProgressReporter, type ProgressStream} from './progress.js'
import {LeaderChangeCounter, mechanicsBetween, percentile, summarize, type BenchMechanics, type BenchResult} from './stats.js'
import {asNodeStatus, type NodeStatus} from '../protocol/protocol.js'
import {binWidthFor, OpTimeline, type TimelineData} from './timeline.js'

export interface BenchOptions {
  dir: string
  clients: number
  /** Connections per node the clients share round-robin (1..clients); default: one per client. */
  conns?: number
  durationMs: number
  valueSize: number
  keys: number
  op: BenchOp
  /** Per operation; a timed-out operation counts as an error. */
  timeoutMs: number
  /** Where progress goes (stderr), and the environment that decides bar or lines. */
  progress?: {stream: ProgressStream; env: NodeJS.ProcessEnv}
  /** Called once the measured loop runs, with a function that ends it early (e.g. on Ctrl-C). */
  onStart?: (stop: () => void) => void
}

/** A leader observed from `time` on (ms since the measured loop started). */
export interface LeaderObservation {
  time: number
  leader: number
  term: number | null
}

export interface BenchRun {
  result: BenchResult
  config: ClusterConfig
  errorSamples: string[]
  /** When the measured loop started (ISO time). */
  started: string
  /** The run over time (bounded bins) and its whole-run histogram, for the report. */
  timeline: TimelineData
  /** Exact percentiles beyond the summary's (ms). */
  exact: {min: number; mean: number; p999: number}
  /** The initial leader, then each change (at most MAX_LEADER_OBSERVATIONS). */
  leaders: LeaderObservation[]
  /** The leader's group commit and load over the run; null if the leader changed (or is too old to say). */
  mechanics: BenchMechanics | null
}

const MAX_LEADER_OBSERVATIONS = 1000

export async function runBench(o: BenchOptions): Promise<BenchRun> {
  const {config, secret, initial} = await clusterWithLeader(o)
  const {pool, shared} = makeClients(o, config, secret, initial.leader)
  const one = benchOperation(o, pool)
  const leaders = new LeaderWatch(initial)
  try {
    await Promise.all(pool.map((_, c) => one(c).catch(() => {})))
    const ioBefore = await leaderStatusBefore(config, secret)
    const {r, timeline, started, mechanics} = await measure(o, config, secret, one, leaders, ioBefore)
    const sorted = r.latencies.sorted()
    const mean = sorted.length > 0 ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0
    return {
      result: summarize(r.latencies, r.elapsedMs, r.errors, leaders.watch.changes),
      config,
      errorSamples: r.errorSamples,
      started,
      timeline: timeline.data(),
      exact: {min: round3(sorted[0] ?? 0), mean: round3(mean), p999: round3(percentile(sorted, 99.9))},
      leaders: leaders.observations,
      mechanics,
    }
  } finally {
    await Promise.all(pool.map((c) => c.close()))
    if (shared) await Promise.all(shared.map((c) => c.close()))
  }
}

/** The cluster in the directory, once some node runs and a leader is agreed on. */
async function clusterWithLeader(o: BenchOptions): Promise<{config: ClusterConfig; secret: string; initial: ClusterStatus}> {
  const config = loadCluster(o.dir)
  const secret = readSecret(o.dir)
  const statuses = await nodeStatuses(config, secret, 1000)
  if (statuses.every((s) => s === null)) {
    throw operationalError(`no node of the cluster in ${o.dir} is running`, `start it: ${raftctl(o.dir, 'start')}`, 'not-running')
  }
  const initial = await waitForLeader(o.dir, config, o.timeoutMs)
  return {config, secret, initial}
}

/** The clients, each its own session; over `conns` shared pools when fewer than the clients (else null). */
function makeClients(o: BenchOptions, config: ClusterConfig, secret: string, leader: number | null): {pool: ClusterClient[]; shared: ConnectionPool[] | null} {
  const nodes = config.nodes.map((n) => ({id: n.id, host: n.host, port: n.port}))
  const cluster = {nodes, clusterId: config.clusterId, secret}
  const conns = Math.min(o.conns ?? o.clients, o.clients)
  const shared = conns < o.clients ? Array.from({length: conns}, () => new ConnectionPool(cluster)) : null
  const pool = Array.from({length: o.clients}, (_, c) => new ClusterClient({...cluster, startAt: leader ?? undefined, connections: shared?.[c % conns]}))
  return {pool, shared}
}

/** One operation of client `c`: a get or a put of its value to a random key; a refused write fails. */
function benchOperation(o: BenchOptions, pool: readonly ClusterClient[]): (c: number) => Promise<void> {
  const values = pool.map(() => benchValue(o.valueSize))
  return async (c: number) => {
    const client = pool[c]!
    const key = benchKey(o.keys)
    if (pickOp(o.op) === 'get') {
      await client.get(key, {timeoutMs: o.timeoutMs})
      return
    }
    const out = await client.put(key, values[c]!, o.timeoutMs)
    if (out.result.status !== 'ok') throw new Error(`write refused: ${out.result.status}`)
  }
}

/** Leader changes over the run: counted, and the initial leader and each change recorded. */
class LeaderWatch {
  readonly watch = new LeaderChangeCounter()
  readonly observations: LeaderObservation[] = []

  constructor(initial: {leader: number | null; term: number | null}) {
    this.watch.observe(initial.leader, initial.term)
    if (initial.leader !== null) this.observations.push({time: 0, leader: initial.leader, term: initial.term})
  }

  /** One poll round; `elapsedMs` is the time since the measured loop started. */
  onRound(statuses: (NodeStatus | null)[], elapsedMs: () => number): void {
    const watch = this.watch
    const leader = agreedLeader(statuses)
    const term = leader !== null ? (statuses.find((s) => s?.id === leader)?.term ?? null) : null
    const before = watch.changes
    const first = watch.current === null
    watch.observe(leader, term)
    if (leader !== null && (watch.changes > before || first) && this.observations.length < MAX_LEADER_OBSERVATIONS) {
      this.observations.push({time: Math.round(elapsedMs() * 1000) / 1000, leader, term})
    }
  }
}

/** The measured loop, with progress, while the status poller watches the leader; then the leader's mechanics. */
async function measure(
  o: BenchOptions,
  config: ClusterConfig,
  secret: string,
  one: (c: number) => Promise<void>,
  leaders: LeaderWatch,
  ioBefore: NodeStatus | null,
): Promise<{r: ClosedLoopResult; timeline: OpTimeline; started: string; mechanics: BenchMechanics | null}> {
  const progress = o.progress ? new ProgressReporter(o.progress.stream, o.progress.env) : null
  const timeline = new OpTimeline(binWidthFor(o.durationMs))
  const started = new Date().toISOString()
  const t0 = performance.now()
  const loop = closedLoop({
    clients: o.clients,
    durationMs: o.durationMs,
    op: one,
    onProgress: progress ? (s) => progress.update(s) : undefined,
    progressEveryMs: progress?.intervalMs,
    timeline,
  })
  o.onStart?.(loop.stop)
  let polling = true
  const poller = pollStatuses(config, secret, {
    active: () => polling,
    onRound: (statuses) => leaders.onRound(statuses, () => performance.now() - t0),
  })
  const r = await loop.result
  const mechanics = await leaderMechanics(config, secret, ioBefore)
  polling = false
  await poller
  progress?.done()
  return {r, timeline, started, mechanics}
}

/** The agreed leader's status, read just before the measured loop (its counters are the baseline). */
async function leaderStatusBefore(config: ClusterConfig, secret: string): Promise<NodeStatus | null> {
  const statuses = await nodeStatuses(config, secret, 1000)
  const leader = agreedLeader(statuses)
  return leader === null ? null : (statuses.find((s) => s?.id === leader) ?? null)
}

/** The same leader's counters after the loop, as mechanics; null unless it led throughout. */
async function leaderMechanics(config: ClusterConfig, secret: string, before: NodeStatus | null): Promise<BenchMechanics | null> {
  if (!before?.io) return null
  const after = await adminRequest(config, secret, before.id, {type: 'status'}, 1000)
    .then(asNodeStatus)
    .catch(() => null)
  if (!after?.io || after.role !== 'leader' || after.pid !== before.pid || after.term !== before.term) return null
  return mechanicsBetween(before.id, before.io, after.io)
}

const round3 = (x: number) => Math.round(x * 1000) / 1000
