// The replica driver: the one loop around the pure Raft core, shared by the real replica process
// and the deterministic simulator. For every Ready it persists (entries, term/vote, snapshot),
// fsyncs once (group commit), then sends, then applies to the key-value state machine, then
// answers clients, then advances. Nothing leaves the node before the state it depends on is
// durable; that ordering is the invariant this module owns.
//
// It only talks to the outside world through ports (storage, send, log), so the simulator can
// give it a crashable disk and a lossy network.
import type {LogView} from '../core/log.js'
import {RaftNode, type CoreMutant, type FollowerProgress, type RaftStatus} from '../core/raft.js'
import type {Entry, Message, NodeId, Ready, Role, Snapshot} from '../core/types.js'
import type {Prng} from '../lib/prng.js'
import {commandBytes, isKvCommand, KvStateMachine, type KvCommand, type KvSnapshot} from '../kv/state-machine.js'
import type {LogStorage} from '../storage/port.js'
import {SnapshotEncoder} from '../storage/snapshot-encoder.js'
import {assert} from '../lib/assert.js'
import type {ReplicaEvent} from '../protocol/events.js'
import {
  nodeOrNull,
  type ClientReply,
  type ClientRequest,
  type MemberRequest,
  type ReadRequest,
  type RegisterRequest,
  type WriteRequest,
} from '../protocol/protocol.js'
import type {Membership} from '../core/membership.js'

/**
 * Mutants of the driver and the state machine (see CoreMutant for the core's): for proving the
 * checkers can fail. `implicit-sessions` is issue #12's bug 4 (sessions started by a first write).
 */
export type ReplicaMutant =
  | CoreMutant
  | 'read-without-readindex'
  | 'ack-before-fsync'
  | 'implicit-sessions'
  | 'snapshot-without-config'
  | 'lazy-config-commit'
  /** A leader whose sync hangs goes on replicating and heartbeating through it (issue #14's stall test found it). */
  | 'replicate-through-stall'

export const REPLICA_MUTANTS: readonly ReplicaMutant[] = [
  'double-vote',
  'vote-without-log-check',
  'commit-old-term',
  'no-truncate-conflict',
  'apply-past-commit',
  'read-before-own-term-commit',
  'read-without-readindex',
  'ack-before-fsync',
  'implicit-sessions',
  'conf-change-before-own-term-commit',
  'campaign-with-unapplied-config',
  'no-commit-proof',
  'ignore-outsider-votes',
  'leader-counts-unsynced',
  'reapply-during-sync',
  'replicate-through-stall',
  'joint-new-majority-only',
  'learner-counts',
  'snapshot-without-config',
  'lazy-config-commit',
]

/**
 * Mutants of the driver rather than the core, two of them found by the simulator while membership
 * was built: `snapshot-without-config`, a local snapshot written without the configuration in
 * force; `lazy-config-commit`, a commitIndex that passes a configuration change persisted lazily
 * (a restart then campaigns under the configuration before it: two changes behind).
 */
const DRIVER_MUTANTS: readonly ReplicaMutant[] = [
  'read-without-readindex',
  'ack-before-fsync',
  'implicit-sessions',
  'snapshot-without-config',
  'lazy-config-commit',
  'replicate-through-stall',
]

export interface ReplicaConfig {
  id: NodeId
  peers: NodeId[]
  electionTicks: number
  heartbeatTicks: number
  prng: Prng
  /** Take a snapshot once this many entries were applied since the last one. */
  snapshotEvery?: number
  maxSessions?: number
  maxEntriesPerAppend?: number
  maxInflight?: number
  maxApplyBatch?: number
  /** PreVote and CheckQuorum (default on): liveness aids that safety must never depend on. */
  preVote?: boolean
  checkQuorum?: boolean
  mutant?: ReplicaMutant
  /** Snapshot encoding: array elements per step (SnapshotEncoder). Default 2,000. */
  snapshotItemsPerStep?: number
}

