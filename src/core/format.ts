// The one canonical text form of messages, entries and node state, shared by the node log, the
// simulator trace, tests and `status`.
import type {RaftEvent} from './events.js'
import {describeMembership} from './membership.js'
import type {Entry, Message} from './types.js'

export function formatEntries(entries: Entry[]): string {
  if (entries.length === 0) return '[]'
  const first = entries[0]!
  const last = entries[entries.length - 1]!
  return first === last ? `[${first.index}@${first.term}]` : `[${first.index}@${first.term}..${last.index}@${last.term}]`
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`
  switch (m.type) {
    case 'RequestVote':
      return `${head}${m.preVote ? ' pre' : ''}${m.transfer ? ' transfer' : ''} last=${m.lastLogIndex}@${m.lastLogTerm}`
    case 'RequestVoteResponse':
      return `${head}${m.preVote ? ' pre' : ''} ${m.voteGranted ? 'granted' : 'rejected'}`
    case 'AppendEntries':
      return `${head} prev=${m.prevLogIndex}@${m.prevLogTerm} ${formatEntries(m.entries)} commit=${m.leaderCommit}${m.readSeq ? ` rs=${m.readSeq}` : ''}`
    case 'AppendEntriesResponse':
      return m.success
        ? `${head} ok match=${m.matchIndex}${m.readSeq ? ` rs=${m.readSeq}` : ''}`
        : `${head} reject at=${m.rejectedIndex} hint=${m.conflictIndex}@${m.conflictTerm}${m.readSeq ? ` rs=${m.readSeq}` : ''}`
    case 'InstallSnapshot':
      return `${head} snap=${m.snapshot.lastIncludedIndex}@${m.snapshot.lastIncludedTerm}`
    case 'InstallSnapshotResponse':
      return `${head} match=${m.matchIndex}`
    case 'TimeoutNow':
      return head
  }
}

/** The one text form of a core event (node log, simulator trace, dashboard feed). */
export function formatEvent(e: RaftEvent): string {
  switch (e.type) {
    case 'pre-vote-started':
      return `pre-vote for term ${e.term} started`
    case 'election-started':
      return `election started for term ${e.term}`
    case 'voted':
      return `voted for ${e.for} in term ${e.term}${e.outsider ? ' (not a voter of the configuration applied here)' : ''}`
    case 'became-leader':
      return `became leader of term ${e.term}`
    case 'stepped-down':
      return `stepped down in term ${e.term}`
    case 'lost-quorum':
      return `lost contact with a quorum in term ${e.term}`
    case 'transfer-started':
      return `leadership transfer to ${e.to} started`
    case 'transfer-timed-out':
      return `leadership transfer to ${e.to} timed out`
    case 'asked-to-campaign':
      return `asked by ${e.from} to take over leadership`
    case 'ignored-append':
      return `ignored AppendEntries from ${e.from}, another leader of term ${e.term}`
    case 'installing-snapshot':
      return `installing snapshot at ${e.index} (term ${e.term}) from ${e.from}`
    case 'sending-snapshot':
      return `sending snapshot at ${e.index} to ${e.to}`
    case 'membership-changed':
      return `configuration at ${e.index}: ${describeMembership(e.membership)}`
    case 'removed':
      return `removed from the configuration: stepped down in term ${e.term}`
    case 'conf-change-proposed':
      return `proposed configuration change at ${e.index}: ${e.change}`
    case 'commit-proven':
      return `committed up to ${e.index}: a later configuration change in the log proves it`
  }
}
