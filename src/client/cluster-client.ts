// The cluster client used by the CLI, bench and check: sends to any node, follows leader hints,
// tries the next node on timeout or refusal, keeps the same (session, seq) across retries of a
// write so it applies at most once, and gives up at the deadline with Unavailable (for a write
// that was sent: the outcome is unknown, it may still commit). Every attempt at one node is
// bounded (a paused leader holds a request forever): after ATTEMPT_MS the client tries another
// node with the same request, and avoids the silent node for as long as it was given to answer,
// even when hints name it (a request cut short by the caller's deadline says little about the
// node, so it is avoided only briefly).
// With `only`, it talks to that one node: no other node is tried and a redirect is an answer.
//
// Sessions (Raft thesis §6.3): before its first write the client registers a session through the
// log. A session the cluster evicted (it keeps the 10,000 most recently used) answers
// `session-expired`; the client then registers a new one. If the refused write had been sent only
// once, nothing can have applied it, so it is sent again under the new session; otherwise an
// earlier copy may have taken effect before the eviction and the outcome is unknown
// (SessionExpiredError). Writes of one client are sequential: one at a time.
import {randomBytes} from 'node:crypto'
import type {ConfChange, Membership} from '../core/membership.js'
import type {NodeId} from '../core/types.js'
import {formatDuration} from '../lib/duration.js'
import type {KvWriteResult} from '../kv/state-machine.js'
import {isReplyTo, type ClientReply, type ClientRequest, type ReplyTo, type WriteRequest} from '../protocol/protocol.js'
import {ClientConnection} from '../transport/client.js'
import {TransportError} from '../transport/errors.js'
import {LeaderTracker} from './leader-tracker.js'

export interface ClusterNode {
  id: NodeId
  host: string
  port: number
}

export interface ClusterClientOptions {
  nodes: ClusterNode[]
  clusterId: string
  secret: string
  /** Node to try first (e.g. the last known leader); default: a random one. */
  startAt?: NodeId
  /** Talk to this node only: never another one, and "not the leader" ends the request. */
  only?: NodeId
  /**
   * Connections shared with other clients (`raftctl bench --conns`, like etcd's benchmark
   * multiplexing its clients over gRPC connections); default: this client's own. A shared pool
   * is closed by its owner, not by close().
   */
  connections?: ConnectionPool
}

/**
 * Longest a single attempt at one node (connect, then the request) may take before trying another
 * with the same request and seq: a paused node accepts TCP connections but never answers.
 */
const ATTEMPT_MS = 1000

/**
 * One connection per node, opened on first use, for one or several ClusterClients: requests of
 * clients that share a connection are in flight on it together, and their frames written in one
 * event-loop turn go out as one write (the transport corks). Dropping a connection (a timeout,
 * an error) drops it for every client sharing it: their requests on it fail and are retried.
 */
export class ConnectionPool {
  private readonly connections = new Map<NodeId, Promise<ClientConnection>>()

  constructor(private readonly opts: {nodes: ClusterNode[]; clusterId: string; secret: string}) {}

  /**
   * The connection to `id`, made if need be within `timeoutMs`. A shared pool is asked with a
   * whole attempt's time, whatever the deadline of the client that happens to ask first (each
   * bounds its own wait); a client's own pool with what that client has left, so that a short
   * command does not wait on a connection it no longer needs when it closes.
   */
  connect(id: NodeId, timeoutMs: number): Promise<ClientConnection> {
    let conn = this.connections.get(id)
    if (!conn) {
      const node = this.opts.nodes.find((n) => n.id === id)
      if (!node) return Promise.reject(new Error(`node ${id} is not in the cluster`))
      conn = ClientConnection.connect({
        host: node.host,
        port: node.port,
        clusterId: this.opts.clusterId,
        secret: this.opts.secret,
        timeoutMs,
        expectNodeId: id,
      })
      this.connections.set(id, conn)
      const made = conn
      // Only this attempt's own entry: a later connection to the node may have replaced it.
      made.catch(() => this.connections.get(id) === made && this.connections.delete(id))
    }
    return conn
  }

  /** Closes the connection to `id` if it is still `conn` (another client may have replaced it). */
  drop(id: NodeId, conn: Promise<ClientConnection>): void {
    if (this.connections.get(id) === conn) this.connections.delete(id)
    conn.then((c) => c.close()).catch(() => {})
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()]
    this.connections.clear()
    await Promise.all(all.map((p) => p.then((c) => c.close()).catch(() => {})))
  }
}

