// Failure explanation: the verdict for a key that is not linearizable (or not decided), with a
// one-line reason, a small excerpt of the key's history around the stuck op, and, for a
// violation, the detail a report draws.
import type {EncodedKey} from './encode.js'
import {ABSENT} from './encode.js'
import {fmtVal, formatOp} from './format.js'
import {byInvoke, isUnknown, type CheckResult, type HistoryOp, type ViolationDetail} from './history.js'
import type {Deepest} from './search.js'

const EXCERPT_MAX = 12

/** An op that can take effect in no order at all (see impossibleOp in encode.ts). */
export function impossibleResult(key: string, all: HistoryOp[], op: HistoryOp, why: string): CheckResult {
  return {
    ok: false,
    key,
    reason: `${why} in ${formatOp(op)}`,
    excerpt: excerptAround(all, op, []),
    detail: {stuck: op.id, placed: [], placedCount: 0, value: undefined},
  }
}

/** The search gave up after exploring more than maxStates configurations. */
export function undecidedResult(key: string, all: HistoryOp[], enc: EncodedKey, d: Deepest, maxStates: number): CheckResult {
  const focus = d.stuck >= 0 ? enc.ops[d.stuck]! : enc.ops[0]!
  return {
    ok: false,
    key,
    reason: `undecided: explored more than ${maxStates} states for key ${fmtVal(key)} (${all.length} ops) without deciding`,
    excerpt: excerptAround(
      all,
      focus,
      d.recent.map((j) => enc.ops[j]!),
    ),
  }
}

/** No order of the key's ops is consistent with real time and the register. */
export function violationResult(key: string, all: HistoryOp[], enc: EncodedKey, d: Deepest): CheckResult {
  const {ops, other, values} = enc
  const stuck = d.stuck >= 0 ? ops[d.stuck]! : ops[0]!
  const recent = d.recent.map((j) => ops[j]!)
  const stateText = d.state === ABSENT ? ' absent' : d.state === other ? ' holding a value no op reads' : `=${fmtVal(values[d.state]!)}`
  const last = recent.length > 0 ? `; last placed: ${formatOp(recent[recent.length - 1]!)}` : ''
  const reason =
    `not linearizable: ${formatOp(stuck)} cannot take effect in any order consistent with real time ` +
    `(deepest partial order placed ${d.depth} of ${enc.n} ops, leaving ${fmtVal(key)}${stateText}${last})`
  const detail: ViolationDetail = {
    stuck: stuck.id,
    placed: d.placed.map((j) => ops[j]!.id),
    placedCount: Math.max(0, d.depth),
    value: d.state === ABSENT ? null : d.state === other ? undefined : values[d.state]!,
  }
  return {ok: false, key, reason, excerpt: excerptAround(all, stuck, recent), detail}
}

/**
 * A small window of the key's history around `focus`, at most EXCERPT_MAX ops sorted by invoke:
 * the focus op, the last ops of the deepest partial linearization, definite ops concurrent with the
 * focus (nearest first), a few unknown ops invoked before it ends (latest first), then definite ops
 * that completed just before it, then any other unknown ops.
 */
function excerptAround(all: HistoryOp[], focus: HistoryOp, recent: HistoryOp[]): HistoryOp[] {
  const picked = new Set<HistoryOp>([focus])
  const add = (h: HistoryOp): void => {
    if (picked.size < EXCERPT_MAX) picked.add(h)
  }
  for (let i = recent.length - 1; i >= 0; i--) add(recent[i]!)
  const lo = focus.invoke
  const hi = isUnknown(focus) ? Infinity : focus.complete
  const others = all.filter((h) => h !== focus)
  const definite = others.filter((h) => !isUnknown(h))
  const unknown = others.filter((h) => isUnknown(h) && h.invoke <= hi).sort((a, b) => b.invoke - a.invoke || b.id - a.id)
  definite
    .filter((h) => h.invoke <= hi && h.complete >= lo)
    .sort((a, b) => Math.abs(a.invoke - lo) - Math.abs(b.invoke - lo) || a.id - b.id)
    .forEach(add)
  unknown.slice(0, 3).forEach(add)
  definite
    .filter((h) => h.complete < lo)
    .sort((a, b) => b.complete - a.complete || b.id - a.id)
    .forEach(add)
  unknown.forEach(add)
  return [...picked].sort(byInvoke)
}
