// Client requests a replica answers, and its replies. A client first registers a session through
// the log (`register`, answered with the session id); its writes carry (session, seq) so a retry
// is applied at most once; the same seq is kept across retries to any node.
import {confChangeProblem, type ConfChange, type Membership} from '../core/membership.js'
import {isIndex, isNodeId, type NodeId} from '../core/types.js'
import type {KvWriteResult} from '../kv/state-machine.js'
import type {NodeEvent} from './events.js'

export type WriteRequest =
  | {type: 'put'; key: string; value: string; session: number; seq: number}
  | {type: 'del'; key: string; session: number; seq: number}
  | {type: 'cas'; key: string; expected: string; value: string; session: number; seq: number}

/** `nonce` (the client's choice): a retry with the same nonce joins the pending registration. */
export type RegisterRequest = {type: 'register'; nonce?: string}

export type ReadRequest = {type: 'get'; key: string; stale?: boolean}

/**
 * A configuration change, proposed through the log by the leader (answered once applied).
 * `force`: skip the check that the new configuration has a quorum among the nodes up.
 */
export type MemberRequest = {type: 'member'; change: ConfChange; force?: boolean}

export type ClientRequest = WriteRequest | RegisterRequest | ReadRequest | MemberRequest

/**
 * A node's answer to a ClientRequest. An answer that succeeded names the request it answers
 * (`type`, the request's own), so a caller never has to guess from its fields. `leaderHint`: the
 * node this one believes leads, null if it knows none (the core's 0 stays inside the core).
 */
export type ClientReply =
  | {[T in ClientRequest['type']]: {ok: true; type: T; index: number} & Answers[T]}[ClientRequest['type']]
  /** The leader refused the configuration change (one is in progress, it would lose quorum, ...). */
  | {ok: false; error: 'refused'; reason: string; leaderHint: NodeId | null}
  /** This node cannot serve the request now; `leaderHint` may. */
  | {ok: false; error: 'not-leader'; leaderHint: NodeId | null}
  /** The node lost leadership while the write was in flight: the outcome is unknown. */
  | {ok: false; error: 'unknown-outcome'; leaderHint: NodeId | null}

/** What a successful answer carries, by the type of the request it answers. */
interface Answers {
  put: {result: KvWriteResult}
  del: {result: KvWriteResult}
  cas: {result: KvWriteResult}
  get: {value: string | null}
  /** A new session, registered at log index `session`. */
  register: {session: number}
  /** A configuration change applied at `index`: the configuration now in force. */
  member: {membership: Membership}
}

/** The successful answer to a request of type `T`. */
export type ReplyTo<T extends ClientRequest['type']> = Extract<ClientReply, {ok: true; type: T}>

/** True if `reply` is the successful answer to a request of type `type`. */
export function isReplyTo<T extends ClientRequest['type']>(type: T, reply: ClientReply): reply is ReplyTo<T> {
  return reply.ok && reply.type === type
}

/** The core's "no node" (0, as in etcd) as the wire says it (null). */
export function nodeOrNull(id: NodeId): NodeId | null {
  return id === 0 ? null : id
}

export const MAX_KEY_BYTES = 4096
export const MAX_VALUE_BYTES = 1024 * 1024

/** Admin requests (status, partition rules, events), served by every node, never forwarded. */
export type AdminRequest =
  | {type: 'status'}
  | {type: 'partition'; rules: {groups: number[][]; cuts?: {from: number; to: number}[]} | null}
  | {type: 'events'; limit?: number}
  | {type: 'subscribe'}
  /** Hand leadership to `to` (leader only; answered at once, the transfer completes later). */
  | {type: 'transfer'; to: NodeId}
  | {type: 'campaign'}

export interface NodeStatus {
  id: NodeId
  pid: number
  role: 'leader' | 'follower' | 'candidate' | 'pre-candidate'
  term: number
  leader: NodeId | null
  lastIndex: number
  commitIndex: number
  appliedIndex: number
  snapshotIndex: number
  /** 1-based partition group this node sits in (1 when there is no partition). */
  group: number
  partition: {groups: number[][]; cuts?: {from: number; to: number}[]} | null
  /** Frames refused on this node's port (garbage, oversized, unauthenticated). */
  badFrames: number
  authFailures: number
  keys: number
  uptimeMs: number
  /** The replica's resident memory, in bytes. */
  rssBytes: number
  /** The configuration in force at this node (voters, learners, the outgoing voters while joint). */
  membership: Membership
  /** The leader's view of each member's match index (leader only). */
  matchIndex?: Record<string, number>
  /** The replica's I/O and CPU counters since it started (absent from older replicas). */
  io?: NodeIoCounters
}

const ROLES: ReadonlySet<unknown> = new Set<NodeStatus['role']>(['leader', 'follower', 'candidate', 'pre-candidate'])

/**
 * A node's answer to `status`, checked where callers rely on it (id, role, term, the indexes, who
 * it thinks leads); throws a one-line error for anything else (a node of another
 * version, a foreign server), so no caller casts an unknown reply.
 */