export interface ReplicaPorts {
  storage: LogStorage
  send(message: Message): void
  /** What the driver and the core report (elections, snapshots, ...): the node log's lines. */
  log(event: ReplicaEvent): void
  /**
   * With a storage that syncs off the event loop: called once a Ready whose sync was in flight is
   * finished (the driver should process() again soon: the next Ready has grown meanwhile).
   */
  synced?(): void
  /**
   * Runs `fn` soon, after pending input (setImmediate in a process). With it, a snapshot is
   * encoded a step at a time between batches instead of in one go; without it, at once.
   */
  defer?(fn: () => void): void
}

export type Reply = (reply: ClientReply) => void

export type ReplicaStatus = RaftStatus

/** What an applied command adds to the log beyond its key and values (ids, framing). */
const ENTRY_OVERHEAD_BYTES = 48

export class Replica {
  private readonly raft: RaftNode
  readonly kv: KvStateMachine
  private readonly snapshotEvery: number
  private readonly mutant?: ReplicaMutant
  /** Proposed writes by log index: the term they were proposed in, and who waits for them. */
  private readonly pendingWrites = new Map<number, {term: number; replies: Reply[]; key: string | null}>()
  /** `session:seq` -> index of its pending proposal, so a retry joins it instead of proposing again. */
  private readonly pendingByRequest = new Map<string, number>()
  private readonly pendingReads = new Map<number, {key: string; reply: Reply}>()
  /** Confirmed reads waiting for the state machine to reach their index, in index order. */
  private readonly readsAwaitingApply: {index: number; key: string; reply: Reply}[] = []
  private nextReadId = 1
  private role: Role = 'follower'
  private leaderId: NodeId | 0 = 0
  /** ack-before-fsync mutant: batches written but not yet synced. */
  private unsyncedBatches = 0
  /** A Ready's storage sync is in flight (off the event loop): no next Ready until it is done. */
  private syncing = false
  /** A snapshot finished encoding while a sync was in flight: written once it is done. */
  private snapshotWaits = false
  /** Term and vote as last made durable: a leader's early AppendEntries may not run ahead of them. */
  private durableTermVote: {term: number; vote: NodeId | 0}
  /** What the loop did since the start: entries written, AppendEntries sent with entries and the entries they carried. */
  readonly io = {entriesWritten: 0, appendsSent: 0, entriesSent: 0}
  /** Ticks since the sync in flight started (replicating during a sync stops after a heartbeat interval). */
  private syncTicks = 0
  private readonly heartbeatTicks: number
  /** Readys taken so far (the simulator tells a process() that took one from one a sync held up). */
  readiesTaken = 0
  /** A snapshot being encoded step by step (state captured at `snapshot.lastIncludedIndex`). */
  private snapshotJob: {snapshot: Snapshot; encoder: SnapshotEncoder; steps: number} | null = null
  private readonly snapshotItemsPerStep?: number
  private stopped = false
  /** Bytes of commands applied since the last snapshot (keys and values; an estimate). */
  private bytesSinceSnapshot = 0
  /** Size of the last snapshot this replica wrote (0: none yet since it started). */
  private lastSnapshotBytes = 0
  /** Configuration entries applied in the current Ready whose proposer waits for an answer. */
  private readonly configApplied: Entry[] = []
  /** Called when a new configuration is in force (the process updates its address book). */
  onMembership?: (membership: Membership) => void
  /** Retried writes that joined their pending proposal instead of adding an entry. */
  retriesJoined = 0
  /** Called for every entry applied, in order (checkers and the node log use it). */
  onApply?: (entry: Entry) => void
  /** Called when a snapshot from the leader replaced the state: applying goes on after `index`. */
  onRestored?: (index: number) => void
  /**
   * The replicated state at each applied index (after an entry, or a snapshot): the key-value
   * data and sessions, and the configuration in force, as one canonical text. For checkers that
   * compare replicas; computed only when set.
   */
  onStateAt?: (index: number, state: string) => void
  /** Key-value fingerprints of this Ready's applied indexes, completed with the configuration after advance. */
  private readonly statesToReport: {index: number; kv: string}[] = []

