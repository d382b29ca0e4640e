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

/** What backtrack() returns when no choice is left to undo (NIL is a list position's end). */
const EXHAUSTED = -2

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
  return new KeySearch(enc).run(maxStates)
}

/**
 * One search's state: the event list with the linearized calls lifted out, the stack of choices
 * (list position, the state and run before it, whether it was forced), and the deepest point.
 */
class KeySearch {
  private readonly events: EventList
  private readonly set: LinearizedSet
  private readonly memo: Memo
  private readonly stackPos: Int32Array
  private readonly stackState: Int32Array
  private readonly stackForced: Uint8Array
  private readonly stackRun: Int32Array
  private depth = 0
  private state: number = ABSENT
  // Unknown ops are only ever linearized in runs directly before a definite op that could not take
  // effect without the run (runStart: the state before the current run of unknown ops, or NO_RUN).
  // Any linearization can be brought to that shape: delay each unknown op to just before the next
  // definite one (or drop it if there is none); a run the next definite op does not need either
  // leaves the state unchanged or precedes a blind write (put, del), so it can be dropped.
  private runStart = NO_RUN
  private remainingReturns: number
  // Deepest point reached: furthest return event (in time order) at which the search got stuck.
  private bestRet = -1
  private bestDepth = -1
  private bestState = ABSENT
  private bestRecent: number[] = []
  private bestPlaced: number[] = []

  constructor(private readonly enc: EncodedKey) {
    this.events = new EventList(enc)
    this.set = new LinearizedSet(enc)
    this.memo = new Memo(this.set, enc.fungibleClasses)
    this.stackPos = new Int32Array(enc.n)
    this.stackState = new Int32Array(enc.n)
    this.stackForced = new Uint8Array(enc.n)
    this.stackRun = new Int32Array(enc.n)
    this.remainingReturns = enc.nDefinite
  }

  run(maxStates: number): SearchOutcome {
    const {next, posOp, posIsCall} = this.events
    const {nDefinite, classOf, classRank} = this.enc
    const {classUsed} = this.set
    let entry = this.events.first()
    let fresh = true // just entered a new configuration
    while (this.remainingReturns > 0) {
      if (this.memo.explored > maxStates) return {verdict: 'undecided', deepest: this.deepest()}
      let dead = false // the current configuration has no completion
      if (fresh) {
        fresh = false
        entry = this.events.first()
        const forced = this.forcedCall(entry)
        if (forced !== NIL) {
          if (this.push(forced, this.state, true)) {
            fresh = true
            continue
          }
          dead = true
        }
      }
      if (!dead) {
        if (posIsCall[entry]) {
          const i = posOp[entry]!
          const ns = this.enc.step(this.state, i)
          // An unknown op that would change nothing is never worth linearizing: leaving it out yields
          // an equally valid order. (Eligible read-only ops were handled by forcedCall.)
          const allowed = i < nDefinite ? this.runNeeded(i) : ns !== this.state && classRank[i] === classUsed[classOf[i]!]
          if (ns !== INVALID && allowed && this.push(entry, ns, false)) {
            fresh = true
            continue
          }
          entry = next[entry]!
          continue
        }
        // A return event: its op has not been linearized and cannot be deferred past its return.
        this.noteStuck(entry)
      }
      const resumed = this.backtrack()
      if (resumed === EXHAUSTED) break
      entry = resumed
    }
    return this.remainingReturns === 0 ? {verdict: 'linearizable'} : {verdict: 'violation', deepest: this.deepest()}
  }

  /** May definite op i be linearized next, given the current run of unknown ops? */
  private runNeeded(i: number): boolean {
    return this.runStart === NO_RUN || this.enc.step(this.runStart, i) === INVALID
  }

  /**
   * A definite read-only op (one that never changes the state: a get, a failed cas or del) that
   * can take effect now may as well go first: moving it to the front of any completion keeps that
   * completion valid. Returns the list position of the first such call from `entry`, or NIL.
   */
  private forcedCall(entry: number): number {
    const {next, posOp, posIsCall} = this.events
    for (let p = entry; p !== NIL && posIsCall[p]; p = next[p]!) {
      const i = posOp[p]!
      if (this.enc.readOnly[i] && this.enc.step(this.state, i) === this.state && this.runNeeded(i)) return p
    }
    return NIL
  }

  /** Linearizes the call at list position p, giving state ns; false if that configuration was seen. */
  private push(p: number, ns: number, forced: boolean): boolean {
    const i = this.events.posOp[p]!
    const unknown = i >= this.enc.nDefinite
    this.set.add(i)
    const rs = unknown ? (this.runStart === NO_RUN ? this.state : this.runStart) : NO_RUN
    if (!this.memo.remember(ns, rs)) {
      this.set.remove(i)
      return false
    }
    const d = this.depth++
    this.stackPos[d] = p
    this.stackState[d] = this.state
    this.stackRun[d] = this.runStart
    this.stackForced[d] = forced ? 1 : 0
    this.state = ns
    this.runStart = rs
    if (!unknown) this.remainingReturns--
    this.events.lift(p)
    return true
  }

  /** Undoes the most recent push; returns its list position. */
  private pop(): number {
    const d = --this.depth
    const p = this.stackPos[d]!
    const i = this.events.posOp[p]!
    this.state = this.stackState[d]!
    this.runStart = this.stackRun[d]!
    this.set.remove(i)
    if (i < this.enc.nDefinite) this.remainingReturns++
    this.events.unlift(p)
    return p
  }

  /**
   * Undoes forced steps (their configuration is dead too) up to the last free choice; returns the
   * list position to try next (the alternative after that choice), or EXHAUSTED when none is left.
   */
  private backtrack(): number {
    while (this.depth > 0) {
      const forced = this.stackForced[this.depth - 1] === 1
      const p = this.pop()
      if (!forced) return this.events.next[p]!
    }
    return EXHAUSTED
  }

  /** Remembers the return at list position `ret` if it is the furthest the search got stuck at. */
  private noteStuck(ret: number): void {
    if (ret < this.bestRet || (ret === this.bestRet && this.depth <= this.bestDepth)) return
    this.bestRet = ret
    this.bestDepth = this.depth
    this.bestState = this.state
    this.bestRecent = this.lastPlaced(RECENT_MAX)
    this.bestPlaced = this.lastPlaced(PLACED_MAX)
  }

  /** The ops of the last (at most `max`) steps on the stack, in linearization order. */
  private lastPlaced(max: number): number[] {
    const out: number[] = []
    for (let d = Math.max(0, this.depth - max); d < this.depth; d++) out.push(this.events.posOp[this.stackPos[d]!]!)
    return out
  }

  private deepest(): Deepest {
    return {
      stuck: this.bestRet >= 0 ? this.events.posOp[this.bestRet]! : -1,
      depth: this.bestDepth,
      state: this.bestState,
      recent: this.bestRecent,
      placed: this.bestPlaced,
    }
  }
}
