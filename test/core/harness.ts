// A deterministic, hand-driven test bench for the Raft core: a cluster of RaftNode instances, an
// in-memory network whose every message the test controls (deliver all, deliver some, drop, cut
// links, isolate, crash), a simulated stable storage that follows the Ready contract (persist
// hardState/snapshot/entries — truncating on conflict — then send, then apply, then advance), and
// small helpers to build a node with a preset log and term. Not a test file itself.
//
// Invariants watched on every Ready (collected in `violations`, asserted by the tests):
// - persistence ordering: a message never depends on state that is not yet on "disk" after that
//   very Ready was persisted (a granted vote, a term, an acknowledged entry);
// - election safety: at most one leader per term;
// - state machine safety: no two nodes apply different entries at the same index.
import assert from 'node:assert/strict'
import {RaftNode, type RaftConfig} from '../../src/core/raft.js'
import {formatEvent, formatMessage} from '../../src/core/format.js'
import type {Entry, HardState, Message, NodeId, ReadState, Ready, Snapshot} from '../../src/core/types.js'
import {Prng} from '../../src/lib/prng.js'

export const ELECTION_TICKS = 10
export const HEARTBEAT_TICKS = 2

/** Entries with the given terms, starting at `start`; data names the entry ("3@2"). */
export function makeLog(terms: number[], start = 1): Entry[] {
  return terms.map((term, i) => ({term, index: start + i, type: 'normal' as const, data: `${start + i}@${term}`}))
}

/** The terms of a log, index by index: the shape the paper's figures draw. */
export function termsOf(entries: Entry[]): number[] {
  return entries.map((e) => e.term)
}

/** A log reduced to what identifies an entry (index, term, type, data). */
export function logOf(entries: Entry[]): string[] {
  return entries.map((e) => `${e.index}@${e.term}${e.type === 'noop' ? ':noop' : `:${String(e.data)}`}`)
}

export interface NodeSpec {
  currentTerm?: number
  votedFor?: NodeId | 0
  commitIndex?: number
  /** Terms of entries 1..n (or after the snapshot), or explicit entries. */
  log?: number[] | Entry[]
  snapshot?: Snapshot | null
}

export interface ClusterOptions {
  config?: Partial<Omit<RaftConfig, 'id' | 'peers' | 'prng'>>
  perNode?: Record<number, Partial<Omit<RaftConfig, 'id' | 'peers' | 'prng'>>>
  initial?: Record<number, NodeSpec>
  seed?: number
}

export function initialState(spec: NodeSpec = {}): {hardState: HardState; snapshot: Snapshot | null; entries: Entry[]} {
  const snapshot = spec.snapshot ?? null
  const start = (snapshot?.lastIncludedIndex ?? 0) + 1
  const log = spec.log ?? []
  const entries: Entry[] = log.length > 0 && typeof log[0] === 'number' ? makeLog(log as number[], start) : (log as Entry[])
  return {
    hardState: {currentTerm: spec.currentTerm ?? 0, votedFor: spec.votedFor ?? 0, commitIndex: spec.commitIndex ?? 0},
    snapshot,
    entries,
  }
}

/** Stable storage as the driver keeps it: written only from Ready batches (and compactions). */
export class MemStorage {
  hardState: HardState
  snapshot: Snapshot | null
  entries: Entry[]

  constructor(init: {hardState: HardState; snapshot: Snapshot | null; entries: Entry[]}) {
    this.hardState = {...init.hardState}
    this.snapshot = init.snapshot
    const snapIndex = init.snapshot?.lastIncludedIndex ?? 0
    this.entries = init.entries.filter((e) => e.index > snapIndex)
  }

  snapshotIndex(): number {
    return this.snapshot?.lastIncludedIndex ?? 0
  }

