// The raft log (etcd's raftLog): the snapshot, the entries after it, and three marks into them —
// persisted (on stable storage), committed (known to be on a quorum) and applied (handed to the
// state machine). It is the only place that knows that entry i sits at offset i - snapshotIndex - 1.
//
// Invariants: the entries are exactly snapshotIndex+1 .. lastIndex, contiguous; applied <=
// committed <= lastIndex, except while an installed snapshot waits to be applied (then applied
// lags snapshotIndex, and nothing after the snapshot is handed out until it is); a committed
// entry is never truncated; nothing past committed is ever handed out for applying.
import {assert} from '../lib/assert.js'
import type {Membership} from './membership.js'
import type {Entry, Snapshot} from './types.js'

/** What the outside may read of a log (checkers, status displays). */
export interface LogView {
  readonly snapshotIndex: number
  readonly snapshotTerm: number
  /** Entries up to here are on this node's stable storage (the driver said so in advance). */
  readonly persisted: number
  firstIndex(): number
  lastIndex(): number
  lastTerm(): number
  termAt(index: number): number | undefined
  entryAt(index: number): Entry | undefined
  /** Entries [from, to] still in memory, clamped to what there is. */
  entries(from?: number, to?: number): Entry[]
}

export class RaftLog implements LogView {
  /** Entries after the snapshot: entries[k] holds index snapshotIndex + 1 + k. */
  private ents: Entry[] = []
  private snapIndex = 0
  private snapTerm = 0
  /** The latest snapshot (taken here, or installed from the leader). */
  snapshot: Snapshot | null = null
  /** Highest index known to be stored on a quorum. Only grows. */
  committed = 0
  /** Highest index handed out for applying (advanced by appliedTo). */
  applied = 0
  /** Entries with index <= persisted are on this node's stable storage. */
  persisted = 0

  constructor(snapshot: Snapshot | null, entries: readonly Entry[], commitIndex: number) {
    if (snapshot) {
      this.snapshot = snapshot
      this.snapIndex = snapshot.lastIncludedIndex
      this.snapTerm = snapshot.lastIncludedTerm
    }
    let expected = this.snapIndex + 1
    for (const e of entries) {
      if (e.index <= this.snapIndex) continue
      assert(e.index === expected, `initial entries not contiguous at ${e.index} (expected ${expected})`)
      this.ents.push(e)
      expected++
    }
    // commitIndex is persisted lazily; it is never behind the snapshot and never past the log.
    this.committed = Math.min(Math.max(commitIndex, this.snapIndex), this.lastIndex())
    this.applied = this.snapIndex
    // What storage returned on load is durable (it makes it so before returning).
    this.persisted = this.lastIndex()
  }

  // ---------------------------------------------------------------- queries

  get snapshotIndex(): number {
    return this.snapIndex
  }

  get snapshotTerm(): number {
    return this.snapTerm
  }

  firstIndex(): number {
    return this.snapIndex + 1
  }

  lastIndex(): number {
    return this.snapIndex + this.ents.length
  }

  lastTerm(): number {
    return this.ents.length > 0 ? this.ents[this.ents.length - 1]!.term : this.snapTerm
  }

  /** The term of the entry at `index`, or undefined if it is compacted away or past the end. */
  termAt(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm
    if (index < this.snapIndex || index > this.lastIndex()) return index === 0 ? 0 : undefined
    return this.ents[index - this.snapIndex - 1]!.term
  }

  entryAt(index: number): Entry | undefined {
    if (index <= this.snapIndex || index > this.lastIndex()) return undefined
    return this.ents[index - this.snapIndex - 1]
  }

  entries(from = this.firstIndex(), to = this.lastIndex()): Entry[] {
    const lo = Math.max(from, this.firstIndex())
    const hi = Math.min(to, this.lastIndex())
    if (hi < lo) return []
    return this.ents.slice(lo - this.snapIndex - 1, hi - this.snapIndex)
  }

  /** Election restriction (§5.4.1): is a log ending at lastIndex@lastTerm at least as up to date? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex())
  }

  /**
   * The rejection hint for an AppendEntries whose prevLogIndex did not match (thesis §5.3, etcd):
   * past the end, the next index to fill; else the first index of the conflicting term (not
   * below commitIndex).
   */
  conflictHint(prevIndex: number): {conflictIndex: number; conflictTerm: number} {
    const term = this.termAt(prevIndex)
    if (term === undefined) return {conflictIndex: this.lastIndex() + 1, conflictTerm: 0}
    let index = prevIndex
    while (index - 1 > this.committed && this.termAt(index - 1) === term) index--
    return {conflictIndex: index, conflictTerm: term}
  }

