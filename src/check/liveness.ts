// The liveness verdict of `raftctl check`, from what the run recorded (pure: no I/O, no clocks):
// - after the final heal: a leader within a few election timeouts (settleMs), the same leader in
//   the same term until the quiet period ends, and every roaming client completing a write in it;
// - during a partition in which some majority is fully connected (a bridge, the tethered shape,
//   one-way cuts, a deaf node, an isolated node or a minority cut off) held long enough: once the
//   cluster has settled, one leader that stays — no further election — and writes that complete;
// - during a stalled disk: once settled, writes complete (a stalled leader must not keep the
//   cluster stuck).
// With PreVote and CheckQuorum off (the test-only `no-prevote-checkquorum` mode) a tethered
// partition of 5 nodes livelocks — every leader is disturbed by a tethered node that cannot hear
// it — and this verdict fails: the negative control.
import type {NodeId} from '../core/types.js'
import {fullyConnectedMajority} from '../sim/partitions.js'
import {LinkFilter} from '../transport/link-filter.js'
import type {OpRecord, StatusRecord} from './history.js'
import type {FaultWindow} from './nemesis.js'
import {STALL_MS} from './plan.js'

/** A fault window is judged only if, after settling, this much of it is left to watch. */
export const MIN_WATCH_MS = 1000

export interface LivenessInput {
  nodeIds: readonly NodeId[]
  settleMs: number
  statuses: readonly StatusRecord['status'][]
  ops: readonly OpRecord[]
  windows: readonly FaultWindow[]
  /** When the final heal was done (everything repaired), and the quiet period's bounds. */
  healedAt: number | null
  quiet: {from: number; to: number} | null
  /** The roaming clients (0..clients-1), each of which must write in the quiet period. */
  clients: number
}

export interface LivenessProblem {
  /** What was judged: 'final' (after the final heal) or the fault's text. */
  what: string
  from: number
  to: number
  text: string
}

export interface LivenessVerdict {
  result: 'pass' | 'fail' | 'n/a'
  text: string
  /** Fault windows judged (each must keep a leader / make progress). */
  windowsJudged: number
  problems: LivenessProblem[]
}

export function judgeLiveness(i: LivenessInput): LivenessVerdict {
  const problems: LivenessProblem[] = []
  let judged = 0
  for (const w of i.windows) {
    const claim = windowClaim(w, i.nodeIds)
    if (claim === null || w.to === null) continue
    const from = w.from + i.settleMs
    if (w.to - from < MIN_WATCH_MS) continue
    judged++
    const p = claim === 'stable-leader' ? stableLeaderProblem(i, from, w.to) : progressProblem(i.ops, from, w.to)
    if (p) problems.push({what: w.fault.text, from: round(from), to: round(w.to), text: p})
  }
  const final = finalProblem(i)
  if (final) problems.push(final)
  const finalJudged = i.quiet !== null && i.healedAt !== null
  if (!finalJudged && judged === 0) return {result: 'n/a', text: 'nothing to judge (no quiet period)', windowsJudged: 0, problems}
  if (problems.length > 0) {
    const first = problems[0]!
    return {
      result: 'fail',
      text: `${first.what === 'final' ? 'after the final heal' : `during ${first.what}`}: ${first.text}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      windowsJudged: judged,
      problems,
    }
  }
  const parts = [finalJudged ? 'a stable leader after the final heal and every client wrote' : 'no quiet period']
  if (judged > 0) parts.push(`a leader stayed / writes went on during ${judged} fault(s) with a connected majority`)
  return {result: 'pass', text: parts.join('; '), windowsJudged: judged, problems}
}

/**
 * What a fault promises: a partition with a fully connected majority keeps one leader once
 * settled; a stalled disk (on one node) keeps writes going. Other faults promise nothing here.
 */
export function windowClaim(w: FaultWindow, nodeIds: readonly NodeId[]): 'stable-leader' | 'progress' | null {
  const f = w.fault
  if (f.type === 'slow-disk') return f.fsyncDelayMs >= STALL_MS ? 'progress' : null
  if (f.type !== 'partition') return null
  const filter = new LinkFilter(f.rules)
  return fullyConnectedMajority(nodeIds, (a, b) => filter.allows(a, b)) !== null ? 'stable-leader' : null
}

/** Leaders (node and term) and the highest term any node reports, per sample in [from, to). */
function leadership(statuses: readonly StatusRecord['status'][], from: number, to: number): {leaders: Set<string>; terms: Set<number>; samples: number} {
  const leaders = new Set<string>()
  const terms = new Set<number>()
  let samples = 0
  for (const s of statuses) {
    if (s.time < from || s.time >= to) continue
    samples++
    if (s.leader !== null) leaders.add(`${s.leader}@${s.term}`)
    const top = Math.max(...s.nodes.map((n) => (n ? n.term : -1)))
    if (top >= 0) terms.add(top)
  }
  return {leaders, terms, samples}
}

function stableLeaderProblem(i: LivenessInput, from: number, to: number): string | null {
  const l = leadership(i.statuses, from, to)
  if (l.samples === 0) return null
  if (l.leaders.size === 0) return `no leader in the ${round(to - from)} ms after it settled`
  if (l.leaders.size > 1 || l.terms.size > 1) {
    const ts = [...l.terms].sort((a, b) => a - b)
    return `the leader did not stay: ${l.leaders.size} leader(s), terms ${ts[0]}..${ts[ts.length - 1]} in the ${round(to - from)} ms after it settled`
  }
  return progressProblem(i.ops, from, to)
}

function progressProblem(ops: readonly OpRecord[], from: number, to: number): string | null {
  const wrote = ops.some((o) => o.status === 'ok' && (o.op === 'put' || o.op === 'cas') && o.complete >= from && o.complete < to)
  return wrote ? null : `no write completed in the ${round(to - from)} ms after it settled`
}

/** The shortest quiet period in which every client must complete a write. */
export const MIN_QUIET_MS = 500

function finalProblem(i: LivenessInput): LivenessProblem | null {
  if (i.quiet === null || i.healedAt === null) return null
  const {from, to} = i.quiet
  const problem = (text: string): LivenessProblem => ({what: 'final', from: round(i.healedAt!), to: round(to), text})
  const first = i.statuses.find((s) => s.time >= i.healedAt! && s.leader !== null)
  if (!first || first.time > i.healedAt + i.settleMs) return problem(`no leader within ${i.settleMs} ms`)
  const l = leadership(i.statuses, first.time, to)
  if (l.leaders.size > 1 || l.terms.size > 1) return problem(`the leader changed ${l.leaders.size - 1} time(s) after the first one was elected`)
  // A quiet period too short for a round trip under load (--quiet-period 0) asks nothing of the clients.
  if (to - from < MIN_QUIET_MS) return null
  const wrote = new Set<number>()
  for (const o of i.ops) {
    if (o.status === 'ok' && (o.op === 'put' || o.op === 'cas') && o.complete >= from && o.complete <= to && o.client < i.clients) wrote.add(o.client)
  }
  const idle = Array.from({length: i.clients}, (_, c) => c).filter((c) => !wrote.has(c))
  if (idle.length > 0) return problem(`client(s) ${idle.join(', ')} completed no write in the quiet period`)
  return null
}

function round(ms: number): number {
  return Math.round(ms)
}