export class UnavailableError extends Error {
  constructor(
    message: string,
    readonly write: boolean,
    /** Whether any node may have received the request (false: it certainly did not take effect). */
    readonly sent = true,
  ) {
    super(message)
  }
}

/**
 * The client's session was evicted and the write had been sent more than once: an earlier copy
 * may have taken effect before the eviction. The outcome is unknown; the next write starts a new
 * session.
 */
export class SessionExpiredError extends UnavailableError {
  constructor(message: string) {
    super(message, true)
  }
}

/** With `only`: the node answered that it is not the leader (and which node is, if it knows). */
export class NotLeaderError extends Error {
  constructor(
    readonly node: NodeId,
    readonly leaderHint: NodeId | null,
  ) {
    super(`node ${node} is not the leader${leaderHint !== null ? ` (node ${leaderHint} is)` : ''}`)
  }
}

/** The leader refused a configuration change (one is in progress, it would lose quorum, ...). */
export class ChangeRefusedError extends Error {
  constructor(
    readonly reason: string,
    readonly node: NodeId,
  ) {
    super(`node ${node} (the leader) refused the change: ${reason}`)
  }
}

/**
 * A node's success answered a different request than the one sent: a bug in that node (or a
 * foreign server on its port), not a leader change. Not retried elsewhere, so the error names it.
 */
export class MismatchedReplyError extends Error {
  constructor(node: NodeId, requestType: string, reply: unknown) {
    super(`node ${node} answered a ${requestType} request with a ${String((reply as {type?: unknown}).type)} reply`)
  }
}

export type WriteOutcome = {result: KvWriteResult; index: number; node: NodeId}
export type ChangeOutcome = {membership: Membership; index: number; node: NodeId}
export type ReadOutcome = {value: string | null; index: number; node: NodeId}

export class ClusterClient {
  /** The registered session (a log index), or null before the first write / after an eviction. */
  private session: number | null = null
  private seq = 0
  private writing = false
  /** Sessions this client registered (more than one if the cluster evicted one). */
  sessionsRegistered = 0
  /** Told when the cluster evicted this client's session and a new one was registered. */
  onSessionExpired?: (message: string) => void
  private readonly tracker: LeaderTracker
  private readonly connections: ConnectionPool
  private readonly ownsConnections: boolean
  private readonly byId: Map<NodeId, ClusterNode>
  /** Nodes that let an attempt time out, and until when to prefer others. */
  private readonly silentUntil = new Map<NodeId, number>()
  /** The node that last answered a request successfully. */
  lastLeader: NodeId | null = null

  constructor(private readonly opts: ClusterClientOptions) {
    const nodes = opts.only !== undefined ? opts.nodes.filter((n) => n.id === opts.only) : opts.nodes
    if (nodes.length === 0) throw new Error(`node ${opts.only} is not in the cluster`)
    const ids = nodes.map((n) => n.id)
    this.byId = new Map(nodes.map((n) => [n.id, n]))
    const start = opts.startAt !== undefined ? ids.indexOf(opts.startAt) : Math.floor(Math.random() * ids.length)
    this.tracker = new LeaderTracker(ids, Math.max(0, start))
    this.ownsConnections = opts.connections === undefined
    this.connections = opts.connections ?? new ConnectionPool(opts)
  }

  async put(key: string, value: string, timeoutMs: number): Promise<WriteOutcome> {
    return this.write((session, seq) => ({type: 'put', key, value, session, seq}), timeoutMs)
  }

  async del(key: string, timeoutMs: number): Promise<WriteOutcome> {
    return this.write((session, seq) => ({type: 'del', key, session, seq}), timeoutMs)
  }

  async cas(key: string, expected: string, value: string, timeoutMs: number): Promise<WriteOutcome> {
    return this.write((session, seq) => ({type: 'cas', key, expected, value, session, seq}), timeoutMs)
  }

  async get(key: string, opts: {stale?: boolean; timeoutMs: number}): Promise<ReadOutcome> {
    const {reply, node} = await this.send({type: 'get', key, stale: opts.stale ?? false}, opts.timeoutMs, false)
    return {value: reply.value, index: reply.index, node}
  }

