// The view-model of a `raftctl check` report, from a parsed history: what each chart and table of
// the page draws, bounded in size whatever the length of the run (thinned latency points, binned
// throughput, per-client lanes with runs of quick successful ops merged), plus the verdicts and
// settings. Pure: the history in, plain data out; the page (html.ts + the browser script) draws it.
import {binWidthFor} from '../bench/timeline.js'
import type {OpName, OpRecord, OpStatus, ParsedHistory} from '../check/history.js'
import {OP_NAMES} from '../check/history.js'
import {binCounts, faultBands, round1, round2, thinScatter, type Band, type Mark} from './shape.js'

export const OP_STATUSES: readonly OpStatus[] = ['ok', 'failed', 'indeterminate']

/** Points kept per latency series (op kind × outcome) at most. */
export const LATENCY_BUDGET: Record<OpStatus, number> = {ok: 6000, failed: 3000, indeterminate: 3000}
/** Per-client segments kept at most (all clients together). */
export const SEGMENT_BUDGET = 40_000
/** An op longer than this is never merged into a run of quick ones (it shows a stall). */
export const SLOW_OP_MS = 50
/** Op details (for the timeline's tooltips) kept at most. */
const DETAIL_BUDGET = 5000

export interface LatencySeries {
  op: OpName
  status: OpStatus
  xs: number[]
  ys: number[]
  /** Points in the history (before thinning). */
  total: number
}

export interface ClientLane {
  client: number
  /** Flat [start, end, code (0 ok, 1 failed, 2 unknown), ops merged, detail index or -1] per segment. */
  segs: number[]
}

export interface ViolationOp {
  id: number
  process: number
  client: number
  label: string
  text: string
  invoke: number
  /** null: indeterminate (may take effect any time after invoke). */
  complete: number | null
  role: 'stuck' | 'placed' | 'context'
  /** Position in the partial linearization (1 = first of the ones shown), for placed ops. */
  order?: number
}

export interface ViolationView {
  key: string
  reason: string
  stuck: ViolationOp | null
  /** The key's value after the deepest partial linearization (null absent, undefined unknown). */
  value: string | null | undefined
  placedCount: number | null
  ops: ViolationOp[]
  from: number
  to: number
  excerpt: string[]
  nemesis: string[]
}

export interface Verdict {
  name: string
  result: 'pass' | 'fail' | 'undecided' | 'n/a'
  text: string
}

export interface CheckView {
  kind: 'check'
  title: string
  settings: [string, string][]
  verdicts: Verdict[]
  counts: {op: OpName; ok: number; failed: number; indeterminate: number}[]
  endMs: number
  bands: Band[]
  marks: Mark[]
  latency: {series: LatencySeries[]; shown: number; total: number}
  throughput: {binMs: number; xs: number[]; series: {name: string; ys: number[]}[]}
  leader: {xs: number[]; leader: (number | null)[]; term: (number | null)[]; nodes: number}
  clients: {lanes: ClientLane[]; details: string[]; merged: number}
  faults: {from: number; to: number; kind: string; text: string; error?: string}[]
  violation: ViolationView | null
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined)
/** Largest of many numbers (no spread: histories have hundreds of thousands of ops). */
function maxOf(xs: Iterable<number>, init = -Infinity): number {
  let m = init
  for (const x of xs) if (x > m) m = x
  return m
}

/** When the agreed leader first changed (to another node, or to a later term), or undefined. */
export function firstLeaderChange(l: CheckView['leader']): number | undefined {
  let last: {leader: number; term: number | null} | null = null
  for (let i = 0; i < l.xs.length; i++) {
    const leader = l.leader[i]
    if (leader === null || leader === undefined) continue
    if (last && (last.leader !== leader || (l.term[i] !== null && last.term !== null && l.term[i] !== last.term))) return l.xs[i]
    last = {leader, term: l.term[i] ?? null}
  }
  return undefined
}