  constructor(
    cfg: ReplicaConfig,
    private readonly ports: ReplicaPorts,
  ) {
    this.snapshotEvery = cfg.snapshotEvery ?? 10_000
    this.snapshotItemsPerStep = cfg.snapshotItemsPerStep
    this.mutant = cfg.mutant
    this.heartbeatTicks = cfg.heartbeatTicks
    const state = ports.storage.load()
    this.durableTermVote = {term: state.hardState.currentTerm, vote: state.hardState.votedFor}
    this.kv = new KvStateMachine(cfg.maxSessions, cfg.mutant === 'implicit-sessions')
    if (state.snapshot) this.kv.restore(state.snapshot.data as KvSnapshot)
    const coreMutant = cfg.mutant === undefined || DRIVER_MUTANTS.includes(cfg.mutant) ? undefined : (cfg.mutant as CoreMutant)
    this.raft = new RaftNode(
      {
        id: cfg.id,
        peers: cfg.peers,
        electionTicks: cfg.electionTicks,
        heartbeatTicks: cfg.heartbeatTicks,
        prng: cfg.prng,
        maxEntriesPerAppend: cfg.maxEntriesPerAppend,
        maxInflight: cfg.maxInflight,
        maxApplyBatch: cfg.maxApplyBatch,
        preVote: cfg.preVote,
        checkQuorum: cfg.checkQuorum,
        mutant: coreMutant,
        onEvent: (e) => ports.log(e),
      },
      state,
    )
    if (state.snapshot) ports.log({type: 'snapshot-restored', index: state.snapshot.lastIncludedIndex})
  }

  // ---------------------------------------------------------------- inputs (call process() after)

  tick(): void {
    if (this.syncing) this.syncTicks++
    this.raft.tick()
  }

  receive(message: Message): void {
    this.raft.step(message)
  }

  request(req: ClientRequest, reply: Reply): void {
    if (req.type === 'get') this.read(req, reply)
    else if (req.type === 'member') this.changeMembership(req, reply)
    else this.write(req, reply)
  }

  /** A configuration change: proposed by the leader, answered once applied. */
  private changeMembership(req: MemberRequest, reply: Reply): void {
    const result = this.raft.proposeConfChange(req.change, {force: req.force})
    if (!result.ok) {
      const leader = this.raft.status().role === 'leader'
      return reply(
        leader
          ? {ok: false, error: 'refused', reason: result.reason, leaderHint: nodeOrNull(result.leaderHint)}
          : {ok: false, error: 'not-leader', leaderHint: nodeOrNull(result.leaderHint)},
      )
    }
    this.settle(result.index, {ok: false, error: 'unknown-outcome', leaderHint: this.leaderHint()})
    this.pendingWrites.set(result.index, {term: this.raft.status().term, replies: [reply], key: null})
  }

  private write(req: WriteRequest | RegisterRequest, reply: Reply): void {
    const key = req.type === 'register' ? (req.nonce === undefined ? null : `register:${req.nonce}`) : `${req.session}:${req.seq}`
    if (key !== null && this.joinPending(key, reply)) return
    const {type, ...rest} = req
    const cmd = (req.type === 'register' ? {op: 'register'} : {op: type, ...rest}) as KvCommand
    const result = this.raft.propose(cmd)
    if (!result.ok) return reply({ok: false, error: 'not-leader', leaderHint: nodeOrNull(result.leaderHint)})
    // An index proposed earlier but overwritten can be reused; its client is told the outcome.
    this.settle(result.index, {ok: false, error: 'unknown-outcome', leaderHint: this.leaderHint()})
    this.pendingWrites.set(result.index, {term: result.term, replies: [reply], key})
    if (key !== null) this.pendingByRequest.set(key, result.index)
  }

  /**
   * A retry of a write this leader proposed in its current term and has not applied yet waits for
   * that entry instead of adding another (a client retrying faster than entries commit would
   * otherwise fill the log with copies). Every requester gets the entry's outcome.
   */
  private joinPending(key: string, reply: Reply): boolean {
    const index = this.pendingByRequest.get(key)
    if (index === undefined) return false
    const pending = this.pendingWrites.get(index)
    const st = this.raft.status()
    if (!pending || st.role !== 'leader' || pending.term !== st.term || this.raft.log().termAt(index) !== pending.term) return false
    pending.replies.push(reply)
    this.retriesJoined++
    return true
  }

  /** The node this one believes leads, as a reply names it. */
  private leaderHint(): NodeId | null {
    return nodeOrNull(this.raft.status().leaderId)
  }