  lastIndex(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.index : this.snapshotIndex()
  }

  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex()) return this.snapshot?.lastIncludedTerm ?? 0
    return this.entries.find((e) => e.index === index)?.term
  }

  /** Returns problems found (a gap in the stored log). */
  persist(rd: Ready): string[] {
    const problems: string[] = []
    if (rd.hardState) this.hardState = {...rd.hardState}
    if (rd.snapshot) {
      // Installing a snapshot replaces the stored log (etcd MemoryStorage.ApplySnapshot).
      this.snapshot = rd.snapshot
      this.entries = []
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index
      this.entries = this.entries.filter((e) => e.index < first).concat(rd.entries.map((e) => ({...e})))
    }
    let expected = this.snapshotIndex() + 1
    for (const e of this.entries) {
      if (e.index !== expected) {
        problems.push(`stored log has a gap: expected index ${expected}, found ${e.index}`)
        break
      }
      expected++
    }
    return problems
  }

  compact(snapshot: Snapshot): void {
    this.snapshot = snapshot
    this.entries = this.entries.filter((e) => e.index > snapshot.lastIncludedIndex)
  }
}

/** A hand-made RequestVote (a real, non-PreVote one unless told otherwise). */
export function requestVote(
  from: NodeId,
  to: NodeId,
  term: number,
  lastLogIndex: number,
  lastLogTerm: number,
  opts: {preVote?: boolean; transfer?: boolean} = {},
): Message {
  return {type: 'RequestVote', from, to, term, lastLogIndex, lastLogTerm, preVote: opts.preVote ?? false, transfer: opts.transfer ?? false}
}

export type MessagePredicate = (m: Message) => boolean

/** Readable predicates for filters and drop rules. */
export const is = {
  type:
    (...types: Message['type'][]): MessagePredicate =>
    (m) =>
      types.includes(m.type),
  from:
    (id: NodeId): MessagePredicate =>
    (m) =>
      m.from === id,
  to:
    (id: NodeId): MessagePredicate =>
    (m) =>
      m.to === id,
  between:
    (a: NodeId, b: NodeId): MessagePredicate =>
    (m) =>
      (m.from === a && m.to === b) || (m.from === b && m.to === a),
  vote: ((m) => m.type === 'RequestVote' || m.type === 'RequestVoteResponse') as MessagePredicate,
}

export interface SentRecord {
  /** Position in the global send order. */
  seq: number
  message: Message
  /** Whether a drop rule discarded it when it left its node. */
  dropped: boolean
}

export class Cluster {
  readonly ids: NodeId[]
  readonly nodes = new Map<NodeId, RaftNode>()
  readonly storage = new Map<NodeId, MemStorage>()
  /** Committed entries each node handed to its state machine since it (re)started, in order. */
  readonly applied = new Map<NodeId, Entry[]>()
  /** Snapshots each node was told to restore (follower side of InstallSnapshot). */
  readonly restoredSnapshots = new Map<NodeId, Snapshot[]>()
  readonly readStates = new Map<NodeId, ReadState[]>()
  /** Every Ready each node produced, in order. */
  readonly readies = new Map<NodeId, Ready[]>()
  /** Every message that left a node through Ready.messages, in order. */
  readonly sent: SentRecord[] = []
  /** Every message stepped into a node, in order. */
  readonly delivered: Message[] = []
  /** Messages that left their node and have not been delivered or dropped yet. */
  pending: Message[] = []
  readonly violations: string[] = []
  readonly down = new Set<NodeId>()
  readonly events: string[] = []

  private rules: MessagePredicate[] = []
  private readonly options: ClusterOptions
  private readonly prngs = new Map<NodeId, Prng>()
  private readonly leaderOfTerm = new Map<number, NodeId>()
  private readonly appliedAt = new Map<number, {term: number; by: NodeId}>()
  private seqCounter = 0

  constructor(ids: NodeId[], options: ClusterOptions = {}) {
    this.ids = [...ids]
    this.initialVoters = [...ids]
    this.options = options
    const seed = options.seed ?? 1
    for (const id of ids) {
      this.prngs.set(id, new Prng(seed * 1000 + id))
      const init = initialState(options.initial?.[id])
      this.storage.set(id, new MemStorage(init))
      this.nodes.set(id, this.build(id, init))
      this.applied.set(id, [])
      this.restoredSnapshots.set(id, [])
      this.readStates.set(id, [])
      this.readies.set(id, [])
    }
  }

