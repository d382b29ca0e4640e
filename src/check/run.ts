// `raftctl check`: a Jepsen-style test of the real cluster. Makes sure the cluster in the directory
// runs (starting or creating it), runs concurrent clients against it while a seeded nemesis
// partitions, kills and pauses nodes, heals everything, lets the clients run on for a quiet
// period, records the history as NDJSON in the cluster directory, and checks it for
// linearizability per key. Invariant: whatever happens, the run ends with the network healed, no
// node paused and every killed node restarted.
import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {ClusterClient} from '../client/cluster-client.js'
import {clusterExists, DEFAULTS, loadCluster, raftctl, readSecret, type ClusterConfig} from '../clusterdir/config.js'
import {applyPartition, currentPartition, resumeNodes, runningUnsafeStaleReads, startNodes, stopNodes, waitForLeader} from '../cluster/service.js'
import {agreedLeader} from '../cluster/status.js'
import {pollStatuses} from '../cluster/status-poller.js'
import type {NodeId} from '../core/types.js'
import {Prng} from '../lib/prng.js'
import {checkLinearizable, formatOp, type HistoryOp, type ViolationDetail} from '../sim/linearizability.js'
import type {NodeStatus} from '../protocol/protocol.js'
import {
  countOps,
  HISTORY_FILE,
  HISTORY_VERSION,
  HistoryWriter,
  OP_NAMES,
  OUTCOMES,
  roundMs,
  type StatusRecord,
  toCheckerHistory,
  type Counts,
  type NemesisRecord,
  type OpRecord,
} from './history.js'
import {Nemesis} from './nemesis.js'
import {FAULT_CHANCE, nextDelayMs, planFault, type FaultKind} from './plan.js'
import {counterText, stamp as stampText} from './progress.js'
import {isReader, KnownValues, OpGenerator, runClientLoop} from './workload.js'

/** Exit codes of `raftctl check` beyond the common ones (docs/check.md). */
export const CHECK_EXIT = {notLinearizable: 6, undecided: 7} as const

export type Verdict = 'linearizable' | 'not-linearizable' | 'undecided'

export interface CheckOptions {
  dir: string
  /** --nodes: for a new cluster; must match an existing one when given. */
  nodes?: number
  basePort?: number
  durationMs: number
  clients: number
  keys: number
  seed: number
  faults: FaultKind[]
  quietMs: number
  /** Per-operation client timeout; default: half the cluster's election timeout (see defaultOpTimeoutMs). */
  opTimeoutMs?: number
  /** Test only: (re)start the replicas so they serve reads without ReadIndex. */
  unsafeStaleReads: boolean
  leaderTimeoutMs?: number
  /** Bound on the checker's search per key (states); beyond it the verdict is undecided. */
  maxStates?: number
}

export interface CheckHooks {
  /** A progress line (stderr). */
  line(text: string): void
  /** Starts/stops the periodic counter. */
  counter(clock: () => number, text: () => string): void
  stopCounter(): void
  /** Aborted (Ctrl-C): end the fault phase now, heal, and check what was recorded. */
  signal?: AbortSignal
}

export interface Violation {
  key: string
  reason: string
  /** The ops around the violation, one formatOp line each, by invoke time. */
  excerpt: string[]
  /** Nemesis actions during (and just before) the excerpt. */
  nemesis: string[]
  /** The excerpt's op ids, in the same order. */
  ops: number[]
  /** Where the checker got stuck: the op it cannot place, the partial linearization before it. */
  detail?: ViolationDetail
}

export interface CheckReport {
  verdict: Verdict
  exitCode: number
  dir: string
  history: string
  /** The run's own directory in the cluster directory (the history, the report). */
  runDir: string
  seed: number
  nodes: number
  clients: number
  keys: string[]
  durationMs: number
  elapsedMs: number
  opTimeoutMs: number
  faultsEnabled: FaultKind[]
  unsafeStaleReads: boolean
  interrupted: boolean
  ops: Counts & {total: number}
  faults: Record<FaultKind, number> & {total: number}
  nemesisEvents: number
  nemesisErrors: string[]
  checkedOps: number
  checkMs: number
  violation: Violation | null
  warnings: string[]
  /** For the human rendering: ops and nemesis lines around the violation, merged by time. */
  excerptLines: string[]
}

const LEADER_TIMEOUT_MS = 15_000
const STATUS_POLL_MS = 200

/**
 * A third of the cluster's election timeout (100 ms by default), at least 50 ms. A deposed leader
 * keeps answering until CheckQuorum steps it down, within one to two election timeouts; a client
 * stuck on it must give up well within that to meet the new leader while the old one still
 * answers — the window where stale reads live. With longer timeouts the check cannot see it.
 */
