// `raftctl check`: a Jepsen-style test of the real cluster. The run, step by step:
//   1. prepare the cluster (prepare.ts): start or create it, in the test-only mode asked for,
//      volatile disks, no partition, a leader;
//   2. open the run: its directory, the history file, the keys, the clock;
//   3. start the clients (clients.ts: roaming clients, leader probes, the status poller);
//   4. the fault phase: the nemesis applies a planned fault, holds it, undoes it, rests, ...;
//   5. the final heal, then the quiet period (everyone writes);
//   6. the durability phase: write-once keys only, every node SIGKILLed at once and restarted;
//   7. stop the clients, read the write-once keys back;
//   8. the verdicts (linearizability, liveness, durability), the verdict line, the report.
// Invariant: whatever happens, the run ends with the network healed, every disk back to normal, no
// node paused and every killed node restarted.
import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {clusterExists, loadCluster, raftctl, type ClusterConfig} from '../clusterdir/config.js'
import {waitForLeader} from '../cluster/service.js'
import {Prng} from '../lib/prng.js'
import type {TestMode} from '../protocol/test-modes.js'
import {startClients, type RunningClients} from './clients.js'
import {
  extraCandidates,
  judgeDurability,
  readBackEveryNode,
  readBackIndex,
  readBackKeys,
  writeOnceOps,
  type DurabilityVerdict,
  type NodeReadBack,
  type ReadBack,
} from './durability.js'
import {
  countOps,
  HISTORY_FILE,
  HISTORY_VERSION,
  HistoryWriter,
  OP_NAMES,
  OUTCOMES,
  roundMs,
  toCheckerHistory,
  type Counts,
  type NemesisRecord,
  type OpRecord,
  type PhaseRecord,
  type StatusRecord,
} from './history.js'
import {judgeLiveness, type LivenessVerdict} from './liveness.js'
import {Nemesis} from './nemesis.js'
import {BACKGROUND_CHANCE, BACKGROUND_KINDS, FaultDeck, planBackground, planFault, restMs, settleMs, type Fault, type FaultKind} from './plan.js'
import {prepareCluster, setVolatileDisks, type PreparedCluster} from './prepare.js'
import {counterText, stamp as stampText} from './progress.js'
import {exitCodeOf, formatNemesis, judgeLinearizability, type LinearizabilityVerdict, type Verdict, type Violation} from './verdicts.js'
import {isWriteOnceKey, runKeys, type RunKeys} from './workload.js'

export {CHECK_EXIT, formatNemesis, mergeByTime, nemesisAround, type Verdict, type Violation} from './verdicts.js'
export {statusRecord} from './clients.js'

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
  /** Per-operation client timeout; default: a third of the cluster's election timeout (see defaultOpTimeoutMs). */
  opTimeoutMs?: number
  /** Test only: (re)start the replicas deliberately broken (protocol/test-modes.ts). */
  mutant?: TestMode
  /** The leader probes (two pinned clients per node); default on. */
  probes?: boolean
  /** The durability phase (kill every node, read back); default on. */
  durability?: boolean
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
  /** The test-only mode the replicas ran in, or null. */
  mutant: TestMode | null
  unsafeStaleReads: boolean
  interrupted: boolean
  ops: Counts & {total: number}
  faults: Record<FaultKind, number> & {total: number}
  nemesisEvents: number
  nemesisErrors: string[]
  checkedOps: number
  checkMs: number
  violation: Violation | null
  verdicts: {linearizability: {result: 'pass' | 'fail' | 'undecided'; text: string}; liveness: LivenessVerdict; durability: DurabilityVerdict}
  warnings: string[]
  /** For the human rendering: ops and nemesis lines around the violation, merged by time. */
  excerptLines: string[]
}

const LEADER_TIMEOUT_MS = 15_000
/**
 * The durability phase: rounds of write-once writes for a while, then every node killed at once
 * and restarted. One crash finds a lost write only if the node elected after it had not synced
 * it; a few rounds make that near certain for a replica that acknowledges before fsync.
 */
const DURABILITY_ROUNDS = 3
const DURABILITY_WRITES_MS = 700
/** After the restart, the clients go on this long (reconnecting, writing again) before they stop. */
const AFTER_RESTART_MS = 300

/**
 * A third of the cluster's election timeout (100 ms by default), at least 50 ms. A deposed leader
 * keeps answering until CheckQuorum steps it down, within one to two election timeouts; a client
 * stuck on it must give up well within that to meet the new leader while the old one still
 * answers — the window where stale reads live. With longer timeouts the check cannot see it.
 */
