// Crash consistency, judged from outside: what a node has promised through the messages it sent
// (a term it acted in, a vote it granted, the entries it acknowledged), and whether a disk state
// recovered after a crash keeps those promises and claims nothing that is not durable (a
// commitIndex over entries that are not the committed ones). The simulator asks it after every
// real restart, and of disk states it explores without crashing: a copy of the disk taken before
// each storage call of a Ready, powered off with several draws of what reached the platters, and
// also killed (page cache kept), loaded, then powered off — what a restart read back is acted on.
import type {Message} from '../core/types.js'
import type {PersistedState} from '../storage/port.js'

export interface Committed {
  term: number
  key: string
}

/** What one node's messages have promised about its disk. */
export class Promises {
  /** The highest term it sent a message in (PreVote rounds excluded). */
  term = 0
  /** The last vote it granted (or cast for itself), by term. */
  vote: {term: number; for: number} | null = null
  /** The last entry it acknowledged, with its term: everything up to it is durable. */
  acked: {index: number; term: number} | null = null

  /** A message `m` left the node; `termAt` reads its log at that moment. */
  sent(m: Message, termAt: (index: number) => number | undefined): void {
    const pre = (m.type === 'RequestVote' || m.type === 'RequestVoteResponse') && m.preVote
    if (!pre && m.term > this.term) this.term = m.term
    if (m.type === 'RequestVoteResponse' && !m.preVote && m.voteGranted) this.vote = {term: m.term, for: m.to}
    if (m.type === 'RequestVote' && !m.preVote) this.vote = {term: m.term, for: m.from}
    if ((m.type === 'AppendEntriesResponse' && m.success) || m.type === 'InstallSnapshotResponse') {
      const term = termAt(m.matchIndex)
      if (term !== undefined && (this.acked === null || m.matchIndex >= this.acked.index)) this.acked = {index: m.matchIndex, term}
    }
  }

  /**
   * The node's log moved on: an acknowledgement whose entry it no longer holds (a later leader
   * replaced it, or a snapshot covers it) promises nothing more about the disk.
   */
  refresh(termAt: (index: number) => number | undefined, snapshotIndex: number): void {
    if (this.acked !== null && this.acked.index > snapshotIndex && termAt(this.acked.index) !== this.acked.term) this.acked = null
  }

  copy(): Promises {
    const p = new Promises()
    p.term = this.term
    p.vote = this.vote && {...this.vote}
    p.acked = this.acked && {...this.acked}
    return p
  }
}

/** Why a recovered disk state breaks a promise or claims too much, or null. */
export function judgeRecovered(
  state: PersistedState,
  promises: Promises,
  committed: (index: number) => Committed | undefined,
  entryKey: (e: PersistedState['entries'][number]) => string,
): string | null {
  const hs = state.hardState
  const snapIndex = state.snapshot?.lastIncludedIndex ?? 0
  const lastIndex = snapIndex + state.entries.length
  if (hs.currentTerm < promises.term) return `term ${hs.currentTerm} on disk, but it already acted in term ${promises.term}`
  const v = promises.vote
  if (v !== null && hs.currentTerm === v.term && hs.votedFor !== v.for) {
    return `vote for ${hs.votedFor || 'nobody'} on disk in term ${v.term}, but it voted for ${v.for}`
  }
  const a = promises.acked
  if (a !== null && a.index > snapIndex) {
    const e = state.entries[a.index - snapIndex - 1]
    if (e === undefined || e.term !== a.term) {
      return `it acknowledged entry ${a.index}@${a.term}, but the disk holds ${e ? `${e.index}@${e.term}` : `entries up to ${lastIndex}`}`
    }
  }
  // Nothing durable may claim more than what is durable: a commitIndex past the log on disk
  // points at entries a power loss took (issue #12, bug 1, without the truncation to see it by).
  if (hs.commitIndex > lastIndex) return `commitIndex ${hs.commitIndex} on disk, but the log on disk ends at ${lastIndex}`
  const c = hs.commitIndex
  for (const e of state.entries) {
    if (e.index > c) break
    const want = committed(e.index)
    if (want !== undefined && (want.term !== e.term || want.key !== entryKey(e))) {
      return `commitIndex ${hs.commitIndex} on disk covers entry ${e.index}@${e.term}, but ${e.index}@${want.term} was committed`
    }
  }
  return null
}