export function defaultOpTimeoutMs(config: ClusterConfig): number {
  return Math.max(50, Math.round(config.electionTimeoutMs / 3))
}

export async function runCheck(o: CheckOptions, hooks: CheckHooks): Promise<CheckReport> {
  const warnings: string[] = []
  const {config, unsafe, leader} = await prepareCluster(o, hooks)
  const secret = readSecret(o.dir)
  const opTimeoutMs = o.opTimeoutMs ?? defaultOpTimeoutMs(config)
  const prng = new Prng(o.seed)
  const nemesisPrng = prng.fork()
  const tag = randomBytes(3).toString('hex')
  const keys = Array.from({length: o.keys}, (_, i) => `${tag}/k${i}`)
  const runDir = join(o.dir, `check-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  mkdirSync(runDir)
  const historyPath = join(runDir, HISTORY_FILE)
  const writer = new HistoryWriter(historyPath)
  const t0 = performance.now()
  const clock = () => performance.now() - t0

  writer.write({
    meta: {
      version: HISTORY_VERSION,
      started: new Date().toISOString(),
      seed: o.seed,
      nodes: config.nodes.length,
      clients: o.clients,
      keys,
      faults: o.faults,
      durationMs: o.durationMs,
      quietMs: o.quietMs,
      opTimeoutMs,
      unsafeStaleReads: unsafe,
      timeUnit: 'ms since start',
      epochMs: roundMs(performance.timeOrigin + t0),
    },
  })

  const ops: OpRecord[] = []
  const nemesisLog: NemesisRecord[] = []
  const known = new KnownValues()
  let opId = 0
  let quietStart = Infinity
  let okInQuiet = 0
  const recordOp = (r: OpRecord) => {
    ops.push(r)
    known.observe(r)
    if (r.status === 'ok' && r.complete >= quietStart) okInQuiet++
    writer.write(r)
  }
  const nemesis = new Nemesis({
    dir: o.dir,
    config,
    secret,
    unsafeStaleReads: unsafe,
    clock,
    record: (r) => {
      nemesisLog.push(r)
      writer.write(r)
      hooks.line(`${stampText(r.time)} nemesis: ${r.text}${r.error ? ` — ${r.error}` : ''}`)
    },
  })

  // Clients.
  let stopping = false
  const clients = Array.from({length: o.clients}, (_, i) => {
    const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret, startAt: leader})
    const generator = new OpGenerator(prng.fork(), i, keys, known, isReader(i, o.clients))
    return {client, generator, index: i}
  })
  let counts: Counts = countOps([])
  const faultsTotal = () => nemesis.faultsApplied()
  hooks.counter(clock, () => {
    counts = countOps(ops)
    return counterText(counts, faultsTotal())
  })
  hooks.line(
    `${stampText(0)} ${o.clients} client(s) on ${o.keys} key(s) for ${seconds(o.durationMs)}, faults: ${o.faults.length > 0 ? o.faults.join(',') : 'none'}, op timeout ${opTimeoutMs}ms, seed ${o.seed}`,
  )
  const loops = clients.map((c) =>
    runClientLoop({
      index: c.index,
      stride: o.clients,
      client: c.client,
      generator: c.generator,
      opTimeoutMs,
      clock,
      nextId: () => ++opId,
      stopping: () => stopping,
      record: recordOp,
    }),
  )

  // Leader and term over time, for the report: every node's role and term a few times a second.
  const poller = pollStatuses(config, secret, {
    intervalMs: STATUS_POLL_MS,
    active: () => !stopping,
    onRound: (statuses) => writer.write(statusRecord(clock(), statuses)),
  })

  let interrupted = false
  // Whatever fails below, the clients stop and the history file is closed.
  const stopClients = async () => {
    stopping = true
    await Promise.all(loops)
    await poller
    await Promise.all(clients.map((c) => c.client.close()))
    hooks.stopCounter()
  }
  try {
    try {
      interrupted = await faultPhase(o, config, nemesis, nemesisPrng, clock, hooks.signal)
    } finally {
      // The final heal: always, also when the run failed half-way.
      const quiet = hooks.signal?.aborted ? '' : `; then a ${seconds(o.quietMs)} quiet period`
      hooks.line(`${stampText(clock())} final heal: resume, heal, restart${quiet}`)
      writer.write({phase: 'final-heal', time: roundMs(clock())})
      await nemesis.repairAll()
    }
    try {
      await waitForLeader(o.dir, config, o.leaderTimeoutMs ?? LEADER_TIMEOUT_MS)
    } catch (err) {
      warnings.push(`after the final heal: ${(err as Error).message}`)
    }
    quietStart = clock()
    writer.write({phase: 'quiet', time: roundMs(quietStart)})
    if (!interrupted) await sleepUntil(() => quietStart + o.quietMs - clock(), hooks.signal)
  } catch (err) {
    await stopClients()
    await writer.close().catch(() => undefined)
    throw err
  }
  await stopClients()
  const elapsedMs = clock()
  if (okInQuiet === 0 && !interrupted) warnings.push('no operation succeeded after the final heal (liveness problem?)')
  if (o.faults.length > 0 && nemesis.faultsApplied() === 0 && !interrupted) {
    warnings.push(`no fault was injected in ${seconds(o.durationMs)} (a fault comes every 1-3 s, none in the last second): the verdict says nothing about faults; run longer, e.g. --duration 10s`)
  }
  if (unsafe) {
    warnings.push(`the replicas still run in the test-only --unsafe-stale-reads mode; for correct reads restart them: ${raftctl(o.dir, 'stop')} && ${raftctl(o.dir, 'start')}`)
  }

  counts = countOps(ops)
  hooks.line(`${stampText(elapsedMs)} ${counterText(counts, faultsTotal())}`)
  const history = toCheckerHistory(ops)
  hooks.line(`${stampText(elapsedMs)} checking ${history.length} ops for linearizability...`)
  const checkStart = performance.now()
  const result = checkLinearizable(history, o.maxStates !== undefined ? {maxStates: o.maxStates} : undefined)
  const checkMs = Math.round(performance.now() - checkStart)

  let verdict: Verdict
  let violation: Violation | null = null
  let excerptLines: string[] = []
  if (result.ok) {
    verdict = 'linearizable'
  } else {
    verdict = result.reason.startsWith('undecided:') ? 'undecided' : 'not-linearizable'
    const around = nemesisAround(result.excerpt, nemesisLog)
    violation = {
      key: result.key,
      reason: result.reason,
      excerpt: result.excerpt.map(formatOp),
      nemesis: around.map(formatNemesis),
      ops: result.excerpt.map((h) => h.id),
      ...(result.detail ? {detail: result.detail} : {}),
    }
    excerptLines = mergeByTime(result.excerpt, around)
  }
  writer.write({verdict, checkedOps: history.length, ...(violation ? {violation} : {})})
  try {
    await writer.close()
  } catch (err) {
    warnings.push(`could not write the history file ${historyPath}: ${(err as Error).message}`)
  }

  const total = OP_NAMES.reduce((s, n) => s + OUTCOMES.reduce((m, o) => m + counts[n][o], 0), 0)
  const nemesisErrors = nemesisLog.filter((r) => r.error).map((r) => `${formatNemesis(r)}: ${r.error}`)
  return {
    verdict,
    exitCode: verdict === 'linearizable' ? 0 : verdict === 'undecided' ? CHECK_EXIT.undecided : CHECK_EXIT.notLinearizable,
    dir: o.dir,
    history: historyPath,
    runDir,
    seed: o.seed,
    nodes: config.nodes.length,
    clients: o.clients,
    keys,
    durationMs: o.durationMs,
    elapsedMs: Math.round(elapsedMs),
    opTimeoutMs,
    faultsEnabled: o.faults,
    unsafeStaleReads: unsafe,
    interrupted,
    ops: {...counts, total},
    faults: {...nemesis.applied, total: faultsTotal()},
    nemesisEvents: nemesisLog.length,
    nemesisErrors,
    checkedOps: history.length,
    checkMs,
    violation,
    warnings,
    excerptLines,
  }
}

/**
 * The fault phase: a step every 1–3 s until the duration has passed; each step undoes the fault in
 * force and most start another (none in the last second). Returns true if it was interrupted.
 */
async function faultPhase(
  o: CheckOptions,
  config: ClusterConfig,
  nemesis: Nemesis,
  prng: Prng,
  clock: () => number,
  signal?: AbortSignal,
): Promise<boolean> {
  const end = o.durationMs
  for (;;) {
    const wake = Math.min(end, clock() + nextDelayMs(prng))
    if (!(await sleepUntil(() => wake - clock(), signal))) return true
    if (clock() >= end - 1) return false
    if (o.faults.length === 0) continue
    await nemesis.repairAll()
    if (end - clock() < 1000) continue
    if (nemesis.faultsApplied() > 0 && !prng.chance(FAULT_CHANCE)) continue
    const leader = await nemesis.leader()
    await nemesis.apply(planFault(prng, o.faults, config.nodes.map((n) => n.id), leader))
  }
}

/**
 * Starts the cluster (creating it if need be, or restarting it in the test-only stale-reads mode),
 * resumes paused nodes, heals a stored partition, and waits for a leader.
 */
async function prepareCluster(o: CheckOptions, hooks: CheckHooks): Promise<{config: ClusterConfig; unsafe: boolean; leader: NodeId}> {
  const exists = clusterExists(o.dir)
  let unsafe = o.unsafeStaleReads
  // A --nodes that disagrees with the cluster is left to startNodes to refuse (with its hint).
  if (exists && (o.nodes === undefined || o.nodes === loadCluster(o.dir).nodes.length)) {
    const resumed = await resumeNodes(o.dir)
    if (resumed.resumed.length > 0) hooks.line(`resumed paused node(s) ${resumed.resumed.join(', ')}`)
    if (o.unsafeStaleReads) {
      const stopped = await stopNodes(o.dir, undefined, false)
      if (stopped.stopped.length > 0) hooks.line(`stopped node(s) ${stopped.stopped.join(', ')} to restart them with --unsafe-stale-reads`)
    } else if (runningUnsafeStaleReads(o.dir)) {
      unsafe = true
      hooks.line('the cluster runs with --unsafe-stale-reads (test only): expect a violation; killed nodes restart in that mode')
    }
  }
  const started = await startNodes(o.dir, {
    init: {
      nodes: o.nodes ?? DEFAULTS.nodes,
      basePort: o.basePort ?? DEFAULTS.basePort,
      host: DEFAULTS.host,
      electionTimeoutMs: DEFAULTS.electionTimeoutMs,
      heartbeatMs: DEFAULTS.heartbeatMs,
    },
    nodesGiven: o.nodes !== undefined,
    unsafeStaleReads: unsafe,
  })
  if (started.initialised) hooks.line(`initialised a ${started.config.nodes.length}-node cluster in ${o.dir}`)
  if (started.started.length > 0) hooks.line(`started node(s) ${started.started.join(', ')}${unsafe ? ' with --unsafe-stale-reads (test only)' : ''}`)
  const config = started.config
  if (currentPartition(o.dir, config) !== null) {
    await applyPartition(o.dir, config, null)
    hooks.line('healed the partition that was in force')
  }
  const status = await waitForLeader(o.dir, config, o.leaderTimeoutMs ?? LEADER_TIMEOUT_MS)
  return {config, unsafe, leader: status.leader!}
}

/** Sleeps until `remaining()` is <= 0 (re-evaluated); false if aborted. */
async function sleepUntil(remaining: () => number, signal?: AbortSignal): Promise<boolean> {
  for (;;) {
    if (signal?.aborted) return false
    const ms = remaining()
    if (ms <= 0) return true
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(ms, 250))
      function done() {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      signal?.addEventListener('abort', done, {once: true})
    })
  }
}

/** A history line: each node's role, term and commit index (null: no answer), the agreed leader. */
export function statusRecord(time: number, statuses: readonly (NodeStatus | null)[]): StatusRecord {
  const leader = agreedLeader([...statuses])
  return {
    status: {
      time: roundMs(time),
      leader,
      term: leader !== null ? statuses[leader - 1]!.term : null,
      nodes: statuses.map((s) => (s === null ? null : {role: s.role, term: s.term, commit: s.commitIndex})),
    },
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`
}

export function formatNemesis(r: NemesisRecord): string {
  return `nemesis ${r.text} [${r.time}]`
}

/** Nemesis actions from just before the excerpt's first op to its last completion. */
export function nemesisAround(excerpt: HistoryOp[], log: NemesisRecord[]): NemesisRecord[] {
  if (excerpt.length === 0) return []
  const lo = Math.min(...excerpt.map((h) => h.invoke))
  const hi = Math.max(...excerpt.map((h) => (Number.isFinite(h.complete) ? h.complete : h.invoke)))
  const before = log.filter((r) => r.time < lo)
  const inside = log.filter((r) => r.time >= lo && r.time <= hi)
  // The last action before the window is what put the cluster in the state the ops saw.
  return [...before.slice(-1), ...inside]
}

/** Ops (formatOp) and nemesis actions in one list ordered by time (op invoke, action start). */
export function mergeByTime(excerpt: HistoryOp[], nemesis: NemesisRecord[]): string[] {
  const rows: {t: number; order: number; text: string}[] = [
    ...excerpt.map((h, i) => ({t: h.invoke, order: i, text: formatOp(h)})),
    ...nemesis.map((r, i) => ({t: r.time, order: -1000 + i, text: `~ ${formatNemesis(r)}`})),
  ]
  rows.sort((a, b) => a.t - b.t || a.order - b.order)
  return rows.map((r) => r.text)
}