  /** Answers and forgets the write pending at `index`, if any. */
  private settle(index: number, answer: ClientReply): void {
    const pending = this.pendingWrites.get(index)
    if (!pending) return
    this.pendingWrites.delete(index)
    if (pending.key !== null && this.pendingByRequest.get(pending.key) === index) this.pendingByRequest.delete(pending.key)
    for (const reply of pending.replies) reply(answer)
  }

  private read(req: ReadRequest, reply: Reply): void {
    if (req.stale) return reply({ok: true, type: 'get', value: this.kv.get(req.key), index: this.raft.status().appliedIndex})
    if (this.mutant === 'read-without-readindex' && this.raft.status().role === 'leader') {
      return reply({ok: true, type: 'get', value: this.kv.get(req.key), index: this.raft.status().appliedIndex})
    }
    const id = this.nextReadId++
    const result = this.raft.readIndex(id)
    if (!result.ok) return reply({ok: false, error: 'not-leader', leaderHint: nodeOrNull(result.leaderHint)})
    this.pendingReads.set(id, {key: req.key, reply})
  }

  campaignNow(): {ok: true} | {ok: false; reason: string} {
    return this.raft.campaignNow()
  }

  transferLeadership(to: NodeId): {ok: true} | {ok: false; reason: string} {
    return this.raft.transferLeadership(to)
  }

  // ---------------------------------------------------------------- the loop

  /**
   * Handles the core's Readys: all of them, or at most `limit` (the simulator's driver that
   * yields between Readys, as one whose fsync runs off the event loop would). Returns whether
   * another Ready is waiting.
   */
  process(limit = Infinity): boolean {
    if (this.syncing) {
      this.applyDurableCommitted()
      this.replicateDuringSync()
    }
    for (let n = 0; n < limit && !this.syncing && this.raft.hasReady(); n++) this.handleReady(this.raft.ready())
    return !this.syncing && this.raft.hasReady()
  }

  /** Whether a Ready's sync is in flight (the process waits for it before closing storage). */
  get syncInFlight(): boolean {
    return this.syncing
  }

  /**
   * One Ready: write, sync, send, apply, advance. With a storage that syncs off the event loop
   * the sync runs while the loop goes on receiving (the core batches what arrives into the next
   * Ready), and the rest of the Ready waits for it (finishReady). A leader sends its
   * AppendEntries before its own sync (Raft thesis 10.2.1): followers write in parallel with it,
   * and the core counts the leader's own entries toward commitment only once they are durable
   * (advance). Every other message waits for the sync: what it says (a vote, an acknowledgement)
   * must be durable first.
   */
  private handleReady(rd: Ready): void {
    this.readiesTaken++
    const storage = this.ports.storage
    if (rd.snapshot) storage.saveSnapshot(rd.snapshot, true)
    if (rd.entries.length > 0) storage.append(rd.entries)
    if (rd.hardState) storage.setHardState(rd.hardState, rd.mustPersistCommit && this.mutant !== 'lazy-config-commit')
    const wrote = rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null
    this.io.entriesWritten += rd.entries.length
    if (!wrote) return this.finishReady(rd, false, false)
    const early = this.mayReplicateEarly(rd)
    if (early) for (const m of rd.messages) if (m.type === 'AppendEntries') this.sendMessage(m)
    const appliedEarly = this.applyEarly(rd)
    if (this.mutant === 'ack-before-fsync') {
      // The mutant fsyncs only every 20th batch, after it already acknowledged the others.
      if (++this.unsyncedBatches >= 20) {
        storage.sync()
        this.unsyncedBatches = 0
      }
      return this.finishReady(rd, early, appliedEarly)
    }
    if (storage.syncAsync && !this.stopped) {
      this.syncing = true
      this.syncTicks = 0
      const pending = storage.syncAsync((err) => {
        // A failed fsync leaves nothing to trust: the process fails (as a synchronous one would).
        if (err) throw err
        this.syncing = false
        this.finishReady(rd, early, appliedEarly)
        this.ports.synced?.()
      })
      if (pending) return
      this.syncing = false
    } else storage.sync()
    this.finishReady(rd, early, appliedEarly)
  }