  /** The cluster's initial voters (nodes added later with addNode are not among them). */
  private initialVoters: NodeId[] = []

  /** A new, empty node joining later (it learns the configuration from the leader). */
  addNode(id: NodeId): RaftNode {
    assert.ok(!this.ids.includes(id), `node ${id} exists`)
    this.ids.push(id)
    this.prngs.set(id, new Prng((this.options.seed ?? 1) * 1000 + id))
    const init = initialState({})
    this.storage.set(id, new MemStorage(init))
    const n = this.build(id, init)
    this.nodes.set(id, n)
    this.applied.set(id, [])
    this.restoredSnapshots.set(id, [])
    this.readStates.set(id, [])
    this.readies.set(id, [])
    return n
  }

  configOf(id: NodeId): RaftConfig {
    return {
      id,
      peers: this.initialVoters,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: HEARTBEAT_TICKS,
      prng: this.prngs.get(id)!,
      onEvent: (e) => this.events.push(`${id}: ${formatEvent(e)}`),
      ...this.options.config,
      ...this.options.perNode?.[id],
    }
  }

  private build(id: NodeId, init: {hardState: HardState; snapshot: Snapshot | null; entries: Entry[]}): RaftNode {
    return new RaftNode(this.configOf(id), {
      hardState: {...init.hardState},
      snapshot: init.snapshot,
      entries: init.entries.map((e) => ({...e})),
    })
  }

  node(id: NodeId): RaftNode {
    const n = this.nodes.get(id)
    assert.ok(n, `no node ${id}`)
    return n
  }

  // ------------------------------------------------------------ network control

  /** Adds a drop rule: matching messages are discarded when they leave and when they would arrive. */
  dropIf(pred: MessagePredicate): () => void {
    this.rules.push(pred)
    return () => {
      this.rules = this.rules.filter((r) => r !== pred)
    }
  }

  /** Cuts the link between a and b in both directions. */
  cut(a: NodeId, b: NodeId): void {
    this.dropIf(is.between(a, b))
  }

  /** Cuts every link of `id`. */
  isolate(id: NodeId): void {
    this.dropIf((m) => m.from === id || m.to === id)
  }

  /** Removes every drop rule (pending messages stay pending). */
  heal(): void {
    this.rules = []
  }

  private droppedByRules(m: Message): boolean {
    return this.down.has(m.to) || this.down.has(m.from) || this.rules.some((r) => r(m))
  }

  /** Discards pending messages (all, or those matching `pred`); returns them. */
  dropPending(pred: MessagePredicate = () => true): Message[] {
    const dropped = this.pending.filter(pred)
    this.pending = this.pending.filter((m) => !pred(m))
    return dropped
  }

  /** Steps pending messages matching `pred` into their recipients, in send order. */
  deliver(pred: MessagePredicate = () => true): Message[] {
    const now = this.pending.filter(pred)
    this.pending = this.pending.filter((m) => !pred(m))
    const out: Message[] = []
    for (const m of now) {
      if (this.droppedByRules(m) || !this.nodes.has(m.to)) continue
      this.delivered.push(m)
      out.push(m)
      this.node(m.to).step(m)
    }
    return out
  }

  /** Hands a hand-made message straight to its recipient. */
  inject(m: Message): void {
    this.delivered.push(m)
    this.node(m.to).step(m)
  }

  // ------------------------------------------------------------ the driver loop

