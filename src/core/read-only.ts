// ReadIndex rounds (Raft thesis §6.4, etcd's read_only.go): a read is served at the commitIndex
// the leader had when it was asked, once a heartbeat round sent after it was acknowledged by a
// quorum — proof that no newer leader had been elected when the read was asked. Requests that
// arrive before this leader committed an entry of its own term wait for it: until then its
// commitIndex may lag what earlier leaders committed.
import type {ReadState} from './types.js'

interface PendingRead {
  ctx: unknown
  index: number
  seq: number
}

export class ReadOnly {
  /** The latest heartbeat round number (carried by AppendEntries as readSeq). */
  seq = 0
  /** A new round must go out with the next Ready. */
  roundPending = false
  private pending: PendingRead[] = []
  /** Requests waiting for this leader's first own-term commit. */
  private awaiting: unknown[] = []

  /** A read asked at `commitIndex`: it joins the next round. */
  request(ctx: unknown, commitIndex: number): void {
    if (!this.roundPending) {
      this.seq++
      this.roundPending = true
    }
    this.pending.push({ctx, index: commitIndex, seq: this.seq})
  }

  /** A read asked before this leader committed an entry of its term. */
  defer(ctx: unknown): void {
    this.awaiting.push(ctx)
  }

  /** The deferred reads, now that an entry of this term committed. */
  takeDeferred(): unknown[] {
    const out = this.awaiting
    this.awaiting = []
    return out
  }

  hasDeferred(): boolean {
    return this.awaiting.length > 0
  }

  /** The reads whose round a quorum acknowledged (`confirmed(seq)`), in order. */
  release(confirmed: (seq: number) => boolean): ReadState[] {
    const out: ReadState[] = []
    while (this.pending.length > 0 && confirmed(this.pending[0]!.seq)) {
      const read = this.pending.shift()!
      out.push({ctx: read.ctx, index: read.index})
    }
    return out
  }

  /** Leadership is lost: every pending read is dropped (the driver answers "not leader"). */
  reset(): void {
    this.pending = []
    this.awaiting = []
    this.roundPending = false
  }
}