export function defaultOpTimeoutMs(config: ClusterConfig): number {
  return Math.max(50, Math.round(config.electionTimeoutMs / 3))
}

/** What a run recorded, in memory, as it went (the history file has the same). */
interface RunState {
  o: CheckOptions
  cluster: PreparedCluster
  runDir: string
  historyPath: string
  writer: HistoryWriter
  clock: () => number
  keys: RunKeys
  /** The nemesis's plan and the clients' choices, each from its own fork of the seed. */
  nemesisPrng: Prng
  clientPrng: Prng
  opTimeoutMs: number
  ops: OpRecord[]
  nemesisLog: NemesisRecord[]
  statuses: StatusRecord['status'][]
  phases: PhaseRecord[]
  warnings: string[]
}

/** When the phases happened (ms since the start). */
interface PhaseTimes {
  interrupted: boolean
  healedAt: number | null
  quiet: {from: number; to: number} | null
  durability: boolean
}

export async function runCheck(o: CheckOptions, hooks: CheckHooks): Promise<CheckReport> {
  let cluster: PreparedCluster
  try {
    cluster = await prepareCluster(
      {dir: o.dir, nodes: o.nodes, basePort: o.basePort, mutant: o.mutant, leaderTimeoutMs: o.leaderTimeoutMs ?? LEADER_TIMEOUT_MS},
      hooks.line,
    )
  } catch (err) {
    // The disks may have been made volatile already.
    if (clusterExists(o.dir)) {
      try {
        setVolatileDisks(o.dir, loadCluster(o.dir), false)
      } catch {
        // A damaged cluster.json: the error below says what to do.
      }
    }
    throw err
  }
  try {
    const run = openRun(o, cluster)
    const nemesis = newNemesis(run, hooks)
    const clients = startRunClients(run)
    hooks.counter(run.clock, () => counterText(countOps(run.ops), nemesis.faultsApplied()))
    hooks.line(
      `${stampText(0)} ${o.clients} client(s) on ${o.keys} key(s) for ${seconds(o.durationMs)}, faults: ${o.faults.length > 0 ? o.faults.join(',') : 'none'}, op timeout ${run.opTimeoutMs}ms, seed ${o.seed}`,
    )
    let times: PhaseTimes
    try {
      times = await runPhases(run, nemesis, clients, hooks)
    } catch (err) {
      await clients.stop()
      hooks.stopCounter()
      await run.writer.close().catch(() => undefined)
      throw err
    }
    await clients.stop()
    hooks.stopCounter()
    const back = times.durability ? await readBackWriteOnce(run, hooks) : null
    return finish(run, nemesis, times, back, hooks)
  } finally {
    setVolatileDisks(o.dir, cluster.config, false)
  }
}