  /**
   * The leader side of that hint: the index after the last entry of `term` at or below `from`
   * in this log, if it holds any entry of that term; else undefined.
   */
  afterLastOfTerm(term: number, from: number): number | undefined {
    let i = Math.min(from, this.lastIndex())
    while (i > this.snapIndex && (this.termAt(i) ?? 0) > term) i--
    return this.termAt(i) === term ? i + 1 : undefined
  }

  // ---------------------------------------------------------------- changes

  /** The leader appends a new entry of its own. */
  append(entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, `append: index ${entry.index} after ${this.lastIndex()}`)
    this.ents.push(entry)
  }

  /**
   * A follower takes `entries`, which follow the matching prefix ending at `prevIndex` (Figure 2,
   * steps 3-4): entries it holds with the same term are kept, the first conflicting one and
   * everything after it are replaced. `keepConflicts`: the no-truncate-conflict mutant.
   * Returns the index of the last new entry.
   */
  appendAfter(prevIndex: number, entries: readonly Entry[], keepConflicts = false): number {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      assert(e.index === prevIndex + 1 + i, `AppendEntries entries not contiguous at ${e.index}`)
      const local = this.termAt(e.index)
      if (local === e.term) continue
      if (local !== undefined) {
        if (keepConflicts) continue
        assert(e.index > this.committed, `conflict at committed index ${e.index}`)
        this.truncateFrom(e.index)
      }
      for (let j = i; j < entries.length; j++) this.ents.push(entries[j]!)
      break
    }
    return prevIndex + entries.length
  }

  private truncateFrom(index: number): void {
    assert(index > this.snapIndex, `truncate into the snapshot at ${index}`)
    this.ents.length = index - this.snapIndex - 1
    if (this.persisted >= index) this.persisted = index - 1
  }

  /** commitIndex only grows. */
  commitTo(index: number): void {
    if (index > this.committed) this.committed = index
  }

  /**
   * Takes a snapshot at `index` (<= applied) whose state the caller serialised into `data`, and
   * drops the entries it covers.
   */
  compact(index: number, data: unknown, config?: Membership): Snapshot {
    assert(index <= this.applied, `compact(${index}) past appliedIndex ${this.applied}`)
    assert(index > this.snapIndex, `compact(${index}) not past the snapshot at ${this.snapIndex}`)
    const term = this.termAt(index)
    assert(term !== undefined, `compact(${index}): no term`)
    this.ents = this.ents.slice(index - this.snapIndex)
    this.snapIndex = index
    this.snapTerm = term
    this.snapshot = config ? {lastIncludedIndex: index, lastIncludedTerm: term, data, config} : {lastIncludedIndex: index, lastIncludedTerm: term, data}
    return this.snapshot
  }

  /** Replaces everything with a snapshot from the leader (it is committed, and will be durable with its Ready). */
  restore(snap: Snapshot): void {
    this.ents = []
    this.snapIndex = snap.lastIncludedIndex
    this.snapTerm = snap.lastIncludedTerm
    this.snapshot = snap
    this.committed = snap.lastIncludedIndex
    this.persisted = snap.lastIncludedIndex
  }

  // ---------------------------------------------------------------- Ready bookkeeping

  /** Entries not yet on stable storage. */
  unstableEntries(): Entry[] {
    return this.entries(this.persisted + 1)
  }

  /** The driver persisted entries up to `index`@`term` (ignored if a later step replaced it). */
  stableTo(index: number, term: number): void {
    if (this.termAt(index) === term) this.persisted = Math.max(this.persisted, index)
  }

  /** A persisted snapshot: everything up to it is durable (and applied, once restored). */
  snapshotPersisted(index: number): void {
    this.persisted = Math.max(this.persisted, index)
    this.applied = Math.max(this.applied, index)
  }

  /**
   * The next committed entries to apply, at most `max`. While an installed snapshot waits to be
   * applied, applied lags snapshotIndex: what comes after the snapshot starts past it.
   */
  nextCommitted(max: number): Entry[] {
    const from = Math.max(this.applied, this.snapIndex)
    const to = Math.min(this.committed, from + max)
    const out = to > from ? this.entries(from + 1, to) : []
    assert(out.length === 0 || out[out.length - 1]!.index <= this.committed, 'handing out uncommitted entries')
    return out
  }

  /**
   * The apply window as it was before issue #12 (the apply-past-commit mutant): counted from
   * applied, sliced with a negative end while a snapshot is pending.
   */
  nextCommittedMutant(max: number): Entry[] {
    const to = Math.min(this.committed, this.applied + max)
    const lo = this.applied + 1
    return to >= lo ? this.ents.slice(Math.max(lo, this.firstIndex()) - this.snapIndex - 1, to - this.snapIndex) : []
  }

  /** Only grows: a Ready's advance may come after later entries were applied outside it. */
  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index
  }
}
