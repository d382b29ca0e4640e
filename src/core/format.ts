// The one canonical text form of messages, entries and node state, shared by the node log, the
// simulator trace, tests and `status`.
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