  /**
   * Applies a Ready's committed entries before its sync when they are durable here already (they
   * were written by an earlier Ready): their clients need not wait for this Ready's writes. Not
   * with a snapshot to restore first, nor for a configuration change (it switches the core's
   * configuration when the Ready is advanced). Returns whether it did.
   */
  private applyEarly(rd: Ready): boolean {
    const ents = rd.committedEntries
    if (ents.length === 0 || rd.snapshot) return false
    const durable = this.raft.log().persisted
    if (ents.some((e) => e.index > durable || e.type === 'config')) return false
    this.raft.appliedTo(ents[ents.length - 1]!.index)
    this.applyNow(ents)
    return true
  }

  /**
   * While a Ready's sync is in flight, what commits meanwhile (the followers' answers arrive) and
   * is durable here is applied at once, and its clients answered, instead of after the sync and
   * the next Ready: a leader's writes commit while its next batch syncs.
   */
  private applyDurableCommitted(): void {
    const ents = this.raft.takeDurableCommitted()
    if (ents.length > 0) this.applyNow(ents)
  }

  /**
   * While a Ready's sync is in flight a leader sends what it proposed meanwhile at once, as it
   * sends a Ready's own AppendEntries before that Ready's sync: the followers write it in parallel
   * with the leader's sync instead of after it. Only in a term that is durable here, and only for
   * the first heartbeat interval of the sync: a leader whose disk hangs must fall silent, so that
   * its followers elect another instead of following a leader that can commit but never answer.
   */
  private replicateDuringSync(): void {
    // A stopping replica's ticks have stopped too: it must not hold off an election while it waits for its sync.
    if (this.stopped || (this.syncTicks >= this.heartbeatTicks && this.mutant !== 'replicate-through-stall')) return
    const st = this.raft.status()
    if (st.role !== 'leader' || st.term !== this.durableTermVote.term) return
    for (const m of this.raft.takeAppends()) this.sendMessage(m)
  }

  /** Applies entries outside a Ready's end, then what follows: state reports to the checkers, reads. */
  private applyNow(ents: readonly Entry[]): void {
    for (const entry of ents) this.applyEntry(entry)
    this.reportStates()
    this.serveReads()
  }

  /** The replicated states of the indexes applied since the last report, to the checkers. */
  private reportStates(): void {
    for (const {index, kv} of this.statesToReport.splice(0)) this.onStateAt?.(index, `${kv} ${JSON.stringify(this.raft.membershipAt(index))}`)
  }

  /**
   * Whether this Ready's AppendEntries may go out before its sync: the node leads, and the Ready
   * neither installs a snapshot nor changes the term or vote (messages of a term are sent only
   * once the term is durable).
   */
  private mayReplicateEarly(rd: Ready): boolean {
    if (rd.softState.role !== 'leader' || rd.snapshot) return false
    const hs = rd.hardState
    return hs === null || (hs.currentTerm === this.durableTermVote.term && hs.votedFor === this.durableTermVote.vote)
  }

  private sendMessage(m: Message): void {
    if (m.type === 'AppendEntries' && m.entries.length > 0) {
      this.io.appendsSent++
      this.io.entriesSent += m.entries.length
    }
    this.ports.send(m)
  }