export function buildCheckView(h: ParsedHistory, source: string): CheckView {
  const meta = h.meta ?? {}
  const ops = h.ops
  const endMs = round1(
    Math.max(
      1,
      maxOf(ops.map((o) => o.complete)),
      maxOf(h.nemesis.map((r) => r.time + (r.took ?? 0))),
      maxOf(h.statuses.map((s) => s.time)),
      maxOf(h.phases.map((p) => p.time)),
    ),
  )
  const bands = faultBands(h.nemesis, endMs)
  const marks: Mark[] = []
  const PHASE_TEXT = {
    quiet: 'quiet period',
    'final-heal': 'final heal',
    durability: 'durability: write-once keys, then every node killed',
    'read-back': 'read back',
  } as const
  for (const p of h.phases) marks.push({t: round1(p.time), kind: p.phase, text: PHASE_TEXT[p.phase] ?? p.phase})
  const violation = violationView(h)
  if (violation?.stuck) marks.push({t: violation.stuck.invoke, kind: 'violation', text: `violation: #${violation.stuck.id} cannot be placed`})

  return {
    kind: 'check',
    title: `raftctl check — seed ${num(meta.seed) ?? '?'}`,
    settings: settingsOf(meta, source, ops.length),
    verdicts: verdictsOf(h, endMs),
    counts: OP_NAMES.map((op) => {
      const c = {op, ok: 0, failed: 0, indeterminate: 0}
      for (const o of ops) if (o.op === op) c[o.status]++
      return c
    }),
    endMs,
    bands,
    marks,
    latency: latencyOf(ops, endMs),
    throughput: throughputOf(ops, endMs),
    leader: leaderOf(h),
    clients: clientLanes(ops, num(meta.clients)),
    faults: bands.map((b) => ({from: b.from, to: b.to, kind: b.kind, text: b.text, ...(b.error ? {error: b.error} : {})})),
    violation,
  }
}

function settingsOf(meta: Record<string, unknown>, source: string, ops: number): [string, string][] {
  const out: [string, string][] = []
  const add = (k: string, v: unknown) => {
    if (v !== undefined && v !== null) out.push([k, Array.isArray(v) ? v.join(', ') || 'none' : String(v)])
  }
  add('seed', meta.seed)
  add('started', meta.started)
  add('nodes', meta.nodes)
  add('clients', meta.clients)
  add('keys', meta.keys)
  add('faults', meta.faults)
  add('duration', num(meta.durationMs) !== undefined ? `${meta.durationMs} ms of faults` : undefined)
  add('quiet period', num(meta.quietMs) !== undefined ? `${meta.quietMs} ms` : undefined)
  add('op timeout', num(meta.opTimeoutMs) !== undefined ? `${meta.opTimeoutMs} ms` : undefined)
  if (typeof meta.mutant === 'string') add('replicas', `TEST ONLY --mutant ${meta.mutant}`)
  else if (meta.unsafeStaleReads === true) add('replicas', 'TEST ONLY --unsafe-stale-reads (reads without ReadIndex)')
  add('operations', ops)
  add('history', source)
  return out
}