  /**
   * One turn of the Ready loop for one node: ready() → persist → send (into `pending`) → apply →
   * advance(). Returns the Ready, or null when the node had nothing to do.
   */
  process(id: NodeId): Ready | null {
    if (this.down.has(id)) return null
    const n = this.node(id)
    if (!n.hasReady()) return null
    const rd = n.ready()
    this.readies.get(id)!.push(rd)
    const st = this.storage.get(id)!
    for (const p of st.persist(rd)) this.violations.push(`node ${id}: ${p}`)
    this.violations.push(...orderingViolations(id, rd, st, n))
    for (const m of rd.messages) {
      const dropped = this.droppedByRules(m)
      this.sent.push({seq: this.seqCounter++, message: m, dropped})
      if (!dropped) this.pending.push(m)
    }
    if (rd.snapshot) this.restoredSnapshots.get(id)!.push(rd.snapshot)
    for (const e of rd.committedEntries) {
      this.applied.get(id)!.push(e)
      const prev = this.appliedAt.get(e.index)
      if (prev && prev.term !== e.term) {
        this.violations.push(`state machine safety: node ${id} applied ${e.index}@${e.term}, node ${prev.by} applied ${e.index}@${prev.term}`)
      } else if (!prev) this.appliedAt.set(e.index, {term: e.term, by: id})
    }
    this.readStates.get(id)!.push(...rd.readStates)
    if (rd.softState.role === 'leader') {
      const term = n.status().term
      const other = this.leaderOfTerm.get(term)
      if (other !== undefined && other !== id) this.violations.push(`election safety: ${other} and ${id} both lead term ${term}`)
      this.leaderOfTerm.set(term, id)
    }
    n.advance(rd)
    return rd
  }

  /** Runs one Ready turn on every live node; returns the messages that went onto the network. */
  collect(): Message[] {
    const before = this.pending.length
    for (const id of this.ids) this.process(id)
    return this.pending.slice(before)
  }

  /**
   * Ready → deliver until quiet: no node has a Ready and nothing deliverable is pending. With a
   * filter, only matching messages are delivered; the rest stay pending. Bounded.
   */
  stabilize(filter: MessagePredicate = () => true, maxRounds = 500): void {
    for (let round = 0; round < maxRounds; round++) {
      this.collect()
      const deliverable = this.pending.filter(filter)
      if (deliverable.length === 0 && this.ids.every((id) => this.down.has(id) || !this.node(id).hasReady())) return
      this.deliver(filter)
    }
    assert.fail(`cluster did not stabilize within ${maxRounds} rounds`)
  }

  // ------------------------------------------------------------ time

  /** Ticks one node n times (no message processing in between). */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick()
  }

  /** n rounds of: every live node ticks once, then the cluster stabilizes (a fast, reliable network). */
  tickAll(n = 1, only: NodeId[] = this.ids.filter((id) => !this.down.has(id))): void {
    for (let i = 0; i < n; i++) {
      for (const id of only) this.node(id).tick()
      this.stabilize()
    }
  }

  /**
   * Ticks the given live nodes (all by default) one round at a time, stabilizing after each, until
   * `cond` holds; returns the rounds it took. Fails after `max` rounds.
   */
  tickUntil(cond: () => boolean, opts: {only?: NodeId[]; max?: number} = {}): number {
    const max = opts.max ?? 20 * ELECTION_TICKS
    for (let t = 1; t <= max; t++) {
      this.tickAll(1, opts.only)
      if (cond()) return t
    }
    return assert.fail(`condition not reached within ${max} ticks`)
  }

  /** Ticks `id` alone until it leaves the follower role (its election timeout); returns the ticks. */
  timeout(id: NodeId): number {
    const n = this.node(id)
    assert.equal(n.status().role, 'follower', `node ${id} must be a follower to time out`)
    for (let t = 1; t <= 2 * this.configOf(id).electionTicks; t++) {
      n.tick()
      if (n.status().role !== 'follower') return t
    }
    return assert.fail(`node ${id} did not time out within 2 election timeouts`)
  }

  /** Lets `id` time out and runs the cluster until quiet; asserts it became leader. */
  elect(id: NodeId): RaftNode {
    this.timeout(id)
    this.stabilize()
    const n = this.node(id)
    assert.equal(n.status().role, 'leader', `node ${id} should have won the election (events: ${this.events.join('; ')})`)
    return n
  }

  // ------------------------------------------------------------ crashes and snapshots

  /** Stops a node: no ticks, no Ready, messages to and from it are lost. */
  crash(id: NodeId): void {
    this.down.add(id)
    this.pending = this.pending.filter((m) => m.to !== id)
  }

  /** Rebuilds a node from its stable storage (volatile state is lost) and brings it back. */
  restart(id: NodeId): RaftNode {
    const st = this.storage.get(id)!
    const n = this.build(id, {hardState: st.hardState, snapshot: st.snapshot, entries: st.entries})
    this.nodes.set(id, n)
    this.down.delete(id)
    // The state machine restarts too: from the stored snapshot, then it replays committed entries.
    this.applied.set(id, [])
    return n
  }

  /** Compacts a node's log at `index` and stores the snapshot, as the driver would. */
  compact(id: NodeId, index: number, data: unknown): Snapshot {
    const snap = this.node(id).compact(index, data)
    this.storage.get(id)!.compact(snap)
    return snap
  }

  // ------------------------------------------------------------ queries

  leaders(): RaftNode[] {
    return this.ids
      .filter((id) => !this.down.has(id))
      .map((id) => this.node(id))
      .filter((n) => n.status().role === 'leader')
  }

  /** Messages that left a node (dropped or not), optionally filtered. */
  sentMessages(pred: MessagePredicate = () => true): Message[] {
    return this.sent.map((r) => r.message).filter(pred)
  }

  trace(): string {
    return this.sent.map((r) => `${r.dropped ? 'x ' : '  '}${formatMessage(r.message)}`).join('\n')
  }
}

