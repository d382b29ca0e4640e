// The search for one key: Wing–Gong/Lowe depth-first search over the event list, linearizing a
// call, lifting it out of the list, backtracking when a return is reached whose op was not
// linearized; every configuration is remembered so that none is explored twice.
import {ABSENT, INVALID, type EncodedKey} from './encode.js'
import {EventList, NIL} from './events.js'
import {LinearizedSet, Memo} from './memo.js'

/** How many ops of the deepest partial linearization a violation lists. */
export const PLACED_MAX = 24

/** How many of them the failure explanation shows in its excerpt. */
const RECENT_MAX = 4

/** runStart when no run of unknown ops is open. */
const NO_RUN = -2

/** The furthest point the search reached: where it got stuck, and the partial order behind it. */
export interface Deepest {
  /** The op (index into the encoded ops) whose return could not be passed; -1 if none was reached. */
  stuck: number
  /** How many ops the deepest partial linearization placed; -1 if none was reached. */
  depth: number
  /** The state after it (an interned value, see encode.ts). */
  state: number
  /** Its last (at most RECENT_MAX) ops, in linearization order. */
  recent: number[]
  /** Its last (at most PLACED_MAX) ops, in linearization order. */
  placed: number[]
}

export type SearchOutcome =
  | {verdict: 'linearizable'}
  /** No order exists, or (undecided) more than maxStates configurations were explored first. */
  | {verdict: 'violation' | 'undecided'; deepest: Deepest}

/** Searches for a linearization of the key's definite ops (and whichever unknown ones help). */
export function search(enc: EncodedKey, maxStates: number): SearchOutcome {
  const {n, nDefinite, readOnly, classOf, classRank} = enc
  const events = new EventList(enc)
  const {next, posOp, posIsCall} = events
  const set = new LinearizedSet(enc)
  const memo = new Memo(set, enc.fungibleClasses)
  const {classUsed} = set

  const stackPos = new Int32Array(n)
  const stackState = new Int32Array(n)
  const stackForced = new Uint8Array(n)
  const stackRun = new Int32Array(n)
  let depth = 0
  let state: number = ABSENT
  // Unknown ops are only ever linearized in runs directly before a definite op that could not take
  // effect without the run (runStart: the state before the current run of unknown ops, or NO_RUN).
  // Any linearization can be brought to that shape: delay each unknown op to just before the next
  // definite one (or drop it if there is none); a run the next definite op does not need either
  // leaves the state unchanged or precedes a blind write (put, del), so it can be dropped.
  let runStart = NO_RUN
  /** May definite op i be linearized next, given the current run of unknown ops? */
  const runNeeded = (i: number): boolean => runStart === NO_RUN || enc.step(runStart, i) === INVALID
  let remainingReturns = nDefinite

  /** Linearizes the call at list position p, giving state ns; false if that configuration was seen. */
  const push = (p: number, ns: number, forced: boolean): boolean => {
    const i = posOp[p]!
    const unknown = i >= nDefinite
    set.add(i)
    const rs = unknown ? (runStart === NO_RUN ? state : runStart) : NO_RUN
    if (!memo.remember(ns, rs)) {
      set.remove(i)
      return false
    }
    stackPos[depth] = p
    stackState[depth] = state
    stackRun[depth] = runStart
    stackForced[depth] = forced ? 1 : 0
    depth++
    state = ns
    runStart = rs
    if (!unknown) remainingReturns--
    events.lift(p)
    return true
  }
  /** Undoes the most recent push; returns its list position. */
  const pop = (): number => {
    depth--
    const p = stackPos[depth]!
    const i = posOp[p]!
    state = stackState[depth]!
    runStart = stackRun[depth]!
    set.remove(i)
    if (i < nDefinite) remainingReturns++
    events.unlift(p)
    return p
  }

  // Deepest point reached: furthest return event (in time order) at which the search got stuck.
  let bestRet = -1
  let bestDepth = -1
  let bestState = ABSENT
  let bestRecent: number[] = []
  let bestPlaced: number[] = []
  const deepest = (): Deepest => ({
    stuck: bestRet >= 0 ? posOp[bestRet]! : -1,
    depth: bestDepth,
    state: bestState,
    recent: bestRecent,
    placed: bestPlaced,
  })

  let entry = events.first()
  let fresh = true // just entered a new configuration
  let dead = false // the current configuration has no completion
  while (remainingReturns > 0) {
    if (memo.explored > maxStates) return {verdict: 'undecided', deepest: deepest()}
    if (fresh) {
      fresh = false
      entry = events.first()
      // A definite read-only op (one that never changes the state: a get, a failed cas or del) that
      // can take effect now may as well go first: moving it to the front of any completion keeps
      // that completion valid. So commit to it, with no alternatives to explore.
      let forcedPos = NIL
      for (let p = entry; p !== NIL && posIsCall[p]; p = next[p]!) {
        const i = posOp[p]!
        if (readOnly[i] && enc.step(state, i) === state && runNeeded(i)) {
          forcedPos = p
          break
        }
      }
      if (forcedPos !== NIL) {
        if (push(forcedPos, state, true)) {
          fresh = true
          continue
        }
        dead = true
      }
    }
    if (!dead) {
      if (posIsCall[entry]) {
        const i = posOp[entry]!
        const ns = enc.step(state, i)
        // An unknown op that would change nothing is never worth linearizing: leaving it out yields
        // an equally valid order. (Eligible read-only ops were handled above.)
        const allowed = i < nDefinite ? runNeeded(i) : ns !== state && classRank[i] === classUsed[classOf[i]!]
        if (ns !== INVALID && allowed && push(entry, ns, false)) {
          fresh = true
          continue
        }
        entry = next[entry]!
        continue
      }
      // A return event: its op has not been linearized and cannot be deferred past its return.
      if (entry > bestRet || (entry === bestRet && depth > bestDepth)) {
        bestRet = entry
        bestDepth = depth
        bestState = state
        bestRecent = []
        for (let d = Math.max(0, depth - RECENT_MAX); d < depth; d++) bestRecent.push(posOp[stackPos[d]!]!)
        bestPlaced = []
        for (let d = Math.max(0, depth - PLACED_MAX); d < depth; d++) bestPlaced.push(posOp[stackPos[d]!]!)
      }
    }
    // Backtrack: undo forced steps (their configuration is dead too) up to the last free choice,
    // and try the alternatives after it.
    dead = false
    let resumed = false
    while (depth > 0) {
      const forced = stackForced[depth - 1] === 1
      const p = pop()
      if (!forced) {
        entry = next[p]!
        resumed = true
        break
      }
    }
    if (!resumed) break
  }
  return remainingReturns === 0 ? {verdict: 'linearizable'} : {verdict: 'violation', deepest: deepest()}
}