function verdictsOf(h: ParsedHistory, endMs: number): Verdict[] {
  const v = h.verdict
  const out: Verdict[] = []
  const checked = num(v?.checkedOps)
  if (v === null) {
    out.push({name: 'linearizability', result: 'n/a', text: 'the run did not finish: the history has no verdict line'})
  } else if (v.verdict === 'linearizable') {
    out.push({name: 'linearizability', result: 'pass', text: `linearizable: ${checked ?? '?'} ops checked`})
  } else {
    const viol = v.violation as {key?: string; reason?: string} | undefined
    out.push({
      name: 'linearizability',
      result: v.verdict === 'undecided' ? 'undecided' : 'fail',
      text: `${v.verdict === 'undecided' ? 'undecided' : 'NOT linearizable'} on key ${viol?.key ?? '?'}: ${viol?.reason ?? ''}`,
    })
  }
  const liveness = v?.liveness as {result?: string; text?: string} | undefined
  if (liveness && typeof liveness.result === 'string') {
    out.push({name: 'liveness', result: verdictResult(liveness.result), text: liveness.text ?? ''})
  } else {
    out.push(quietLiveness(h))
  }
  const gap = longestGap(h.ops, endMs)
  out.push({
    name: 'availability',
    result: 'n/a',
    text: gap ? `longest time without a successful op: ${round1(gap.ms)} ms (from ${round1(gap.from)} ms)` : 'no successful op',
  })
  const durability = v?.durability as {result?: string; text?: string} | undefined
  out.push(
    durability && typeof durability.result === 'string'
      ? {name: 'durability', result: verdictResult(durability.result), text: durability.text ?? ''}
      : {
          name: 'durability',
          result: 'n/a',
          text: 'not checked on its own: an acknowledged write that was lost makes a later read unplaceable, a linearizability violation',
        },
  )
  return out
}

function verdictResult(r: string): Verdict['result'] {
  return r === 'pass' || r === 'fail' || r === 'undecided' ? r : 'n/a'
}

/** Histories without a liveness verdict (older runs): did clients succeed after the final heal? */
function quietLiveness(h: ParsedHistory): Verdict {
  const quiet = h.phases.find((p) => p.phase === 'quiet')?.time ?? num(h.meta?.durationMs)
  if (quiet === undefined) return {name: 'liveness', result: 'n/a', text: 'no quiet period recorded'}
  const after = h.ops.filter((o) => o.status === 'ok' && o.complete >= quiet)
  const first = after.length > 0 ? -maxOf(after.map((o) => -o.complete)) - quiet : null
  return after.length > 0
    ? {name: 'liveness', result: 'pass', text: `${after.length} ops succeeded after the final heal, the first ${round1(first!)} ms into the quiet period`}
    : {name: 'liveness', result: h.verdict === null ? 'n/a' : 'fail', text: 'no operation succeeded after the final heal'}
}

/** The longest stretch of the run with no op completing successfully. */
export function longestGap(ops: readonly OpRecord[], endMs: number): {from: number; ms: number} | null {
  const times = ops
    .filter((o) => o.status === 'ok')
    .map((o) => o.complete)
    .sort((a, b) => a - b)
  if (times.length === 0) return null
  let best = {from: 0, ms: times[0]!}
  for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! > best.ms) best = {from: times[i - 1]!, ms: times[i]! - times[i - 1]!}
  if (endMs - times.at(-1)! > best.ms) best = {from: times.at(-1)!, ms: endMs - times.at(-1)!}
  return best
}

function latencyOf(ops: readonly OpRecord[], endMs: number): CheckView['latency'] {
  const series: LatencySeries[] = []
  let shown = 0
  for (const op of OP_NAMES) {
    for (const status of OP_STATUSES) {
      const mine = ops.filter((o) => o.op === op && o.status === status)
      if (mine.length === 0) continue
      const xs = mine.map((o) => o.invoke)
      const ys = mine.map((o) => o.complete - o.invoke)
      const keep = thinScatter(xs, ys, LATENCY_BUDGET[status], endMs)
      series.push({op, status, xs: keep.map((i) => round1(xs[i]!)), ys: keep.map((i) => round2(ys[i]!)), total: mine.length})
      shown += keep.length
    }
  }
  return {series, shown, total: ops.length}
}

function throughputOf(ops: readonly OpRecord[], endMs: number): CheckView['throughput'] {
  const binMs = binWidthFor(endMs)
  const perSec = (counts: number[]) => counts.map((c) => round1((c * 1000) / binMs))
  const at = (pred: (o: OpRecord) => boolean) =>
    binCounts(
      ops.filter(pred).map((o) => o.complete),
      binMs,
      endMs,
    )
  const series = [
    ...OP_NAMES.map((op) => ({name: `${op} ok`, ys: perSec(at((o) => o.op === op && o.status === 'ok'))})),
    {name: 'failed', ys: perSec(at((o) => o.status === 'failed'))},
    {name: 'indeterminate', ys: perSec(at((o) => o.status === 'indeterminate'))},
  ]
  return {binMs, xs: series[0]!.ys.map((_, i) => i * binMs), series}
}