export function asNodeStatus(x: unknown): NodeStatus {
  // A replica started by an earlier raftctl spells a PreVote round as the core once did.
  if (typeof x === 'object' && x !== null && (x as {role?: unknown}).role === 'precandidate') x = {...x, role: 'pre-candidate'}
  const s = x as Partial<Record<keyof NodeStatus, unknown>> | null
  const problem =
    typeof s !== 'object' || s === null
      ? 'not an object'
      : !isNodeId(s.id)
        ? 'no node id'
        : !ROLES.has(s.role)
          ? `unknown role ${JSON.stringify(s.role)}`
          : !isIndex(s.term) || !isIndex(s.lastIndex) || !isIndex(s.commitIndex) || !isIndex(s.appliedIndex)
            ? 'term or indexes missing'
            : s.leader !== null && !isNodeId(s.leader)
              ? 'bad leader'
              : null
  if (problem) throw new Error(`bad status reply: ${problem}`)
  return x as NodeStatus
}

/** A node's answer to `events`: the events in it that are well formed and from node `id`. */
export function eventsOf(x: unknown, id: NodeId): NodeEvent[] {
  const events = (x as {events?: unknown} | null)?.events
  if (!Array.isArray(events)) return []
  return events.filter((e): e is NodeEvent => typeof e === 'object' && e !== null && e.node === id && typeof e.text === 'string')
}

/**
 * Cumulative counters of a replica since it started; `raftctl bench` reads the leader's before
 * and after a run and reports their change (entries per fsync, per AppendEntries, ...).
 */
export interface NodeIoCounters {
  /** Log entries this node wrote to its log (proposed as leader, or received as follower). */
  entriesWritten: number
  /** AppendEntries sent carrying at least one entry (heartbeats not counted), and their entries. */
  appendsSent: number
  entriesSent: number
  /** fdatasync calls on files: one per batch of log entries (group commit), hard state, snapshots. */
  fsyncs: number
  /** fsync calls on directories (a new segment or snapshot, a renamed hard-state file). */
  dirFsyncs: number
  /** Time the process spent blocked in both, in milliseconds. */
  fsyncMs: number
  /** CPU time of the process (user + system), in microseconds. */
  cpuMicros: number
  /** The process's monotonic clock when the counters were read, in milliseconds. */
  atMs: number
}

/** Checks a request that arrived over the wire; returns it typed, or a one-line problem. */
export function parseRequest(x: unknown): {ok: true; req: ClientRequest | AdminRequest} | {ok: false; problem: string} {
  if (typeof x !== 'object' || x === null) return {ok: false, problem: 'request is not an object'}
  const r = x as Record<string, unknown>
  const str = (k: string) => typeof r[k] === 'string'
  const keyProblem = () => {
    if (!str('key')) return 'key must be a string'
    const key = r.key as string
    if (key === '') return 'key must not be empty'
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `key longer than ${MAX_KEY_BYTES} bytes`
    return null
  }
  const valueProblem = (k: string) => {
    if (!str(k)) return `${k} must be a string`
    if (Buffer.byteLength(r[k] as string) > MAX_VALUE_BYTES) return `${k} longer than ${MAX_VALUE_BYTES} bytes`
    return null
  }
  const sessionProblem = () =>
    !Number.isSafeInteger(r.session) || (r.session as number) < 1
      ? 'session must be a positive integer (register one first)'
      : !Number.isSafeInteger(r.seq) || (r.seq as number) < 1
        ? 'seq must be a positive integer'
        : null
  let problem: string | null
  switch (r.type) {
    case 'get':
      problem = keyProblem() ?? (r.stale !== undefined && typeof r.stale !== 'boolean' ? 'stale must be a boolean' : null)
      break
    case 'put':
      problem = keyProblem() ?? valueProblem('value') ?? sessionProblem()
      break
    case 'del':
      problem = keyProblem() ?? sessionProblem()
      break
    case 'cas':
      problem = keyProblem() ?? valueProblem('expected') ?? valueProblem('value') ?? sessionProblem()
      break
    case 'member':
      problem = confChangeProblem(r.change) ?? (r.force !== undefined && typeof r.force !== 'boolean' ? 'force must be a boolean' : null)
      break
    case 'register':
      problem = r.nonce !== undefined && !(str('nonce') && (r.nonce as string).length <= 64) ? 'nonce must be a string of at most 64 characters' : null
      break
    case 'status':
    case 'subscribe':
    case 'campaign':
      problem = null
      break
    case 'events':
      problem = r.limit !== undefined && !(Number.isSafeInteger(r.limit) && (r.limit as number) >= 0) ? 'limit must be a non-negative integer' : null
      break
    case 'partition':
      problem =
        r.rules === null || (typeof r.rules === 'object' && Array.isArray((r.rules as {groups?: unknown}).groups)) ? null : 'rules must be null or {groups}'
      break
    case 'transfer':
      problem = isNodeId(r.to) ? null : 'to must be a node id'
      break
    default:
      problem = `unknown request type ${JSON.stringify(r.type)}`
  }
  return problem ? {ok: false, problem} : {ok: true, req: x as ClientRequest | AdminRequest}
}
