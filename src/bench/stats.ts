// The measuring half of a benchmark run: every latency sample kept exactly (no histogram
// buckets), nearest-rank percentiles, the summary document of `raftctl bench --json`, its human
// form, and leader-change counting from status observations. Pure: no I/O, no clock.
import {formatDuration} from '../lib/duration.js'
import type {NodeIoCounters} from '../protocol/protocol.js'

/** Every latency sample of a run, in milliseconds (a growable Float64Array; ~8 bytes per op). */
export class LatencyRecorder {
  private buf = new Float64Array(1024)
  private n = 0

  add(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.n++] = ms
  }

  get count(): number {
    return this.n
  }

  /** The samples in ascending order (a copy). */
  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort()
  }
}

/** Nearest-rank percentile of ascending `sorted` (p in (0, 100]); 0 for no samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export interface LatencySummary {
  p50: number
  p90: number
  p99: number
  max: number
}

export interface BenchResult {
  ops: number
  /** How long the measured loop really ran (shorter than asked when interrupted). */
  elapsedMs: number
  opsPerSec: number
  latencyMs: LatencySummary
  errors: number
  leaderChanges: number
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits

export function summarizeLatencies(sorted: ArrayLike<number>): LatencySummary {
  return {
    p50: round(percentile(sorted, 50), 3),
    p90: round(percentile(sorted, 90), 3),
    p99: round(percentile(sorted, 99), 3),
    max: round(sorted.length > 0 ? sorted[sorted.length - 1]! : 0, 3),
  }
}

/** The JSON document of a run: successful ops, their rate over the whole run, latencies, errors. */
export function summarize(latencies: LatencyRecorder, elapsedMs: number, errors: number, leaderChanges: number): BenchResult {
  const ops = latencies.count
  return {
    ops,
    elapsedMs: Math.round(elapsedMs),
    opsPerSec: elapsedMs > 0 ? round((ops * 1000) / elapsedMs, 1) : 0,
    latencyMs: summarizeLatencies(latencies.sorted()),
    errors,
    leaderChanges,
  }
}

export interface RunDescription {
  op: string
  clients: number
  /** Connections per node the clients share; absent or equal to clients: one each. */
  conns?: number
  durationMs: number
  valueSize: number
  keys: number
  target: string
  /** Stopped early (Ctrl-C): the summary says so and gives the time it really ran. */
  interrupted?: boolean
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) + 'ms'
const thousands = (x: number) => Math.round(x).toLocaleString('en-US')

/** The human summary (stdout). */
export function formatSummary(r: BenchResult, d: RunDescription): string {
  return (
    [
      `${d.op} against ${d.target}: ${d.clients} client${d.clients === 1 ? '' : 's'}` +
        (d.conns !== undefined && d.conns < d.clients ? ` over ${d.conns} connection${d.conns === 1 ? '' : 's'}` : '') +
        ', ' +
        (d.interrupted ? `interrupted after ${formatDuration(r.elapsedMs)} of ${formatDuration(d.durationMs)}` : formatDuration(d.durationMs)) +
        `, ${d.valueSize}-byte values, ${d.keys} key${d.keys === 1 ? '' : 's'}`,
      `ops             ${thousands(r.ops)} (${thousands(r.opsPerSec)} ops/s)`,
      `latency         p50 ${ms(r.latencyMs.p50)}  p90 ${ms(r.latencyMs.p90)}  p99 ${ms(r.latencyMs.p99)}  max ${ms(r.latencyMs.max)}`,
      `errors          ${r.errors}`,
      `leader changes  ${r.leaderChanges}`,
    ].join('\n') + '\n'
  )
}

/**
 * What the leader did over a run, from its counters before and after (NodeIoCounters): how well
 * group commit batched (entries per fsync, per AppendEntries), how often it synced, and how busy
 * it was. Rates are over the leader's own clock between the two readings.
 */
export interface BenchMechanics {
  /** The leader the counters were read from. */
  node: number
  /** Entries written per fdatasync (group commit): >= 1 under write load. */
  entriesPerFsync: number
  /** Entries per AppendEntries that carried any (heartbeats not counted). */
  entriesPerAppend: number
  /** fdatasync calls on files per second (log batches, and the rare hard-state or snapshot file). */
  fsyncsPerSec: number
  /**
   * Share of the leader's wall-clock time with an fsync in flight, percent: the log's fdatasync runs
   * off the event loop (the loop keeps going meanwhile), the rare directory fsync blocks it.
   */
  fsyncBusyPercent: number
  /** The leader's CPU time (user + system) as a share of one core, percent. */
  cpuPercent: number
}

/** The mechanics between two readings of one leader's counters; null if they do not span a run. */
export function mechanicsBetween(node: number, before: NodeIoCounters, after: NodeIoCounters): BenchMechanics | null {
  const ms = after.atMs - before.atMs
  const d = (k: keyof NodeIoCounters) => after[k] - before[k]
  if (!(ms > 0) || (Object.keys(after) as (keyof NodeIoCounters)[]).some((k) => !(d(k) >= 0))) return null
  const per = (a: number, b: number) => (b > 0 ? round(a / b, 2) : 0)
  return {
    node,
    entriesPerFsync: per(d('entriesWritten'), d('fsyncs')),
    entriesPerAppend: per(d('entriesSent'), d('appendsSent')),
    fsyncsPerSec: round((d('fsyncs') * 1000) / ms, 1),
    fsyncBusyPercent: round((d('fsyncMs') * 100) / ms, 1),
    cpuPercent: round(d('cpuMicros') / (ms * 10), 1),
  }
}

/** The human lines of a run's mechanics (part of the summary). */
export function formatMechanics(m: BenchMechanics | null): string {
  if (m === null) return 'leader I/O      not measured (the leader changed during the run, or did not report)\n'
  const n = (x: number) => (x >= 100 ? thousands(x) : String(x))
  return (
    [
      `leader I/O      node ${m.node}: ${n(m.fsyncsPerSec)} fsyncs/s, ${m.entriesPerFsync} entries per fsync, ${m.entriesPerAppend} entries per AppendEntries`,
      `leader busy     CPU ${m.cpuPercent}% of one core; ${m.fsyncBusyPercent}% of the time syncing (off the event loop)`,
    ].join('\n') + '\n'
  )
}

/**
 * Counts leader changes from a series of status observations: a change is a leader (or a term
 * of leadership) different from the last one seen. Observations without an agreed leader (an
 * election in progress, a node unreachable) neither count nor reset the last leader seen.
 */
export class LeaderChangeCounter {
  private last: {leader: number; term: number | null} | null = null
  changes = 0

  observe(leader: number | null, term: number | null): void {
    if (leader === null) return
    const last = this.last
    if (last && (last.leader !== leader || (term !== null && last.term !== null && term !== last.term))) this.changes++
    this.last = {leader, term}
  }

  get current(): number | null {
    return this.last?.leader ?? null
  }
}