/**
 * The persistence-ordering check for one Ready, run after `st` persisted it: every message must
 * depend only on what is now on stable storage (its term, a granted vote or a self-vote, the entries
 * an AppendEntriesResponse acknowledges). `n` is the node, for the in-memory terms.
 */
export function orderingViolations(id: NodeId, rd: Ready, st: MemStorage, n: RaftNode): string[] {
  const violations: string[] = []
  for (const m of rd.messages) {
    const what = `node ${id} sent "${formatMessage(m)}"`
    const isPre = (m.type === 'RequestVote' || m.type === 'RequestVoteResponse') && m.preVote
    if (!isPre && m.term > st.hardState.currentTerm) {
      violations.push(`${what} before persisting term ${m.term} (stored ${st.hardState.currentTerm})`)
    }
    // A vote, or an acknowledgement, of a term the node has since left (within the same Ready) is
    // covered by the newer stored term: the node can never act in that older term again.
    const superseded = m.term < st.hardState.currentTerm
    if (m.type === 'RequestVoteResponse' && !m.preVote && m.voteGranted && !superseded) {
      if (st.hardState.votedFor !== m.to || st.hardState.currentTerm !== m.term) {
        violations.push(`${what} but stored vote is ${st.hardState.votedFor} in term ${st.hardState.currentTerm}`)
      }
    }
    if (m.type === 'RequestVote' && !m.preVote && !superseded) {
      if (st.hardState.votedFor !== id || st.hardState.currentTerm !== m.term) {
        violations.push(`${what} but stored self-vote is ${st.hardState.votedFor} in term ${st.hardState.currentTerm}`)
      }
    }
    if (m.type === 'AppendEntriesResponse' && m.success && !superseded) {
      if (st.lastIndex() < m.matchIndex) {
        violations.push(`${what} but storage ends at ${st.lastIndex()}`)
      } else {
        for (let i = st.snapshotIndex() + 1; i <= m.matchIndex; i++) {
          if (st.termAt(i) !== n.log().termAt(i)) {
            violations.push(`${what} but stored entry ${i} has term ${st.termAt(i)}, memory ${n.log().termAt(i)}`)
            break
          }
        }
      }
    }
    if (m.type === 'InstallSnapshotResponse' && Math.max(st.lastIndex(), st.snapshotIndex()) < m.matchIndex) {
      violations.push(`${what} but storage ends at ${st.lastIndex()}`)
    }
  }
  return violations
}