/** Step 2: the run's directory, history file (its meta line first), keys and clock. */
function openRun(o: CheckOptions, cluster: PreparedCluster): RunState {
  const opTimeoutMs = o.opTimeoutMs ?? defaultOpTimeoutMs(cluster.config)
  const keys = runKeys(randomBytes(3).toString('hex'), o.keys)
  const runDir = join(o.dir, `check-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  mkdirSync(runDir)
  const historyPath = join(runDir, HISTORY_FILE)
  const writer = new HistoryWriter(historyPath)
  const t0 = performance.now()
  writer.write({
    meta: {
      version: HISTORY_VERSION,
      started: new Date().toISOString(),
      seed: o.seed,
      nodes: cluster.config.nodes.length,
      clients: o.clients,
      keys: keys.registers,
      writeOncePrefix: keys.oncePrefix,
      faults: o.faults,
      durationMs: o.durationMs,
      quietMs: o.quietMs,
      opTimeoutMs,
      electionTimeoutMs: cluster.config.electionTimeoutMs,
      mutant: cluster.mutant,
      unsafeStaleReads: cluster.mutant === 'read-without-readindex',
      probes: o.probes !== false,
      timeUnit: 'ms since start',
      epochMs: roundMs(performance.timeOrigin + t0),
    },
  })
  const prng = new Prng(o.seed)
  return {
    o,
    cluster,
    runDir,
    historyPath,
    writer,
    clock: () => performance.now() - t0,
    keys,
    nemesisPrng: prng.fork(),
    clientPrng: prng.fork(),
    opTimeoutMs,
    ops: [],
    nemesisLog: [],
    statuses: [],
    phases: [],
    warnings: [],
  }
}

function newNemesis(run: RunState, hooks: CheckHooks): Nemesis {
  return new Nemesis({
    dir: run.o.dir,
    config: run.cluster.config,
    secret: run.cluster.secret,
    mutant: run.cluster.mutant,
    clock: run.clock,
    record: (r) => {
      run.nemesisLog.push(r)
      run.writer.write(r)
      hooks.line(`${stampText(r.time)} nemesis: ${r.text}${r.error ? ` — ${r.error}` : ''}`)
    },
  })
}

/** Step 3: the clients, recording into the run. */
function startRunClients(run: RunState): RunningClients {
  return startClients({
    config: run.cluster.config,
    secret: run.cluster.secret,
    keys: run.keys,
    clients: run.o.clients,
    opTimeoutMs: run.opTimeoutMs,
    probes: run.o.probes !== false,
    prng: run.clientPrng,
    startAt: run.cluster.leader,
    clock: run.clock,
    record: (r) => {
      run.ops.push(r)
      run.writer.write(r)
    },
    status: (s) => {
      run.statuses.push(s.status)
      run.writer.write(s)
    },
  })
}

/** Steps 4-6: faults, final heal, quiet period, durability crash. */
async function runPhases(run: RunState, nemesis: Nemesis, clients: RunningClients, hooks: CheckHooks): Promise<PhaseTimes> {
  const o = run.o
  let interrupted = false
  let healedAt: number | null = null
  try {
    interrupted = await faultPhase(run, nemesis, hooks.signal)
  } finally {
    // The final heal: always, also when the run failed half-way.
    const quiet = hooks.signal?.aborted ? '' : `; then a ${seconds(o.quietMs)} quiet period`
    hooks.line(`${stampText(run.clock())} final heal: resume, heal, restart${quiet}`)
    phase(run, 'final-heal')
    await nemesis.repairAll({background: true})
    healedAt = run.clock()
  }
  await leaderOrWarning(run, 'after the final heal')
  clients.setPhase('quiet')
  const quietFrom = phase(run, 'quiet')
  if (!interrupted) await sleepUntil(() => quietFrom + o.quietMs - run.clock(), hooks.signal)
  const quiet = {from: quietFrom, to: run.clock()}
  interrupted ||= hooks.signal?.aborted === true
  if (interrupted || o.durability === false) return {interrupted, healedAt, quiet: interrupted ? null : quiet, durability: false}
  hooks.line(`${stampText(run.clock())} durability: write-once keys, then kill every node at once and restart them (${DURABILITY_ROUNDS} times)`)
  clients.setPhase('durability')
  phase(run, 'durability')
  for (let round = 0; round < DURABILITY_ROUNDS && !hooks.signal?.aborted; round++) {
    const from = run.clock()
    await sleepUntil(() => from + DURABILITY_WRITES_MS - run.clock(), hooks.signal)
    await nemesis.crashAll()
    await leaderOrWarning(run, 'after the restart of every node')
  }
  const restarted = run.clock()
  await sleepUntil(() => restarted + AFTER_RESTART_MS - run.clock(), hooks.signal)
  return {interrupted: hooks.signal?.aborted === true, healedAt, quiet, durability: true}
}

/**
 * Step 4, the fault phase: plan a fault, apply it, hold it, undo it, rest; until the duration has
 * passed (no fault starts in its last second). A background fault (a slow network) may start at
 * any step and stays across the next ones until its own time is up. Returns true if interrupted.
 */
async function faultPhase(run: RunState, nemesis: Nemesis, signal?: AbortSignal): Promise<boolean> {
  const o = run.o
  const prng = run.nemesisPrng
  const end = o.durationMs
  const ids = run.cluster.config.nodes.map((n) => n.id)
  const background = o.faults.some((k) => BACKGROUND_KINDS.includes(k))
  const deck = new FaultDeck(o.faults)
  let backgroundUntil = 0
  let wake = Math.min(end, run.clock() + restMs(prng))
  for (;;) {
    if (!(await sleepUntil(() => wake - run.clock(), signal))) return true
    if (nemesis.hasBackground && run.clock() >= backgroundUntil) await nemesis.endBackground()
    if (run.clock() >= end - 1000 || o.faults.length === 0) {
      if (!(await sleepUntil(() => end - run.clock(), signal))) return true
      return false
    }
    if (background && !nemesis.hasBackground && prng.chance(BACKGROUND_CHANCE)) {
      const b = planBackground(prng, ids)
      await nemesis.applyBackground(b.fault as Fault & {type: 'net'})
      backgroundUntil = run.clock() + b.holdMs
    }
    if (deck.empty) {
      wake = Math.min(end, run.clock() + restMs(prng))
      continue
    }
    const planned = planFault(prng, deck.draw(prng), ids, await nemesis.leader(), run.cluster.config.electionTimeoutMs)
    await nemesis.apply(planned.fault)
    const until = Math.min(end, run.clock() + planned.holdMs)
    if (!(await sleepUntil(() => until - run.clock(), signal))) return true
    await nemesis.repairAll()
    wake = Math.min(end, run.clock() + restMs(prng))
  }
}

/** What step 7 read: through the leader, on every node, and the keys read again. */
interface ReadBackResult {
  cluster: ReadBack[]
  nodes: NodeReadBack[]
  recheck: ReadBack[]
}

/**
 * Step 7: the write-once keys, read back after the crash: through the leader (linearizable reads),
 * then from every node's own state once it applied as far, then — the keys some node holds that
 * the first read did not find — through the leader again.
 */
async function readBackWriteOnce(run: RunState, hooks: CheckHooks): Promise<ReadBackResult> {
  const writes = writeOnceOps(run.ops, (k) => isWriteOnceKey(run.keys, k))
  const keys = writes.map((w) => w.key)
  const {config, secret} = run.cluster
  phase(run, 'read-back')
  hooks.line(`${stampText(run.clock())} reading back ${writes.length} write-once key(s), through the leader and on every node`)
  const cluster = await readBackKeys(config, secret, keys, 2000)
  const index = readBackIndex(cluster)
  const nodes = index > 0 ? await readBackEveryNode(config, secret, keys, index, 2000) : []
  const again = extraCandidates(writes, cluster, nodes)
  const recheck = again.length > 0 ? await readBackKeys(config, secret, again, 2000) : []
  return {cluster, nodes, recheck}
}

/** Step 8: the verdicts, the verdict line, closing the history; the report. */
async function finish(run: RunState, nemesis: Nemesis, times: PhaseTimes, back: ReadBackResult | null, hooks: CheckHooks): Promise<CheckReport> {
  const elapsedMs = run.clock()
  const counts = countOps(run.ops)
  warn(run, nemesis, times)
  hooks.line(`${stampText(elapsedMs)} ${counterText(counts, nemesis.faultsApplied())}`)
  const history = toCheckerHistory(run.ops.filter((r) => !isWriteOnceKey(run.keys, r.key)))
  hooks.line(`${stampText(elapsedMs)} checking ${history.length} ops for linearizability...`)
  const lin = judgeLinearizability(history, run.nemesisLog, run.o.maxStates)
  const liveness = livenessOf(run, nemesis, times)
  const durability = durabilityOf(run, times, back)
  await closeHistory(run, lin, liveness, durability)
  return checkReport(run, nemesis, times, {elapsedMs, counts, lin, liveness, durability})
}

/** The liveness verdict (not judged when the run was interrupted). */
function livenessOf(run: RunState, nemesis: Nemesis, times: PhaseTimes): LivenessVerdict {
  if (times.interrupted) return {result: 'n/a', text: 'not judged (the run was interrupted)', windowsJudged: 0, problems: []}
  return judgeLiveness({
    nodeIds: run.cluster.config.nodes.map((n) => n.id),
    settleMs: settleMs(run.cluster.config.electionTimeoutMs),
    statuses: run.statuses,
    ops: run.ops,
    windows: nemesis.windows,
    healedAt: times.healedAt,
    quiet: times.quiet,
    clients: run.o.clients,
  })
}

/** The durability verdict on what step 7 read back (nothing: interrupted, or --no-durability). */
function durabilityOf(run: RunState, times: PhaseTimes, back: ReadBackResult | null): DurabilityVerdict {
  return judgeDurability(
    writeOnceOps(run.ops, (k) => isWriteOnceKey(run.keys, k)),
    back?.cluster ?? null,
    times.interrupted ? 'the run was interrupted' : '--no-durability',
    back?.nodes,
    back?.recheck,
  )
}

/** The verdict line, last in the history; then the file closed (a failure to is a warning). */
async function closeHistory(run: RunState, lin: LinearizabilityVerdict, liveness: LivenessVerdict, durability: DurabilityVerdict): Promise<void> {
  run.writer.write({
    verdict: lin.verdict,
    checkedOps: lin.checkedOps,
    ...(lin.violation ? {violation: lin.violation} : {}),
    liveness: {result: liveness.result, text: liveness.text, problems: liveness.problems},
    durability: {
      result: durability.result,
      text: durability.text,
      acknowledged: durability.acknowledged,
      verified: durability.verified,
      lost: durability.lost.slice(0, 100),
      divergent: durability.divergent,
    },
  })
  try {
    await run.writer.close()
  } catch (err) {
    run.warnings.push(`could not write the history file ${run.historyPath}: ${(err as Error).message}`)
  }
}

/** What finish() found, for the report. */
interface Judged {
  elapsedMs: number
  counts: Counts
  lin: LinearizabilityVerdict
  liveness: LivenessVerdict
  durability: DurabilityVerdict
}

/** The run's report, from its state and verdicts. */
function checkReport(run: RunState, nemesis: Nemesis, times: PhaseTimes, {elapsedMs, counts, lin, liveness, durability}: Judged): CheckReport {
  const o = run.o
  const total = OP_NAMES.reduce((s, n) => s + OUTCOMES.reduce((m, x) => m + counts[n][x], 0), 0)
  return {
    verdict: lin.verdict,
    exitCode: exitCodeOf(lin.verdict, liveness, durability),
    dir: o.dir,
    history: run.historyPath,
    runDir: run.runDir,
    seed: o.seed,
    nodes: run.cluster.config.nodes.length,
    clients: o.clients,
    keys: [...run.keys.registers],
    durationMs: o.durationMs,
    elapsedMs: Math.round(elapsedMs),
    opTimeoutMs: run.opTimeoutMs,
    faultsEnabled: o.faults,
    mutant: run.cluster.mutant,
    unsafeStaleReads: run.cluster.mutant === 'read-without-readindex',
    interrupted: times.interrupted,
    ops: {...counts, total},
    faults: {...nemesis.applied, total: nemesis.faultsApplied()},
    nemesisEvents: run.nemesisLog.length,
    nemesisErrors: run.nemesisLog.filter((r) => r.error).map((r) => `${formatNemesis(r)}: ${r.error}`),
    checkedOps: lin.checkedOps,
    checkMs: lin.checkMs,
    violation: lin.violation,
    verdicts: {linearizability: linearizabilityLine(lin), liveness, durability},
    warnings: run.warnings,
    excerptLines: lin.excerptLines,
  }
}

function linearizabilityLine(lin: LinearizabilityVerdict): {result: 'pass' | 'fail' | 'undecided'; text: string} {
  switch (lin.verdict) {
    case 'linearizable':
      return {result: 'pass', text: `${lin.checkedOps} ops checked in ${lin.checkMs} ms`}
    case 'not-linearizable':
      return {result: 'fail', text: `key ${lin.violation!.key}: ${lin.violation!.reason}`}
    case 'undecided':
      return {result: 'undecided', text: `the checker gave up on key ${lin.violation!.key}`}
  }
}

/** The warnings a run earns besides its verdicts. */
function warn(run: RunState, nemesis: Nemesis, times: PhaseTimes): void {
  const o = run.o
  if (o.faults.length > 0 && nemesis.faultsApplied() === 0 && !times.interrupted) {
    run.warnings.push(
      `no fault was injected in ${seconds(o.durationMs)} (none starts in the last second): the verdict says nothing about faults; run longer, e.g. --duration 10s`,
    )
  }
  if (run.cluster.mutant) {
    run.warnings.push(
      `the replicas still run in the test-only --mutant ${run.cluster.mutant} mode; for a correct cluster restart them: ${raftctl(o.dir, 'stop')} && ${raftctl(o.dir, 'start')}`,
    )
  }
}

async function leaderOrWarning(run: RunState, when: string): Promise<void> {
  try {
    await waitForLeader(run.o.dir, run.cluster.config, run.o.leaderTimeoutMs ?? LEADER_TIMEOUT_MS)
  } catch (err) {
    run.warnings.push(`${when}: ${(err as Error).message}`)
  }
}

function phase(run: RunState, name: PhaseRecord['phase']): number {
  const time = run.clock()
  const r: PhaseRecord = {phase: name, time: roundMs(time)}
  run.phases.push(r)
  run.writer.write(r)
  return time
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

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`
}
