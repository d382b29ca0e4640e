// The leader's view of one follower (etcd's tracker.Progress) and the flow control of its
// AppendEntries: probe (one message at a time until the match point is known), replicate
// (pipelined, at most maxInflight unacknowledged), snapshot (waiting for an InstallSnapshot to be
// answered). Every state change goes through become*(); the match point only grows.
import type {NodeId} from './types.js'

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** The last index of each AppendEntries in flight, oldest first, in a fixed-size ring. */
export class Inflights {
  private readonly buf: number[]
  private start = 0
  private n = 0

  constructor(readonly capacity: number) {
    this.buf = new Array<number>(capacity).fill(0)
  }

  get count(): number {
    return this.n
  }

  full(): boolean {
    return this.n >= this.capacity
  }

  add(last: number): void {
    this.buf[(this.start + this.n) % this.capacity] = last
    this.n++
  }

  /** Frees every message whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.n > 0 && this.buf[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity
      this.n--
    }
  }

  reset(): void {
    this.start = 0
    this.n = 0
  }
}

export class Progress {
  matchIndex = 0
  nextIndex: number
  state: ProgressState = 'probe'
  /** probe: an AppendEntries is out and unanswered; wait for its answer or the next heartbeat. */
  probeSent = false
  readonly inflights: Inflights
  /** snapshot: the index of the snapshot being sent, and ticks since it was sent. */
  pendingSnapshot = 0
  snapshotTicks = 0
  /** replicate: ticks since matchIndex last advanced while AppendEntries were in flight. */
  stallTicks = 0
  /** Heard from since the last CheckQuorum round. */
  recentActive = false
  /** Leader ticks since it was last heard from (the strict reconfiguration check). */
  heardElapsed = Infinity
  /** Highest ReadIndex round this follower has acknowledged. */
  ackedReadSeq = 0

  constructor(
    readonly id: NodeId,
    nextIndex: number,
    maxInflight: number,
  ) {
    this.nextIndex = nextIndex
    this.inflights = new Inflights(maxInflight)
  }

  /** Back to one message at a time, from just after the match point. */
  becomeProbe(): void {
    this.state = 'probe'
    this.probeSent = false
    this.inflights.reset()
    this.nextIndex = this.matchIndex + 1
  }

  /** The match point is known: pipeline from just after it. */
  becomeReplicate(): void {
    this.state = 'replicate'
    this.inflights.reset()
    this.nextIndex = this.matchIndex + 1
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot'
    this.pendingSnapshot = index
    this.snapshotTicks = 0
    this.inflights.reset()
  }

  /**
   * A successful AppendEntriesResponse up to `index` (not below the match point): the match
   * point moves there and the messages it covers are freed.
   */
  acknowledge(index: number): void {
    this.matchIndex = index
    this.stallTicks = 0
    this.nextIndex = Math.max(this.nextIndex, index + 1)
    this.inflights.freeLE(index)
  }

  /** News of a match past the current one (a late or duplicate answer); false if none. */
  maybeUpdate(index: number): boolean {
    if (index <= this.matchIndex) return false
    this.matchIndex = index
    this.nextIndex = Math.max(this.nextIndex, index + 1)
    this.inflights.freeLE(index)
    return true
  }

  /**
   * A rejection: probe again from `next` (the follower's hint, never at or below the match
   * point, never past the rejected index).
   */
  backtrackTo(next: number, rejectedIndex: number): void {
    this.becomeProbe()
    this.nextIndex = Math.max(this.matchIndex + 1, Math.min(next, rejectedIndex))
  }

  /** May another AppendEntries go out now? */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }

  /** A message from this follower arrived: it is active and was just heard. */
  heard(): void {
    this.recentActive = true
    this.heardElapsed = 0
  }

  /** A CheckQuorum round starts: not heard from in it yet. */
  newQuorumRound(): void {
    this.recentActive = false
  }

  /** It acknowledged ReadIndex round `seq`; false if that is no news. */
  ackRead(seq: number): boolean {
    if (seq <= this.ackedReadSeq) return false
    this.ackedReadSeq = seq
    return true
  }

  /** An answer to an AppendEntries came back: a probe may go out again. */
  answered(): void {
    this.probeSent = false
  }

  /** An InstallSnapshot was answered with `matchIndex`: probe from the match point. */
  snapshotAnswered(matchIndex: number): void {
    this.maybeUpdate(matchIndex)
    this.becomeProbe()
  }

  /**
   * One leader tick. 'stalled': nothing acknowledged for `stallLimit` ticks although
   * AppendEntries are in flight (some were probably lost), so it is back to probing.
   * 'snapshot-lost': the snapshot (or its answer) went unanswered for `snapshotLimit` ticks, so
   * it is back to probing, which resends the snapshot if still needed.
   */
  tick(stallLimit: number, snapshotLimit: number): 'stalled' | 'snapshot-lost' | null {
    this.heardElapsed++
    if (this.state === 'replicate' && this.inflights.count > 0 && ++this.stallTicks >= stallLimit) {
      this.becomeProbe()
      this.stallTicks = 0
      return 'stalled'
    }
    if (this.state === 'snapshot' && ++this.snapshotTicks >= snapshotLimit) {
      this.becomeProbe()
      return 'snapshot-lost'
    }
    return null
  }

  /** An AppendEntries whose last entry is `last` went out. */
  sent(last: number): void {
    if (this.state === 'probe') {
      this.probeSent = true
      return
    }
    this.inflights.add(last)
    this.nextIndex = last + 1
  }
}
