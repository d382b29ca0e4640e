// The verdicts of a `raftctl check` run and the exit code they add up to. Linearizability (the
// history, key by key, with the simulator's checker; for a violation the excerpt around the op
// that cannot be placed), liveness (liveness.ts) and durability (durability.ts).
// Exit codes beyond the common ones: 6 not linearizable, 7 the checker undecided, 8 acknowledged
// writes lost, 9 not live. When several verdicts fail, the code is the first of 8, 6, 9, 7: a lost
// write is the most specific diagnosis (it also makes histories unlinearizable), a definite
// failure outranks "could not decide".
import {checkLinearizable, formatOp, type HistoryOp, type ViolationDetail} from '../linearizability/index.js'
import type {DurabilityVerdict} from './durability.js'
import type {NemesisRecord} from './history.js'
import type {LivenessVerdict} from './liveness.js'

export const CHECK_EXIT = {notLinearizable: 6, undecided: 7, notDurable: 8, notLive: 9} as const

export type Verdict = 'linearizable' | 'not-linearizable' | 'undecided'

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

export interface LinearizabilityVerdict {
  verdict: Verdict
  violation: Violation | null
  /** For the human rendering: ops and nemesis lines around the violation, merged by time. */
  excerptLines: string[]
  checkedOps: number
  checkMs: number
}

/** Checks the register history; for a violation, the excerpt and the nemesis actions around it. */
export function judgeLinearizability(history: HistoryOp[], nemesisLog: readonly NemesisRecord[], maxStates?: number): LinearizabilityVerdict {
  const started = performance.now()
  const result = checkLinearizable(history, maxStates !== undefined ? {maxStates} : undefined)
  const checkMs = Math.round(performance.now() - started)
  if (result.ok) return {verdict: 'linearizable', violation: null, excerptLines: [], checkedOps: history.length, checkMs}
  const around = nemesisAround(result.excerpt, nemesisLog)
  const violation: Violation = {
    key: result.key,
    reason: result.reason,
    excerpt: result.excerpt.map(formatOp),
    nemesis: around.map(formatNemesis),
    ops: result.excerpt.map((h) => h.id),
    ...(result.detail ? {detail: result.detail} : {}),
  }
  return {
    verdict: result.reason.startsWith('undecided:') ? 'undecided' : 'not-linearizable',
    violation,
    excerptLines: mergeByTime(result.excerpt, around),
    checkedOps: history.length,
    checkMs,
  }
}

/** The exit code of the verdicts together (see the header for the order). */
export function exitCodeOf(lin: Verdict, liveness: LivenessVerdict, durability: DurabilityVerdict): number {
  if (durability.result === 'fail') return CHECK_EXIT.notDurable
  if (lin === 'not-linearizable') return CHECK_EXIT.notLinearizable
  if (liveness.result === 'fail') return CHECK_EXIT.notLive
  if (lin === 'undecided') return CHECK_EXIT.undecided
  return 0
}

export function formatNemesis(r: NemesisRecord): string {
  return `nemesis ${r.text} [${r.time}]`
}

/** Nemesis actions from just before the excerpt's first op to its last completion. */
export function nemesisAround(excerpt: HistoryOp[], log: readonly NemesisRecord[]): NemesisRecord[] {
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