  /**
   * Proposes a configuration change to the leader and waits until it is applied there. A retry
   * after a lost answer may find the change made (it is then refused as redundant, or another
   * change is in progress): callers judge the outcome from the configuration, not from this.
   */
  async changeMembership(change: ConfChange, opts: {force?: boolean; timeoutMs: number}): Promise<ChangeOutcome> {
    const {reply, node} = await this.send({type: 'member', change, ...(opts.force ? {force: true} : {})}, opts.timeoutMs, true)
    return {membership: reply.membership, index: reply.index, node}
  }

  private async write(make: (session: number, seq: number) => WriteRequest, timeoutMs: number): Promise<WriteOutcome> {
    if (this.writing) throw new Error('ClusterClient: one write at a time (a session is sequential)')
    this.writing = true
    try {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (this.session === null) await this.register(deadline, timeoutMs)
        const session = this.session!
        const sends = {count: 0}
        const {reply, node} = await this.send(make(session, ++this.seq), deadline - Date.now(), true, sends, timeoutMs)
        const result = reply.result
        if (result.status !== 'session-expired') return {result, index: reply.index, node}
        this.session = null
        const note = `the cluster evicted this client's session ${session}`
        if (sends.count > 1) {
          throw new SessionExpiredError(`${note} while the write was being retried: an earlier copy may have taken effect, the outcome is unknown`)
        }
        // Sent once and refused: nothing applied it. Again, under a new session.
        this.onSessionExpired?.(`${note}; registered a new one and sent the write again`)
      }
    } finally {
      this.writing = false
    }
  }

  /**
   * Registers a new session through the log (a retry with the same nonce joins the pending one;
   * one that reaches another leader leaves a spare session, evicted in time). If it fails, the
   * write was never sent.
   */
  private async register(deadline: number, timeoutMs: number): Promise<void> {
    try {
      const {reply} = await this.send({type: 'register', nonce: randomBytes(8).toString('hex')}, deadline - Date.now(), true, {count: 0}, timeoutMs)
      this.session = reply.session
      this.seq = 0
      this.sessionsRegistered++
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err
      throw new UnavailableError(
        err.message
          .replace(/^no leader committed the write/, 'no leader registered a session for the write')
          .replace('(the outcome is unknown; it may still commit)', '(the write was not sent, so it did not take effect)'),
        true,
        false,
      )
    }
  }

  /** The node to try now: the tracker's choice, unless it was silent lately and another is not. */
  private pick(): NodeId {
    const now = Date.now()
    for (let i = 0; i < this.byId.size; i++) {
      const id = this.tracker.current()
      if ((this.silentUntil.get(id) ?? 0) <= now) return id
      this.tracker.next()
    }
    return this.tracker.current()
  }

  /**
   * Retries `req` across nodes until a node answers it, or the deadline passes. `sends.count`
   * counts the attempts that may have reached a node (a connection was made). `totalMs`: the
   * caller's whole timeout, for the message.
   */
  private async send<R extends ClientRequest>(
    req: R,
    timeoutMs: number,
    write: boolean,
    sends = {count: 0},
    totalMs = timeoutMs,
  ): Promise<{reply: ReplyTo<R['type']>; node: NodeId}> {
    const deadline = Date.now() + timeoutMs
    let lastProblem = 'no node answered'
    let attempts = 0
    let sent = false
    while (Date.now() < deadline) {
      const id = this.pick()
      attempts++
      // What this attempt gave the node to answer (connecting, then the request).
      const at: Attempt = {id, given: Math.min(deadline - Date.now(), ATTEMPT_MS)}
      try {
        const conn = await this.connectFor(at)
        // Closed meanwhile (another client sharing it dropped it): the request would not be sent.
        if (conn.closed) throw new Error(`connection to node ${id} closed`)
        sent ||= write
        sends.count++
        at.given = Math.max(1, Math.min(deadline - Date.now(), ATTEMPT_MS))
        const reply = (await conn.request(req, at.given)) as ClientReply
        this.silentUntil.delete(id)
        if (reply.ok) return {reply: this.answerTo(req, reply, at), node: id}
        const next = this.notServed(reply, id, deadline)
        lastProblem = next.problem
        if (next.pauseMs !== null) await pause(next.pauseMs)
      } catch (err) {
        lastProblem = this.failed(err, at)
        if (attempts % this.byId.size === 0) await pause(Math.min(50, deadline - Date.now()))
      }
    }
    throw unavailable(write, sent, totalMs, lastProblem)
  }

  /** The attempt's connection, kept in `at` (to drop it if the attempt fails). */
  private connectFor(at: Attempt): Promise<ClientConnection> {
    // A pool of its own connects within `given` itself; a shared one within a whole attempt,
    // and this client bounds its own wait.
    at.connection = this.connections.connect(at.id, this.ownsConnections ? at.given : ATTEMPT_MS)
    return this.ownsConnections ? at.connection : within(at.connection, at.given, `no connection to node ${at.id} within ${at.given} ms`)
  }

  /** A success: the answer to `req`, unless it answers another request (then its connection goes, and that fails at once). */
  private answerTo<R extends ClientRequest>(req: R, reply: ClientReply, at: Attempt): ReplyTo<R['type']> {
    if (!isReplyTo<R['type']>(req.type, reply)) {
      this.connections.drop(at.id, at.connection!)
      throw new MismatchedReplyError(at.id, req.type, reply)
    }
    this.lastLeader = at.id
    return reply
  }

  /**
   * The node did not serve the request: a refused change, or with `only` another node leading,
   * ends it (thrown); else the tracker follows the hint. The problem to report if no node answers,
   * and how long to pause before the next attempt (null: no pause).
   */
  private notServed(reply: Extract<ClientReply, {ok: false}>, id: NodeId, deadline: number): {problem: string; pauseMs: number | null} {
    if (reply.error === 'refused') throw new ChangeRefusedError(reply.reason, id)
    if (this.opts.only !== undefined && reply.leaderHint !== null && reply.leaderHint !== id) throw new NotLeaderError(id, reply.leaderHint)
    const problem = reply.error === 'unknown-outcome' ? `node ${id} lost leadership during the write` : `node ${id} is not the leader`
    this.tracker.redirected(reply.leaderHint)
    // Everyone may be between leaders, or the leader named is being avoided: back off a
    // little (until it may be tried again) instead of asking the followers round and round.
    const avoidFor = reply.leaderHint === null ? 50 : (this.silentUntil.get(reply.leaderHint) ?? 0) - Date.now()
    return {problem, pauseMs: avoidFor > 0 ? Math.min(50, avoidFor, deadline - Date.now()) : null}
  }

  /**
   * An attempt that failed: errors that end the request are thrown again; otherwise the node may
   * be avoided for a while, the connection dropped, and the next node is up. The problem to report.
   */
  private failed(err: unknown, at: Attempt): string {
    if (err instanceof NotLeaderError || err instanceof ChangeRefusedError || err instanceof MismatchedReplyError) throw err
    const e = err as Error & {code?: string; remoteCode?: string}
    if (e.code === 'remote' && e.remoteCode === 'bad-request') throw err
    const {id, given, connection} = at
    const problem = `node ${id}: ${e.message}`
    // A node that let the attempt time out (paused, overloaded) is avoided for as long as it
    // was given: a full attempt's silence is telling, one cut short by the deadline is not.
    if (e.code === 'timeout') this.silentUntil.set(id, Date.now() + given)
    // The connection goes unless the node answered on it (an error reply such as `busy`, a
    // request too large to send) or only this request's own deadline cut it short: it may be
    // shared, and dropping it fails every other request in flight on it.
    const healthy = e.code === 'remote' || e.code === 'too-large' || (e.code === 'timeout' && given < ATTEMPT_MS)
    if (connection && !healthy) this.connections.drop(id, connection)
    this.tracker.next()
    return problem
  }

  async close(): Promise<void> {
    if (this.ownsConnections) await this.connections.close()
  }
}

/** One attempt at one node: what it gave the node to answer so far, and the connection it asked for. */
interface Attempt {
  id: NodeId
  given: number
  connection?: Promise<ClientConnection>
}

/** No node answered within the caller's whole time (`totalMs`): what that means for a write, sent or not, or a read. */
function unavailable(write: boolean, sent: boolean, totalMs: number, lastProblem: string): UnavailableError {
  return new UnavailableError(
    write && sent
      ? `no leader committed the write within ${formatDuration(totalMs)} (the outcome is unknown; it may still commit): ${lastProblem}`
      : write
        ? `no node took the write within ${formatDuration(totalMs)} (it was not sent, so it did not take effect): ${lastProblem}`
        : `no leader answered within ${formatDuration(totalMs)}: ${lastProblem}`,
    write,
    sent,
  )
}

/** `p`, or a timeout error after `ms` (`p` itself goes on: a connection being made stays in its pool). */
function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TransportError('timeout', message)), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}