  /** The rest of a Ready, once what it wrote is durable: send, apply, answer, advance. */
  private finishReady(rd: Ready, sentEarly: boolean, appliedEarly: boolean): void {
    if (rd.hardState) this.durableTermVote = {term: rd.hardState.currentTerm, vote: rd.hardState.votedFor}
    for (const m of rd.messages) if (!(sentEarly && m.type === 'AppendEntries')) this.sendMessage(m)
    if (rd.snapshot) {
      this.kv.restore(rd.snapshot.data as KvSnapshot)
      this.bytesSinceSnapshot = 0
      this.onRestored?.(rd.snapshot.lastIncludedIndex)
      if (this.onStateAt) this.statesToReport.push({index: rd.snapshot.lastIncludedIndex, kv: this.kv.fingerprint()})
    }
    if (!appliedEarly) for (const entry of rd.committedEntries) this.applyEntry(entry)
    for (const rs of rd.readStates) {
      const pending = this.pendingReads.get(rs.ctx as number)
      if (!pending) continue
      this.pendingReads.delete(rs.ctx as number)
      this.readsAwaitingApply.push({index: rs.index, key: pending.key, reply: pending.reply})
    }
    const before = this.raft.status().membership
    this.raft.advance(rd)
    const membership = this.raft.status().membership
    for (const entry of this.configApplied.splice(0)) {
      const pending = this.pendingWrites.get(entry.index)
      if (!pending) continue
      this.settle(
        entry.index,
        pending.term === entry.term
          ? {ok: true, type: 'member', membership, index: entry.index}
          : {ok: false, error: 'unknown-outcome', leaderHint: this.leaderHint()},
      )
    }
    if (membership !== before) this.onMembership?.(membership)
    this.reportStates()
    this.serveReads()
    this.noteSoftState(rd)
    if (this.snapshotWaits) {
      this.snapshotWaits = false
      if (this.snapshotJob && !this.stopped) this.finishSnapshot()
    }
    this.maybeSnapshot()
  }

  private applyEntry(entry: Entry): void {
    this.onApply?.(entry)
    this.applyCommand(entry)
    if (this.onStateAt) this.statesToReport.push({index: entry.index, kv: this.kv.fingerprint()})
  }

  private applyCommand(entry: Entry): void {
    const pending = this.pendingWrites.get(entry.index)
    if (entry.type === 'config') {
      // Answered once the core has switched to it (after this Ready is advanced).
      if (pending) this.configApplied.push(entry)
      return
    }
    if (entry.type !== 'normal' || !isKvCommand(entry.data)) {
      if (entry.type === 'normal') this.ports.log({type: 'malformed-command', index: entry.index})
      if (pending) this.settle(entry.index, {ok: false, error: 'unknown-outcome', leaderHint: this.leaderHint()})
      return
    }
    this.bytesSinceSnapshot += ENTRY_OVERHEAD_BYTES + commandBytes(entry.data)
    const applied = this.kv.apply(entry.data, entry.index)
    if (!pending) return
    if (pending.term !== entry.term) return this.settle(entry.index, {ok: false, error: 'unknown-outcome', leaderHint: this.leaderHint()})
    if (applied.kind === 'registered') this.settle(entry.index, {ok: true, type: 'register', session: applied.session, index: entry.index})
    else {
      const type = entry.data.op
      assert(type !== 'register', 'a registration applies as one')
      this.settle(entry.index, {ok: true, type, result: applied.result, index: applied.index})
    }
  }

  private serveReads(): void {
    const applied = this.raft.status().appliedIndex
    let served = 0
    while (served < this.readsAwaitingApply.length && this.readsAwaitingApply[served]!.index <= applied) {
      const r = this.readsAwaitingApply[served++]!
      r.reply({ok: true, type: 'get', value: this.kv.get(r.key), index: applied})
    }
    if (served > 0) this.readsAwaitingApply.splice(0, served)
  }

  private noteSoftState(rd: Ready): void {
    const {role, leaderId} = rd.softState
    if (role === this.role && leaderId === this.leaderId) return
    const wasLeader = this.role === 'leader'
    this.role = role
    this.leaderId = leaderId
    if (wasLeader && role !== 'leader') {
      // Writes in flight may still commit under the next leader: their outcome is unknown.
      for (const {replies} of this.pendingWrites.values())
        for (const reply of replies) reply({ok: false, error: 'unknown-outcome', leaderHint: nodeOrNull(leaderId)})
      this.pendingWrites.clear()
      this.pendingByRequest.clear()
      for (const {reply} of this.pendingReads.values()) reply({ok: false, error: 'not-leader', leaderHint: nodeOrNull(leaderId)})
      this.pendingReads.clear()
    }
    if (leaderId !== 0 && role !== 'leader') this.ports.log({type: 'following', leader: leaderId, term: this.raft.status().term})
  }