function leaderOf(h: ParsedHistory): CheckView['leader'] {
  const xs: number[] = []
  const leader: (number | null)[] = []
  const term: (number | null)[] = []
  let nodes = num(h.meta?.nodes) ?? 0
  for (const s of [...h.statuses].sort((a, b) => a.time - b.time)) {
    const terms = s.nodes.filter((n) => n !== null).map((n) => n!.term)
    nodes = Math.max(nodes, s.nodes.length)
    xs.push(round1(s.time))
    leader.push(s.leader)
    term.push(s.term ?? (terms.length > 0 ? Math.max(...terms) : null))
  }
  return {xs, leader, term, nodes}
}

const STATUS_CODE: Record<OpStatus, number> = {ok: 0, failed: 1, indeterminate: 2}

/**
 * One lane per client. Consecutive quick ops with the same outcome merge into one segment (a
 * closed-loop client's ops tile its lane); slow ops, and indeterminate ones, stay single and keep
 * a text for the tooltip. If that is still over budget, quick ops merge whatever their outcome.
 */
export function clientLanes(ops: readonly OpRecord[], clients?: number): CheckView['clients'] {
  const n = Math.max(
    clients ?? 0,
    maxOf(
      ops.map((o) => o.client + 1),
      0,
    ),
  )
  const byClient: OpRecord[][] = Array.from({length: n}, () => [])
  for (const o of ops) byClient[o.client]?.push(o)
  for (const list of byClient) list.sort((a, b) => a.invoke - b.invoke)
  for (const slowMs of [SLOW_OP_MS, SLOW_OP_MS * 4, Infinity]) {
    const details: string[] = []
    let merged = 0
    const lanes = byClient.map((list, client) => {
      const segs: number[] = []
      let cur: number[] | null = null
      for (const o of list) {
        const code = STATUS_CODE[o.status]
        const single = o.status === 'indeterminate' || o.complete - o.invoke > slowMs
        if (!single && cur && cur[2] === code && cur[4] === -1) {
          cur[1] = Math.max(cur[1]!, o.complete)
          cur[3]!++
          merged++
          continue
        }
        if (cur) segs.push(...cur)
        let detail = -1
        if (single && details.length < DETAIL_BUDGET) {
          detail = details.length
          details.push(opText(o))
        }
        cur = [o.invoke, o.complete, code, 1, detail]
      }
      if (cur) segs.push(...cur)
      return {client, segs: segs.map((x, i) => (i % 5 < 2 ? round1(x) : x))}
    })
    const total = lanes.reduce((s, l) => s + l.segs.length / 5, 0)
    if (total <= SEGMENT_BUDGET || slowMs === Infinity) return {lanes, details, merged}
  }
  throw new Error('unreachable')
}

/** A short label of an op's call and result, as drawn on a bar. */
export function opLabel(o: OpRecord): string {
  const mark = o.status === 'indeterminate' ? '?' : o.status === 'failed' ? ' ✗' : ''
  switch (o.op) {
    case 'get':
      return o.status === 'ok' ? `get ${o.value ?? '∅'}` : `get${mark}`
    case 'put':
      return `put ${o.value}${mark}`
    case 'cas':
      return `cas ${o.expected}→${o.value}${o.error === 'mismatch' ? ` ✗ (was ${o.current})` : mark}`
  }
}

