// The checker's entry point: validates the history, splits it by key and checks each key in
// turn — static checks, encoding, search, and the explanation of a failure.
import {EncodedKey, impossibleOp} from './encode.js'
import {impossibleResult, undecidedResult, violationResult} from './explain.js'
import type {CheckResult, HistoryOp} from './history.js'
import {search} from './search.js'

/** Default bound on explored (linearized-set, state) configurations, per key. */
export const DEFAULT_MAX_STATES = 2_000_000

/**
 * Checks that `history` is linearizable with respect to a map of independent registers.
 * Keys are checked one by one (in order of first appearance); the first violating key is reported.
 * If a key exhausts `maxStates` explored configurations (per key) the search for it is abandoned:
 * other keys are still checked and a definite violation elsewhere is preferred, otherwise the result
 * is ok:false with a reason starting 'undecided:'.
 * Throws a TypeError on malformed input (duplicate ids, NaN times, complete < invoke for a definite op).
 */
export function checkLinearizable(history: HistoryOp[], opts?: {maxStates?: number}): CheckResult {
  const maxStates = opts?.maxStates ?? DEFAULT_MAX_STATES
  const byKey = new Map<string, HistoryOp[]>()
  const ids = new Set<number>()
  for (const h of history) {
    validate(h, ids)
    let list = byKey.get(h.op.key)
    if (list === undefined) byKey.set(h.op.key, (list = []))
    list.push(h)
  }
  let undecided: CheckResult | undefined
  for (const [key, ops] of byKey) {
    const r = checkKey(key, ops, maxStates)
    if (r.ok) continue
    if (!r.reason.startsWith('undecided:')) return r
    undecided ??= r
  }
  return undecided ?? {ok: true, keys: byKey.size, ops: history.length}
}

function validate(h: HistoryOp, ids: Set<number>): void {
  if (ids.has(h.id)) throw new TypeError(`linearizability: duplicate op id ${h.id}`)
  ids.add(h.id)
  if (Number.isNaN(h.invoke) || Number.isNaN(h.complete)) {
    throw new TypeError(`linearizability: NaN time in op #${h.id}`)
  }
  if (h.result.status !== 'unknown' && !(h.complete >= h.invoke)) {
    throw new TypeError(`linearizability: op #${h.id} completes (${h.complete}) before it is invoked (${h.invoke})`)
  }
}

function checkKey(key: string, all: HistoryOp[], maxStates: number): CheckResult {
  const impossible = impossibleOp(all)
  if (impossible !== undefined) return impossibleResult(key, all, impossible.op, impossible.why)
  const enc = new EncodedKey(all)
  if (enc.nDefinite === 0) return {ok: true, keys: 1, ops: all.length}
  const outcome = search(enc, maxStates)
  switch (outcome.verdict) {
    case 'linearizable':
      return {ok: true, keys: 1, ops: all.length}
    case 'undecided':
      return undecidedResult(key, all, enc, outcome.deepest, maxStates)
    case 'violation':
      return violationResult(key, all, enc, outcome.deepest)
  }
}
