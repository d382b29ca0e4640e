// What the Raft core reports as it goes (elections, votes, leadership, snapshots): a typed event,
// one text form for it in format.ts. The node log and the simulator trace print the text; the
// dashboard switches on the type.
import type {Membership} from './membership.js'
import type {NodeId} from './types.js'

export type RaftEvent =
  | {type: 'pre-vote-started'; term: number}
  | {type: 'election-started'; term: number}
  /** `outsider`: the candidate is not a voter of this node's configuration (one it has not applied yet). */
  | {type: 'voted'; for: NodeId; term: number; outsider?: true}
  | {type: 'became-leader'; term: number}
  | {type: 'stepped-down'; term: number}
  | {type: 'lost-quorum'; term: number}
  | {type: 'transfer-started'; to: NodeId}
  | {type: 'transfer-timed-out'; to: NodeId}
  | {type: 'asked-to-campaign'; from: NodeId}
  | {type: 'ignored-append'; from: NodeId; term: number}
  | {type: 'installing-snapshot'; index: number; term: number; from: NodeId}
  | {type: 'sending-snapshot'; index: number; to: NodeId}
  /** A configuration change was applied at `index` (or came with a snapshot): now in force. */
  | {type: 'membership-changed'; index: number; membership: Membership}
  /** This leader applied its own removal and stepped down. */
  | {type: 'removed'; term: number}
  | {type: 'conf-change-proposed'; index: number; change: string}
  /** A later change in the log proves the change at `index` committed: commitIndex moved up to it. */
  | {type: 'commit-proven'; index: number}

export type RaftEventType = RaftEvent['type']
