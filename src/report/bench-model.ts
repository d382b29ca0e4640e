// The view-model of a `raftctl bench` report, from the run's saved record (bench.json): the
// latency histogram and percentiles, throughput and latency over time, the leader changes. Pure.
import type {LeaderObservation} from '../bench/run.js'
import type {BenchMechanics, BenchResult} from '../bench/stats.js'
import type {TimelineData} from '../bench/timeline.js'
import {round1, type Mark} from './shape.js'

export const BENCH_RECORD_VERSION = 1

/** What `raftctl bench` saves next to its report (and `raftctl report` reads back). */
export interface BenchRecord {
  bench: {
    version: number
    started: string
    settings: {op: string; clients: number; conns?: number; durationMs: number; valueSize: number; keys: number; timeoutMs: number; nodes: number; dir: string}
    result: BenchResult
    exact: {min: number; mean: number; p999: number}
    timeline: TimelineData
    leaders: LeaderObservation[]
    errorSamples: string[]
    /** The leader's group commit and load (absent from older records; null when not measured). */
    mechanics?: BenchMechanics | null
  }
}

export interface BenchView {
  kind: 'bench'
  title: string
  settings: [string, string][]
  percentiles: [string, number][]
  summary: [string, string][]
  endMs: number
  marks: Mark[]
  histogram: {xs: number[]; counts: number[]}
  timeline: {binMs: number; xs: number[]; ops: number[]; errors: number[]; p50: (number | null)[]; p99: (number | null)[]; max: (number | null)[]}
}

export function isBenchRecord(x: unknown): x is BenchRecord {
  const b = (x as {bench?: Record<string, unknown>} | null)?.bench
  return (
    typeof b === 'object' && b !== null && typeof b.result === 'object' && typeof b.timeline === 'object' && Array.isArray((b.timeline as TimelineData).bins)
  )
}

export function buildBenchView(rec: BenchRecord, source: string): BenchView {
  const b = rec.bench
  const s = b.settings
  const r = b.result
  const bins = b.timeline.bins
  const binMs = b.timeline.binMs
  const endMs = Math.max(s.durationMs, bins.length * binMs)
  const marks: Mark[] = b.leaders
    .slice(1)
    .map((l) => ({t: round1(l.time), kind: 'leader', text: `leader ${l.leader}${l.term !== null ? `, term ${l.term}` : ''}`}))
  return {
    kind: 'bench',
    title: `raftctl bench — ${s.op}, ${s.clients} clients`,
    settings: [
      ['started', b.started],
      ['operation', s.op],
      ['clients', s.conns !== undefined && s.conns < s.clients ? `${s.clients} over ${s.conns} connections per node` : String(s.clients)],
      ['duration', `${s.durationMs} ms`],
      ['value size', `${s.valueSize} bytes`],
      ['keys', String(s.keys)],
      ['op timeout', `${s.timeoutMs} ms`],
      ['cluster', `${s.nodes} node(s) in ${s.dir}`],
      ['record', source],
    ],
    percentiles: [
      ['min', b.exact.min],
      ['mean', b.exact.mean],
      ['p50', r.latencyMs.p50],
      ['p90', r.latencyMs.p90],
      ['p99', r.latencyMs.p99],
      ['p99.9', b.exact.p999],
      ['max', r.latencyMs.max],
    ],
    summary: [
      ['operations', r.ops.toLocaleString('en-US')],
      ['throughput', `${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s`],
      ['errors', String(r.errors)],
      ['leader changes', String(r.leaderChanges)],
      ...(b.errorSamples.length > 0 ? [['first errors', b.errorSamples.join('; ')] as [string, string]] : []),
      ...mechanicsRows(b.mechanics),
    ],
    endMs,
    marks,
    histogram: {xs: b.timeline.histogram.map(([lo]) => lo), counts: b.timeline.histogram.map(([, n]) => n)},
    timeline: {
      binMs,
      xs: bins.map((x) => x.t),
      ops: bins.map((x) => round1((x.ok * 1000) / binMs)),
      errors: bins.map((x) => round1((x.errors * 1000) / binMs)),
      p50: bins.map((x) => x.p50),
      p99: bins.map((x) => x.p99),
      max: bins.map((x) => x.max),
    },
  }
}

/** The leader's mechanics as summary rows (none for a record without them). */
function mechanicsRows(m: BenchMechanics | null | undefined): [string, string][] {
  if (m === undefined) return []
  if (m === null) return [['leader I/O', 'not measured (the leader changed during the run)']]
  return [
    ['leader', `node ${m.node}`],
    ['fsyncs (leader)', `${m.fsyncsPerSec.toLocaleString('en-US')}/s, ${m.entriesPerFsync} entries per fsync`],
    ['AppendEntries', `${m.entriesPerAppend} entries each`],
    ['leader CPU', `${m.cpuPercent}% of one core; ${m.fsyncBusyPercent}% of the time syncing (off the event loop)`],
  ]
}