/** One line of an op's full record, for tooltips and tables. */
export function opText(o: OpRecord): string {
  const call = o.op === 'get' ? `get(${o.key})` : o.op === 'put' ? `put(${o.key}, ${o.value})` : `cas(${o.key}, ${o.expected} → ${o.value})`
  const result =
    o.status === 'ok'
      ? o.op === 'get'
        ? `ok ${o.value ?? 'absent'}`
        : 'ok'
      : `${o.status}${o.error ? ` (${o.error}${o.current ? ` ${o.current}` : ''})` : ''}`
  return `c${o.client} #${o.id} ${call} -> ${result} [${round1(o.invoke)}..${round1(o.complete)} ms]${o.node ? ` node ${o.node}` : ''}`
}

/** Ops of the violating key drawn around it at most. */
export const VIOLATION_OPS_MAX = 48

function violationView(h: ParsedHistory): ViolationView | null {
  const v = h.verdict?.violation as
    | {
        key: string
        reason: string
        excerpt?: string[]
        nemesis?: string[]
        ops?: number[]
        detail?: {stuck: number; placed: number[]; placedCount: number; value?: string | null}
      }
    | undefined
  if (!v || typeof v.key !== 'string') return null
  const byId = new Map(h.ops.map((o) => [o.id, o]))
  // Older histories carry only text: the stuck op is the first "#id" of the reason.
  const stuckId = v.detail?.stuck ?? Number(/#(\d+)/.exec(v.reason)?.[1] ?? NaN)
  const placed = v.detail?.placed ?? [...v.reason.matchAll(/last placed: c\d+ #(\d+)/g)].map((m) => Number(m[1]))
  const excerptIds = v.ops ?? (v.excerpt ?? []).map((t) => Number(/#(\d+)/.exec(t)?.[1] ?? NaN)).filter(Number.isFinite)
  const stuckOp = byId.get(stuckId)
  const focus = [...excerptIds, ...placed, stuckId].map((id) => byId.get(id)).filter((o): o is OpRecord => o !== undefined)
  const keyOps = h.ops.filter((o) => o.key === v.key)
  // The window spans the definite ops in focus: an indeterminate op may have been invoked long
  // before (it is drawn from the left edge, open to the right).
  const definite = focus.filter((o) => o.status !== 'indeterminate')
  const span = definite.length > 0 ? definite : focus
  let from = Math.min(...span.map((o) => o.invoke))
  let to = Math.max(...span.map((o) => o.complete))
  if (!Number.isFinite(from)) {
    from = stuckOp?.invoke ?? 0
    to = stuckOp?.complete ?? from
  }
  const pad = Math.max(5, (to - from) * 0.15)
  const centre = stuckOp?.invoke ?? (from + to) / 2
  const wanted = new Set(focus.map((o) => o.id))
  const around = keyOps
    .filter((o) => o.complete >= from - pad && o.invoke <= to + pad)
    .sort((a, b) => Number(wanted.has(b.id)) - Number(wanted.has(a.id)) || Math.abs(a.invoke - centre) - Math.abs(b.invoke - centre))
    .slice(0, VIOLATION_OPS_MAX)
    .sort((a, b) => a.invoke - b.invoke || a.id - b.id)
  const order = new Map(placed.map((id, i) => [id, i + 1]))
  const view = (o: OpRecord): ViolationOp => ({
    id: o.id,
    process: o.process,
    client: o.client,
    label: opLabel(o),
    text: opText(o),
    invoke: round2(o.invoke),
    complete: o.status === 'indeterminate' ? null : round2(o.complete),
    role: o.id === stuckId ? 'stuck' : order.has(o.id) ? 'placed' : 'context',
    ...(order.has(o.id) ? {order: order.get(o.id)!} : {}),
  })
  const shown = around.map(view)
  const lo = from - pad
  const hi = to + pad
  return {
    key: v.key,
    reason: v.reason,
    stuck: stuckOp ? view(stuckOp) : null,
    value: v.detail ? v.detail.value : undefined,
    placedCount: v.detail?.placedCount ?? null,
    ops: shown,
    from: round2(lo),
    to: round2(hi),
    excerpt: v.excerpt ?? [],
    nemesis: v.nemesis ?? [],
  }
}
