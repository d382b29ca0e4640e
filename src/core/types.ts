// The vocabulary of the Raft core: entries, persistent state, messages (a discriminated union named
// as in the Raft paper) and the Ready batch. Everything here is plain data: it crosses the
// simulator, the disk (MessagePack) and the wire (MessagePack) unchanged.

import type {Membership} from './membership.js'

export type NodeId = number

/** The largest node id a cluster may have (ids are small positive integers, one per replica). */
export const MAX_NODE_ID = 9999

/** A term, an index or a count: a non-negative safe integer. */
export const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

/** The one node-id rule: an integer from 1 to MAX_NODE_ID. */
export const isNodeId = (x: unknown): x is NodeId => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= MAX_NODE_ID

/** 'config': a configuration change (data: a ConfChange, see membership.ts). */
export type EntryType = 'normal' | 'noop' | 'config'

export interface Entry {
  term: number
  index: number
  type: EntryType
  /** The state machine command; opaque to the core. Must be MessagePack-encodable. */
  data?: unknown
}

/** What must be on stable storage before any message that depends on it is sent. */
export interface HardState {
  currentTerm: number
  votedFor: NodeId | 0
  commitIndex: number
}

export interface SnapshotMeta {
  lastIncludedIndex: number
  lastIncludedTerm: number
}

export interface Snapshot extends SnapshotMeta {
  /** The state machine's serialised state (key-value data and client sessions); opaque here. */
  data: unknown
  /** The configuration in force at lastIncludedIndex (absent: the cluster's initial voters). */
  config?: Membership
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader'

interface MessageBase {
  from: NodeId
  to: NodeId
  term: number
}

export interface RequestVote extends MessageBase {
  type: 'RequestVote'
  lastLogIndex: number
  lastLogTerm: number
  /** PreVote round: `term` is the term the candidate would use; nobody changes state. */
  preVote: boolean
  /** Sent after TimeoutNow: voters must not refuse because of a current leader's lease. */
  transfer: boolean
}

export interface RequestVoteResponse extends MessageBase {
  type: 'RequestVoteResponse'
  voteGranted: boolean
  preVote: boolean
}

export interface AppendEntries extends MessageBase {
  type: 'AppendEntries'
  prevLogIndex: number
  prevLogTerm: number
  entries: Entry[]
  leaderCommit: number
  /** Heartbeat round number, echoed back; confirms leadership for ReadIndex. 0 = none. */
  readSeq: number
}

export interface AppendEntriesResponse extends MessageBase {
  type: 'AppendEntriesResponse'
  success: boolean
  /** On success: the index of the last entry the follower now holds that matches the leader. */
  matchIndex: number
  /** On failure: the prevLogIndex that did not match (lets the leader ignore stale rejections). */
  rejectedIndex: number
  /** On failure: fast backtracking hints (Raft thesis §5.3 / etcd). */
  conflictIndex: number
  conflictTerm: number
  readSeq: number
}

export interface InstallSnapshot extends MessageBase {
  type: 'InstallSnapshot'
  snapshot: Snapshot
}

export interface InstallSnapshotResponse extends MessageBase {
  type: 'InstallSnapshotResponse'
  /** The follower's last index after handling the snapshot. */
  matchIndex: number
}

export interface TimeoutNow extends MessageBase {
  type: 'TimeoutNow'
}

export type Message = RequestVote | RequestVoteResponse | AppendEntries | AppendEntriesResponse | InstallSnapshot | InstallSnapshotResponse | TimeoutNow

export type MessageType = Message['type']

export interface ReadState {
  /** The caller's context passed to readIndex(). */
  ctx: unknown
  /** Reads may be served once the state machine has applied at least this index. */
  index: number
}

export interface SoftState {
  role: Role
  leaderId: NodeId | 0
}

/**
 * One batch of work for the driver. Order is the contract: persist `hardState`, `snapshot` and
 * `entries` (truncating any stored entry with index >= entries[0].index first) and fsync; then
 * send `messages`; then apply `committedEntries`; then call advance(ready).
 */
export interface Ready {
  softState: SoftState
  hardState: HardState | null
  /**
   * commitIndex passed a configuration change: persist it durably with this Ready (not lazily),
   * so that a restart knows that change is committed and does not campaign under an older one.
   */
  mustPersistCommit: boolean
  entries: Entry[]
  snapshot: Snapshot | null
  messages: Message[]
  committedEntries: Entry[]
  readStates: ReadState[]
}

export type ProposeResult =
  | {ok: true; index: number; term: number}
  | {ok: false; reason: 'not-leader'; leaderHint: NodeId | 0}
  | {ok: false; reason: 'transferring'; leaderHint: NodeId | 0}

export type ReadIndexResult = {ok: true} | {ok: false; reason: 'not-leader'; leaderHint: NodeId | 0}
