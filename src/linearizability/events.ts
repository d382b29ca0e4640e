// The event list the search walks: a call per op and a return per definite op, in time order,
// as a doubly linked list from which a linearized op's call and return are lifted out (and put
// back when the search backtracks), as in Lowe's version of the Wing–Gong algorithm.
import type {EncodedKey} from './encode.js'

export const NIL = -1

export class EventList {
  /** The sentinel before the first position. */
  readonly head: number
  /** next[p], prev[p]: the neighbours of list position p (NIL at the end; head before the first). */
  readonly next: Int32Array
  readonly prev: Int32Array
  /** The op of the event at position p, and whether it is its call (else its return). */
  readonly posOp: Int32Array
  readonly posIsCall: Uint8Array
  /** Call position -> its return position (NIL for unknown ops, which never return). */
  private readonly matchPos: Int32Array

  /**
   * Events sorted by time, calls before returns on ties (so A precedes B only if A.complete <
   * B.invoke strictly). Unknown ops never return.
   */
  constructor(enc: EncodedKey) {
    const {n, nDefinite, ops} = enc
    const nEvents = n + nDefinite
    const evOp = new Int32Array(nEvents)
    const evIsCall = new Uint8Array(nEvents)
    const evTime = new Float64Array(nEvents)
    for (let i = 0; i < n; i++) {
      evOp[i] = i
      evIsCall[i] = 1
      evTime[i] = ops[i]!.invoke
    }
    for (let i = 0; i < nDefinite; i++) {
      evOp[n + i] = i
      evIsCall[n + i] = 0
      evTime[n + i] = ops[i]!.complete
    }
    const order = Array.from({length: nEvents}, (_, e) => e)
    order.sort((a, b) => evTime[a]! - evTime[b]! || evIsCall[b]! - evIsCall[a]! || evOp[a]! - evOp[b]!)

    // Doubly linked list over positions 0..nEvents-1 in sorted order; head is a sentinel.
    const head = (this.head = nEvents)
    const next = (this.next = new Int32Array(nEvents + 1))
    const prev = (this.prev = new Int32Array(nEvents + 1))
    const posOp = (this.posOp = new Int32Array(nEvents))
    const posIsCall = (this.posIsCall = new Uint8Array(nEvents))
    const matchPos = (this.matchPos = new Int32Array(nEvents).fill(NIL))
    const callPos = new Int32Array(n)
    const retPos = new Int32Array(n).fill(NIL)
    for (let p = 0; p < nEvents; p++) {
      const e = order[p]!
      posOp[p] = evOp[e]!
      posIsCall[p] = evIsCall[e]!
      if (evIsCall[e]) callPos[evOp[e]!] = p
      else retPos[evOp[e]!] = p
      next[p] = p + 1 < nEvents ? p + 1 : NIL
      prev[p] = p === 0 ? head : p - 1
    }
    next[head] = nEvents > 0 ? 0 : NIL
    prev[head] = NIL
    for (let i = 0; i < nDefinite; i++) matchPos[callPos[i]!] = retPos[i]!
  }

  /** The first position still in the list. */
  first(): number {
    return this.next[this.head]!
  }

  /** Takes the call at position p, and its return if any, out of the list. */
  lift(p: number): void {
    this.unlink(p)
    if (this.matchPos[p] !== NIL) this.unlink(this.matchPos[p]!)
  }

  /** Undoes lift(p) (the most recent lift not yet undone). */
  unlift(p: number): void {
    if (this.matchPos[p] !== NIL) this.relink(this.matchPos[p]!)
    this.relink(p)
  }

  private unlink(p: number): void {
    const {next, prev} = this
    next[prev[p]!] = next[p]!
    if (next[p] !== NIL) prev[next[p]!] = prev[p]!
  }

  private relink(p: number): void {
    const {next, prev} = this
    next[prev[p]!] = p
    if (next[p] !== NIL) prev[next[p]!] = p
  }
}