  /**
   * A snapshot is due once `snapshotEvery` entries were applied since the last one and, as well,
   * commands worth half the last snapshot's size: with a large state, writing the whole state
   * every few thousand small writes would cost far more disk and CPU than the log it saves (the
   * log kept in memory and replayed on restart stays below half the state's size).
   *
   * Then the state machine's state at the applied index is captured (a shallow copy: keys and
   * values are immutable strings) and encoded; with a `defer` port a step at a time between
   * batches, so a large state does not stall heartbeats. Only when the encoding is done are the
   * log compacted and the file written: until then nothing changes but memory, and a crash
   * simply loses the unfinished job.
   */
  private maybeSnapshot(): void {
    if (this.snapshotJob || this.stopped) return
    const applied = this.raft.status().appliedIndex
    const lastIncludedIndex = this.raft.log().snapshotIndex
    if (applied - lastIncludedIndex < this.snapshotEvery) return
    if (this.bytesSinceSnapshot < this.lastSnapshotBytes / 2) return
    const term = this.raft.log().termAt(applied)
    if (term === undefined) return
    // The configuration in force at `applied` travels with the state (it is the node's now).
    const snapshot: Snapshot = {lastIncludedIndex: applied, lastIncludedTerm: term, data: this.kv.snapshot(), config: this.raft.status().membership}
    if (this.mutant === 'snapshot-without-config') delete snapshot.config
    this.bytesSinceSnapshot = 0
    const encoder = new SnapshotEncoder(snapshot, {itemsPerStep: this.snapshotItemsPerStep})
    this.snapshotJob = {snapshot, encoder, steps: 0}
    if (this.ports.defer) this.ports.defer(() => this.snapshotStep())
    else {
      encoder.finish()
      this.finishSnapshot()
    }
  }

  private snapshotStep(): void {
    const job = this.snapshotJob
    if (!job || this.stopped) return
    job.steps++
    if (!job.encoder.step()) return this.ports.defer!(() => this.snapshotStep())
    // The snapshot compacts the log and writes storage: not while a Ready's sync is in flight.
    if (this.syncing) this.snapshotWaits = true
    else this.finishSnapshot()
  }

  private finishSnapshot(): void {
    const job = this.snapshotJob!
    this.snapshotJob = null
    const {lastIncludedIndex: index, lastIncludedTerm: term} = job.snapshot
    // A snapshot from the leader may have replaced the log meanwhile; then this one is moot.
    if (this.raft.log().snapshotIndex >= index) {
      this.ports.log({type: 'snapshot-dropped', index, replacedBy: this.raft.log().snapshotIndex})
      return
    }
    const snap = this.raft.compact(index, job.snapshot.data)
    assert(snap.lastIncludedTerm === term, `snapshot at ${index}: term ${term} captured, ${snap.lastIncludedTerm} now`)
    const encoded = job.encoder.encoded()
    this.ports.storage.saveSnapshot(snap, false, encoded)
    this.lastSnapshotBytes = encoded.bytes
    // Make sure the snapshot is durable before segments below it are treated as gone.
    this.ports.storage.sync()
    this.ports.log({type: 'snapshot-taken', index, term, keys: (job.snapshot.data as KvSnapshot).data.length, bytes: encoded.bytes, steps: job.steps})
  }

  /** Stops background work (a snapshot being encoded); the process is about to close storage. */
  stop(): void {
    this.stopped = true
    this.snapshotJob = null
  }

  // ---------------------------------------------------------------- queries

  /** The node's Raft state now (a copy). */
  status(): ReplicaStatus {
    return this.raft.status()
  }

  /** The node's log, read-only (checkers, status displays). */
  log(): LogView {
    return this.raft.log()
  }

  /** As leader: a follower's replication. */
  followerProgress(id: NodeId): FollowerProgress | undefined {
    return this.raft.followerProgress(id)
  }

  /** Fails every request still waiting (shutdown, crash in the simulator). */
  abandonRequests(): void {
    for (const {replies} of this.pendingWrites.values()) for (const reply of replies) reply({ok: false, error: 'unknown-outcome', leaderHint: null})
    for (const {reply} of this.pendingReads.values()) reply({ok: false, error: 'not-leader', leaderHint: null})
    for (const {reply} of this.readsAwaitingApply) reply({ok: false, error: 'not-leader', leaderHint: null})
    this.pendingWrites.clear()
    this.pendingByRequest.clear()
    this.pendingReads.clear()
    this.readsAwaitingApply.length = 0
  }
}
