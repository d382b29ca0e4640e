// The Raft state machine (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", extended per the Raft thesis and etcd-io/raft): elections with PreVote and
// CheckQuorum, log replication with pipelining and flow control, commitment by counting
// current-term replicas, ReadIndex, leadership transfer and snapshot hand-off.
//
// It is pure and deterministic: time enters as tick(), the network as step(), clients as
// propose()/readIndex(); what it wants done leaves as a Ready batch. It never touches a clock, a
// socket, a file or Math.random — randomness comes from the injected Prng.
//
// Invariants kept here (and checked by the simulator): at most one vote per term, persisted before
// it is sent (it travels in the same Ready); a leader never overwrites or deletes its own entries;
// commitIndex only grows and only counts replicas of an entry of the leader's current term.
import {assert, unreachable} from '../lib/assert.js'
import type {Prng} from '../lib/prng.js'
import type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  HardState,
  InstallSnapshot,
  InstallSnapshotResponse,
  Message,
  NodeId,
  ProposeResult,
  ReadIndexResult,
  ReadState,
  Ready,
  RequestVote,
  RequestVoteResponse,
  Role,
  Snapshot,
  SoftState,
  TimeoutNow,
} from './types.js'

/** Deliberately broken behaviours, used only to prove the simulator's checkers can fail. */
export type CoreMutant =
  | 'double-vote'
  | 'vote-without-log-check'
  | 'commit-old-term'
  | 'no-truncate-conflict'
  /** Issue #12 bug 2: the apply window counted from appliedIndex while a snapshot was pending. */
  | 'apply-past-commit'
  /** A new leader serves ReadIndex before an entry of its own term commits (its commitIndex may lag). */
  | 'read-before-own-term-commit'

export interface RaftConfig {
  id: NodeId
  /** Every voter, this node included. */
  peers: NodeId[]
  /** Base election timeout in ticks; each node waits a random [e, 2e) ticks. */
  electionTicks: number
  heartbeatTicks: number
  prng: Prng
  preVote?: boolean
  checkQuorum?: boolean
  /** Most entries in one AppendEntries. */
  maxEntriesPerAppend?: number
  /** Most AppendEntries in flight (unacknowledged) to one follower while replicating. */
  maxInflight?: number
  /** Most committed entries handed out in one Ready. */
  maxApplyBatch?: number
  mutant?: CoreMutant
  /** Human-readable events (elections, votes, leadership) for the node log and the sim trace. */
  onEvent?: (line: string) => void
}

export interface RaftInitialState {
  hardState: HardState
  snapshot: Snapshot | null
  entries: Entry[]
}

type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** The leader's view of one follower (etcd's Progress). */
interface Progress {
  matchIndex: number
  nextIndex: number
  state: ProgressState
  /** probe: an AppendEntries is out and unanswered; wait for its answer or the next heartbeat. */
  probeSent: boolean
  /** replicate: the last index of each AppendEntries in flight, ascending. */
  inflight: number[]
  /** snapshot: the index of the snapshot being sent, and ticks since it was sent. */
  pendingSnapshot: number
  snapshotTicks: number
  /** replicate: ticks since matchIndex last advanced while AppendEntries were in flight. */
  stallTicks: number
  /** Heard from since the last CheckQuorum round. */
  recentActive: boolean
  /** Highest ReadIndex round this follower has acknowledged. */
  ackedReadSeq: number
}

interface PendingRead {
  ctx: unknown
  index: number
  seq: number
}

export class RaftNode {
  readonly id: NodeId
  private readonly peers: NodeId[]
  private readonly cfg: Required<Omit<RaftConfig, 'mutant' | 'onEvent'>> & Pick<RaftConfig, 'mutant' | 'onEvent'>

  // Persistent state (Figure 2).
  currentTerm = 0
  votedFor: NodeId | 0 = 0
  /** Entries after the snapshot: log[i] has index snapshotIndex + 1 + i. */
  private log: Entry[] = []
  private snapshotIndex = 0
  private snapshotTerm = 0
  private snapshot: Snapshot | null = null

  // Volatile state.
  role: Role = 'follower'
  leaderId: NodeId | 0 = 0
  commitIndex = 0
  /** Index of the last entry handed out for applying (advanced by advance()). */
  appliedIndex = 0

  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedElectionTicks = 0
  private votes = new Map<NodeId, boolean>()
  private progress = new Map<NodeId, Progress>()
  private transferTarget: NodeId | 0 = 0
  private transferElapsed = 0
  private readSeq = 0
  private readRoundPending = false
  private pendingReads: PendingRead[] = []
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private readsAwaitingCommit: unknown[] = []
  /** New entries to replicate, or a commitIndex advance to tell, at the next ready(). */
  private needBroadcast = false
  private needCommitBroadcast = false

  // Ready bookkeeping.
  private msgs: Message[] = []
  private readStates: ReadState[] = []
  /** Entries with index <= persistedIndex are on stable storage. */
  private persistedIndex = 0
  private pendingSnapshot: Snapshot | null = null
  private prevHardState: HardState
  private prevSoftState: SoftState

  constructor(config: RaftConfig, initial: RaftInitialState) {
    assert(config.peers.includes(config.id), `node ${config.id} is not among the peers ${config.peers}`)
    assert(config.electionTicks > config.heartbeatTicks, 'electionTicks must exceed heartbeatTicks')
    this.id = config.id
    this.peers = [...config.peers].sort((a, b) => a - b)
    this.cfg = {
      ...config,
      preVote: config.preVote ?? true,
      checkQuorum: config.checkQuorum ?? true,
      maxEntriesPerAppend: config.maxEntriesPerAppend ?? 256,
      maxInflight: config.maxInflight ?? 64,
      maxApplyBatch: config.maxApplyBatch ?? 4096,
    }
    assert(this.cfg.maxEntriesPerAppend >= 1 && this.cfg.maxInflight >= 1, 'maxEntriesPerAppend and maxInflight must be >= 1')
    const {hardState, snapshot, entries} = initial
    this.currentTerm = hardState.currentTerm
    this.votedFor = hardState.votedFor
    if (snapshot) {
      this.snapshot = snapshot
      this.snapshotIndex = snapshot.lastIncludedIndex
      this.snapshotTerm = snapshot.lastIncludedTerm
    }
    let expected = this.snapshotIndex + 1
    for (const e of entries) {
      if (e.index <= this.snapshotIndex) continue
      assert(e.index === expected, `initial entries not contiguous at ${e.index} (expected ${expected})`)
      this.log.push(e)
      expected++
    }
    // commitIndex is persisted lazily; it is never behind the snapshot and never past the log.
    this.commitIndex = Math.min(Math.max(hardState.commitIndex, this.snapshotIndex), this.lastIndex())
    this.appliedIndex = this.snapshotIndex
    this.persistedIndex = this.lastIndex()
    this.prevHardState = this.hardState()
    this.prevSoftState = this.softState()
    this.resetRandomizedElectionTicks()
  }

  // ---------------------------------------------------------------- queries

  lastIndex(): number {
    return this.snapshotIndex + this.log.length
  }

  lastTerm(): number {
    return this.log.length > 0 ? this.log[this.log.length - 1]!.term : this.snapshotTerm
  }

  firstIndex(): number {
    return this.snapshotIndex + 1
  }

  /** The term of the entry at `index`, or undefined if it is compacted away or past the end. */
  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm
    if (index < this.snapshotIndex || index > this.lastIndex()) return index === 0 ? 0 : undefined
    return this.log[index - this.snapshotIndex - 1]!.term
  }

  entryAt(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined
    return this.log[index - this.snapshotIndex - 1]
  }

  /** Entries [from, to] that are still in memory (for checkers and tests). */
  entries(from = this.firstIndex(), to = this.lastIndex()): Entry[] {
    const lo = Math.max(from, this.firstIndex())
    const hi = Math.min(to, this.lastIndex())
    if (hi < lo) return []
    return this.log.slice(lo - this.snapshotIndex - 1, hi - this.snapshotIndex)
  }

  snapshotMeta(): {lastIncludedIndex: number; lastIncludedTerm: number} {
    return {lastIncludedIndex: this.snapshotIndex, lastIncludedTerm: this.snapshotTerm}
  }

  hardState(): HardState {
    return {currentTerm: this.currentTerm, votedFor: this.votedFor, commitIndex: this.commitIndex}
  }

  softState(): SoftState {
    return {role: this.role, leaderId: this.leaderId}
  }

  quorum(): number {
    return Math.floor(this.peers.length / 2) + 1
  }

  /** The leader's view of a follower's replication, for status displays. */
  followerProgress(id: NodeId): {matchIndex: number; nextIndex: number; state: ProgressState} | undefined {
    const pr = this.progress.get(id)
    return pr && {matchIndex: pr.matchIndex, nextIndex: pr.nextIndex, state: pr.state}
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of logical time. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader()
    else this.tickElection()
  }

  /** Appends a client command to the log (leader only). Replication starts with the next Ready. */
  propose(data: unknown): ProposeResult {
    if (this.role !== 'leader') return {ok: false, reason: 'not-leader', leaderHint: this.leaderId}
    if (this.transferTarget !== 0) return {ok: false, reason: 'transferring', leaderHint: this.transferTarget}
    const entry = this.appendEntry('normal', data)
    return {ok: true, index: entry.index, term: entry.term}
  }

  /**
   * Asks for a linearizable read point. Once this leader has confirmed it still leads (a heartbeat
   * round acknowledged by a quorum), a ReadState {ctx, index} comes out of ready(): the read may be
   * served when the state machine has applied `index`.
   */
  readIndex(ctx: unknown): ReadIndexResult {
    if (this.role !== 'leader') return {ok: false, reason: 'not-leader', leaderHint: this.leaderId}
    if (this.termAt(this.commitIndex) !== this.currentTerm && this.cfg.mutant !== 'read-before-own-term-commit') {
      // Until an entry of this term commits, commitIndex may lag what earlier leaders committed.
      this.readsAwaitingCommit.push(ctx)
      return {ok: true}
    }
    this.startRead(ctx)
    return {ok: true}
  }

  /**
   * Starts an election now instead of waiting for the election timeout (etcd's MsgHup), through
   * PreVote when enabled, so it cannot disrupt a healthy leader. Used to elect a leader at once
   * on a freshly started cluster. Refused by a leader, or while a leader is known.
   */
  campaignNow(): {ok: true} | {ok: false; reason: string} {
    if (!this.peers.includes(this.id)) return {ok: false, reason: 'not a voter'}
    if (this.role === 'leader') return {ok: false, reason: 'already leader'}
    if (this.leaderId !== 0) return {ok: false, reason: `leader ${this.leaderId} is known`}
    this.electionElapsed = 0
    this.campaign(false)
    return {ok: true}
  }

  /** Hands leadership to `to` once its log is caught up (TimeoutNow). */
  transferLeadership(to: NodeId): {ok: true} | {ok: false; reason: string} {
    if (this.role !== 'leader') return {ok: false, reason: 'not-leader'}
    if (to === this.id) return {ok: true}
    if (!this.progress.has(to)) return {ok: false, reason: `unknown node ${to}`}
    this.transferTarget = to
    this.transferElapsed = 0
    this.event(`leadership transfer to ${to} started`)
    const pr = this.progress.get(to)!
    if (pr.matchIndex === this.lastIndex()) this.send<TimeoutNow>({type: 'TimeoutNow', to, term: this.currentTerm})
    else this.sendAppend(to, true)
    return {ok: true}
  }

  /**
   * Takes a snapshot at `index` (<= appliedIndex) whose state the caller serialised into `data`,
   * and drops the log entries it covers. The caller persists it (LogStorage.saveSnapshot).
   */
  compact(index: number, data: unknown): Snapshot {
    assert(index <= this.appliedIndex, `compact(${index}) past appliedIndex ${this.appliedIndex}`)
    assert(index > this.snapshotIndex, `compact(${index}) not past the snapshot at ${this.snapshotIndex}`)
    const term = this.termAt(index)
    assert(term !== undefined, `compact(${index}): no term`)
    this.log = this.log.slice(index - this.snapshotIndex)
    this.snapshotIndex = index
    this.snapshotTerm = term
    this.snapshot = {lastIncludedIndex: index, lastIncludedTerm: term, data}
    return this.snapshot
  }

  step(m: Message): void {
    if (m.to !== this.id) return
    if (m.term > this.currentTerm) {
      if (m.type === 'RequestVote') {
        const inLease = this.cfg.checkQuorum && this.leaderId !== 0 && this.electionElapsed < this.cfg.electionTicks
        // A node that hears from a working leader ignores would-be disruptors (CheckQuorum lease).
        if (inLease && !m.transfer) return
      }
      if (m.type === 'RequestVote' && m.preVote) {
        // A PreVote never changes anybody's term.
      } else if (m.type === 'RequestVoteResponse' && m.preVote && m.voteGranted) {
        // Granted PreVotes carry the term we would campaign in; not a newer term.
      } else if (m.type === 'AppendEntries' || m.type === 'InstallSnapshot') {
        this.becomeFollower(m.term, m.from)
      } else {
        this.becomeFollower(m.term, 0)
      }
    } else if (m.term < this.currentTerm) {
      if (m.type === 'AppendEntries' && (this.cfg.checkQuorum || this.cfg.preVote)) {
        // Tell a stale leader about the newer term so it steps down.
        this.send<AppendEntriesResponse>({
          type: 'AppendEntriesResponse', to: m.from, term: this.currentTerm, success: false,
          matchIndex: 0, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, readSeq: 0,
        })
      } else if (m.type === 'RequestVote' && m.preVote) {
        this.send<RequestVoteResponse>({
          type: 'RequestVoteResponse', to: m.from, term: this.currentTerm, voteGranted: false, preVote: true,
        })
      }
      return
    }

    switch (m.type) {
      case 'RequestVote':
        return this.handleRequestVote(m)
      case 'RequestVoteResponse':
        return this.handleRequestVoteResponse(m)
      case 'AppendEntries':
        return this.handleAppendEntries(m)
      case 'AppendEntriesResponse':
        return this.handleAppendEntriesResponse(m)
      case 'InstallSnapshot':
        return this.handleInstallSnapshot(m)
      case 'InstallSnapshotResponse':
        return this.handleInstallSnapshotResponse(m)
      case 'TimeoutNow':
        return this.handleTimeoutNow(m)
      default:
        return unreachable(m, 'message')
    }
  }

  // ---------------------------------------------------------------- Ready

  hasReady(): boolean {
    if (this.needBroadcast || this.needCommitBroadcast || this.readRoundPending) return true
    if (this.msgs.length > 0 || this.readStates.length > 0 || this.pendingSnapshot) return true
    if (this.lastIndex() > this.persistedIndex) return true
    if (this.commitIndex > this.appliedIndex) return true
    const hs = this.prevHardState
    if (hs.currentTerm !== this.currentTerm || hs.votedFor !== this.votedFor || hs.commitIndex !== this.commitIndex) return true
    const ss = this.prevSoftState
    return ss.role !== this.role || ss.leaderId !== this.leaderId
  }

  ready(): Ready {
    if (this.role === 'leader') {
      if (this.needBroadcast || this.needCommitBroadcast || this.readRoundPending) this.broadcast()
    }
    this.needBroadcast = false
    this.needCommitBroadcast = false
    this.readRoundPending = false
    const messages = this.msgs
    this.msgs = []
    const readStates = this.readStates
    this.readStates = []
    const hs = this.hardState()
    const prev = this.prevHardState
    const hsChanged = hs.currentTerm !== prev.currentTerm || hs.votedFor !== prev.votedFor || hs.commitIndex !== prev.commitIndex
    // While an installed snapshot waits to be applied, appliedIndex lags the snapshot: what is
    // applied after it starts past the snapshot.
    const applied = Math.max(this.appliedIndex, this.snapshotIndex)
    const applyTo = Math.min(this.commitIndex, applied + this.cfg.maxApplyBatch)
    let committedEntries = applyTo > applied ? this.entries(applied + 1, applyTo) : []
    if (this.cfg.mutant === 'apply-past-commit') {
      const to = Math.min(this.commitIndex, this.appliedIndex + this.cfg.maxApplyBatch)
      const lo = this.appliedIndex + 1
      committedEntries = to >= lo ? this.log.slice(Math.max(lo, this.firstIndex()) - this.snapshotIndex - 1, to - this.snapshotIndex) : []
    } else {
      assert(committedEntries.length === 0 || committedEntries[committedEntries.length - 1]!.index <= this.commitIndex, 'handing out uncommitted entries')
    }
    return {
      softState: this.softState(),
      hardState: hsChanged ? hs : null,
      entries: this.entries(this.persistedIndex + 1),
      snapshot: this.pendingSnapshot,
      messages,
      committedEntries,
      readStates,
    }
  }

  /** Acknowledges that everything in `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    if (rd.hardState) this.prevHardState = rd.hardState
    this.prevSoftState = rd.softState
    if (rd.snapshot) {
      this.pendingSnapshot = null
      this.persistedIndex = Math.max(this.persistedIndex, rd.snapshot.lastIncludedIndex)
      this.appliedIndex = Math.max(this.appliedIndex, rd.snapshot.lastIncludedIndex)
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!
      // Only if the log still holds that entry (a step between ready and advance may truncate).
      if (this.termAt(last.index) === last.term) this.persistedIndex = Math.max(this.persistedIndex, last.index)
    }
    if (rd.committedEntries.length > 0) {
      this.appliedIndex = rd.committedEntries[rd.committedEntries.length - 1]!.index
    }
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leaderId: NodeId | 0): void {
    const wasLeader = this.role === 'leader'
    if (term !== this.currentTerm) {
      this.currentTerm = term
      this.votedFor = 0
    }
    this.role = 'follower'
    this.leaderId = leaderId
    this.resetTimers()
    this.progress.clear()
    this.transferTarget = 0
    this.pendingReads = []
    this.readsAwaitingCommit = []
    this.readRoundPending = false
    this.needBroadcast = false
    this.needCommitBroadcast = false
    if (wasLeader) this.event(`stepped down in term ${term}`)
  }

  private becomePreCandidate(): void {
    this.role = 'precandidate'
    this.leaderId = 0
    this.votes.clear()
    this.resetTimers()
    this.event(`pre-vote for term ${this.currentTerm + 1} started`)
  }

  private becomeCandidate(): void {
    this.currentTerm++
    this.votedFor = this.id
    this.role = 'candidate'
    this.leaderId = 0
    this.votes.clear()
    this.resetTimers()
    this.event(`election started for term ${this.currentTerm}`)
  }

  private becomeLeader(): void {
    this.role = 'leader'
    this.leaderId = this.id
    this.resetTimers()
    this.progress.clear()
    for (const id of this.peers) {
      if (id === this.id) continue
      this.progress.set(id, {
        matchIndex: 0, nextIndex: this.lastIndex() + 1, state: 'probe', probeSent: false, inflight: [],
        pendingSnapshot: 0, snapshotTicks: 0, stallTicks: 0, recentActive: false, ackedReadSeq: 0,
      })
    }
    this.event(`became leader of term ${this.currentTerm}`)
    // A no-op of the new term lets earlier-term entries commit (Raft §5.4.2, §8).
    this.appendEntry('noop', undefined)
  }

  private resetTimers(): void {
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.resetRandomizedElectionTicks()
  }

  private resetRandomizedElectionTicks(): void {
    const e = this.cfg.electionTicks
    this.randomizedElectionTicks = e + this.cfg.prng.int(0, e - 1)
  }

  private campaign(transfer: boolean): void {
    if (this.cfg.preVote && !transfer) {
      this.becomePreCandidate()
      this.requestVotes(true, false)
    } else {
      this.becomeCandidate()
      this.requestVotes(false, transfer)
    }
  }

  private requestVotes(preVote: boolean, transfer: boolean): void {
    const term = preVote ? this.currentTerm + 1 : this.currentTerm
    this.votes.set(this.id, true)
    if (this.tallyVotes(preVote)) return
    for (const to of this.peers) {
      if (to === this.id) continue
      this.send<RequestVote>({
        type: 'RequestVote', to, term, lastLogIndex: this.lastIndex(), lastLogTerm: this.lastTerm(), preVote, transfer,
      })
    }
  }

  /** Counts votes; moves on (campaign or lead) or gives up. Returns true if the round is decided. */
  private tallyVotes(preVote: boolean): boolean {
    let granted = 0
    let rejected = 0
    for (const v of this.votes.values()) v ? granted++ : rejected++
    if (granted >= this.quorum()) {
      if (preVote) {
        this.becomeCandidate()
        this.requestVotes(false, false)
      } else {
        this.becomeLeader()
      }
      return true
    }
    if (rejected >= this.quorum()) {
      this.becomeFollower(this.currentTerm, 0)
      return true
    }
    return false
  }

  // ---------------------------------------------------------------- timers

  private tickElection(): void {
    this.electionElapsed++
    if (this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0
      if (this.peers.includes(this.id)) this.campaign(false)
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0
      if (this.cfg.checkQuorum && !this.checkQuorumActive()) {
        this.event(`lost contact with a quorum in term ${this.currentTerm}`)
        this.becomeFollower(this.currentTerm, 0)
        return
      }
    }
    if (this.transferTarget !== 0 && ++this.transferElapsed >= this.cfg.electionTicks) {
      this.event(`leadership transfer to ${this.transferTarget} timed out`)
      this.transferTarget = 0
    }
    for (const [id, pr] of this.progress) {
      if (pr.state === 'replicate' && pr.inflight.length > 0 && ++pr.stallTicks >= 2 * this.cfg.heartbeatTicks) {
        // Nothing acknowledged for two heartbeat intervals although AppendEntries are in flight:
        // some were probably lost (a dropped connection). Probe from the known match point.
        pr.state = 'probe'
        pr.probeSent = false
        pr.inflight = []
        pr.stallTicks = 0
        pr.nextIndex = pr.matchIndex + 1
        this.sendAppend(id, true)
        continue
      }
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= 2 * this.cfg.electionTicks) {
        // The snapshot (or its answer) was lost: probe again, which resends it if still needed.
        pr.state = 'probe'
        pr.probeSent = false
        pr.nextIndex = pr.matchIndex + 1
        this.sendAppend(id, true)
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat()
    }
  }

  private checkQuorumActive(): boolean {
    let active = 1
    for (const pr of this.progress.values()) {
      if (pr.recentActive) active++
      pr.recentActive = false
    }
    return active >= this.quorum()
  }

  // ---------------------------------------------------------------- votes

  private handleRequestVote(m: RequestVote): void {
    const mutant = this.cfg.mutant
    const upToDate =
      mutant === 'vote-without-log-check' ||
      m.lastLogTerm > this.lastTerm() ||
      (m.lastLogTerm === this.lastTerm() && m.lastLogIndex >= this.lastIndex())
    let canVote: boolean
    if (m.preVote) {
      canVote = m.term > this.currentTerm || this.votedFor === m.from || (this.votedFor === 0 && this.leaderId === 0)
    } else {
      canVote =
        this.votedFor === m.from ||
        (this.votedFor === 0 && this.leaderId === 0) ||
        (mutant === 'double-vote' && this.leaderId === 0 && this.role === 'follower')
    }
    const grant = canVote && upToDate
    if (grant && !m.preVote) {
      this.votedFor = m.from
      this.electionElapsed = 0
      this.event(`voted for ${m.from} in term ${m.term}`)
    }
    this.send<RequestVoteResponse>({
      type: 'RequestVoteResponse', to: m.from, term: grant && m.preVote ? m.term : this.currentTerm,
      voteGranted: grant, preVote: m.preVote,
    })
  }

  private handleRequestVoteResponse(m: RequestVoteResponse): void {
    if (m.preVote ? this.role !== 'precandidate' : this.role !== 'candidate') return
    if (m.preVote && m.voteGranted && m.term !== this.currentTerm + 1) return
    if (!m.preVote && m.term !== this.currentTerm) return
    this.votes.set(m.from, m.voteGranted)
    this.tallyVotes(m.preVote)
  }

  private handleTimeoutNow(m: TimeoutNow): void {
    if (this.role === 'leader') return
    this.event(`asked by ${m.from} to take over leadership`)
    this.campaign(true)
  }

  // ---------------------------------------------------------------- replication (follower)

  private handleAppendEntries(m: AppendEntries): void {
    if (this.role === 'leader') {
      // Two leaders in one term: impossible unless votes were broken. Leave it to the checkers.
      this.event(`ignored AppendEntries from ${m.from}, another leader of term ${m.term}`)
      return
    }
    if (this.role !== 'follower') this.becomeFollower(m.term, m.from)
    this.leaderId = m.from
    this.electionElapsed = 0
    const reply = (fields: Partial<AppendEntriesResponse>) =>
      this.send<AppendEntriesResponse>({
        type: 'AppendEntriesResponse', to: m.from, term: this.currentTerm, success: true, matchIndex: 0,
        rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, readSeq: m.readSeq, ...fields,
      })

    if (m.prevLogIndex < this.commitIndex) {
      // Everything up to commitIndex is known to match; skip what we already hold committed.
      const skip = this.commitIndex - m.prevLogIndex
      if (skip >= m.entries.length) return reply({matchIndex: this.commitIndex})
      const rest = m.entries.slice(skip)
      return this.acceptEntries(this.commitIndex, rest, m.leaderCommit, reply)
    }
    const localTerm = this.termAt(m.prevLogIndex)
    if (localTerm !== m.prevLogTerm) {
      let conflictIndex: number
      let conflictTerm: number
      if (localTerm === undefined) {
        conflictIndex = this.lastIndex() + 1
        conflictTerm = 0
      } else {
        conflictTerm = localTerm
        conflictIndex = m.prevLogIndex
        while (conflictIndex - 1 > this.commitIndex && this.termAt(conflictIndex - 1) === conflictTerm) conflictIndex--
      }
      return reply({success: false, rejectedIndex: m.prevLogIndex, conflictIndex, conflictTerm})
    }
    this.acceptEntries(m.prevLogIndex, m.entries, m.leaderCommit, reply)
  }

  /** Appends entries that follow the matching prefix ending at `prevIndex` (Figure 2, steps 3-5). */
  private acceptEntries(
    prevIndex: number,
    entries: Entry[],
    leaderCommit: number,
    reply: (f: Partial<AppendEntriesResponse>) => void,
  ): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      assert(e.index === prevIndex + 1 + i, `AppendEntries entries not contiguous at ${e.index}`)
      const local = this.termAt(e.index)
      if (local === e.term) continue
      if (local !== undefined) {
        if (this.cfg.mutant === 'no-truncate-conflict') continue
        assert(e.index > this.commitIndex, `conflict at committed index ${e.index}`)
        this.truncateFrom(e.index)
      }
      for (let j = i; j < entries.length; j++) this.log.push(entries[j]!)
      break
    }
    const lastNew = prevIndex + entries.length
    if (leaderCommit > this.commitIndex) this.commitIndex = Math.max(this.commitIndex, Math.min(leaderCommit, lastNew))
    reply({matchIndex: lastNew})
  }

  private truncateFrom(index: number): void {
    assert(index > this.snapshotIndex, `truncate into the snapshot at ${index}`)
    this.log.length = index - this.snapshotIndex - 1
    if (this.persistedIndex >= index) this.persistedIndex = index - 1
  }

  private handleInstallSnapshot(m: InstallSnapshot): void {
    if (this.role !== 'follower') this.becomeFollower(m.term, m.from)
    this.leaderId = m.from
    this.electionElapsed = 0
    const snap = m.snapshot
    const reply = (matchIndex: number) =>
      this.send<InstallSnapshotResponse>({type: 'InstallSnapshotResponse', to: m.from, term: this.currentTerm, matchIndex})
    if (snap.lastIncludedIndex <= this.commitIndex) return reply(this.commitIndex)
    if (this.termAt(snap.lastIncludedIndex) === snap.lastIncludedTerm) {
      // Our log already holds the snapshot's last entry: just learn that it is committed.
      this.commitIndex = snap.lastIncludedIndex
      return reply(snap.lastIncludedIndex)
    }
    this.event(`installing snapshot at ${snap.lastIncludedIndex} (term ${snap.lastIncludedTerm}) from ${m.from}`)
    this.log = []
    this.snapshotIndex = snap.lastIncludedIndex
    this.snapshotTerm = snap.lastIncludedTerm
    this.snapshot = snap
    this.commitIndex = snap.lastIncludedIndex
    this.persistedIndex = snap.lastIncludedIndex
    this.pendingSnapshot = snap
    reply(snap.lastIncludedIndex)
  }

  // ---------------------------------------------------------------- replication (leader)

  private appendEntry(type: Entry['type'], data: unknown): Entry {
    const entry: Entry = {term: this.currentTerm, index: this.lastIndex() + 1, type}
    if (data !== undefined) entry.data = data
    this.log.push(entry)
    this.needBroadcast = true
    if (this.peers.length === 1) this.maybeCommit()
    return entry
  }

  /**
   * Replicates new entries to every follower; one that gets nothing new but must learn of a
   * commitIndex advance or a ReadIndex round gets a heartbeat instead. Proposals made between two
   * ready() calls thus travel in one AppendEntries per follower.
   */
  private broadcast(): void {
    for (const id of this.progress.keys()) {
      const sent = this.needBroadcast || this.needCommitBroadcast ? this.sendAppend(id, false) : false
      if (!sent && (this.needCommitBroadcast || this.readRoundPending)) this.sendHeartbeat(id)
    }
  }

  private broadcastHeartbeat(): void {
    for (const id of this.progress.keys()) this.sendHeartbeat(id)
  }

  /**
   * An AppendEntries without entries whose prevLogIndex is the follower's known match, so it never
   * fails the log check however messages were reordered; it carries the commitIndex the follower
   * can safely learn and the current ReadIndex round.
   */
  private sendHeartbeat(to: NodeId): void {
    const pr = this.progress.get(to)!
    const prev = this.termAt(pr.matchIndex) === undefined ? 0 : pr.matchIndex
    this.send<AppendEntries>({
      type: 'AppendEntries', to, term: this.currentTerm, prevLogIndex: prev, prevLogTerm: this.termAt(prev)!,
      entries: [], leaderCommit: Math.min(this.commitIndex, pr.matchIndex), readSeq: this.readSeq,
    })
  }

  /**
   * Sends what `to` is missing, as far as flow control allows: one probe at a time while the match
   * point is unknown, else up to maxInflight pipelined messages. Returns whether anything was sent.
   */
  private sendAppend(to: NodeId, allowEmpty: boolean): boolean {
    const pr = this.progress.get(to)!
    let sent = false
    for (;;) {
      if (pr.state === 'snapshot') return sent
      if (pr.state === 'probe' && pr.probeSent) return sent
      if (pr.state === 'replicate' && pr.inflight.length >= this.cfg.maxInflight) return sent
      const prevLogIndex = pr.nextIndex - 1
      const prevLogTerm = this.termAt(prevLogIndex)
      if (pr.nextIndex <= this.snapshotIndex || prevLogTerm === undefined) {
        this.sendSnapshot(to, pr)
        return true
      }
      const last = Math.min(this.lastIndex(), prevLogIndex + this.cfg.maxEntriesPerAppend)
      if (last <= prevLogIndex && !(allowEmpty && pr.state === 'probe')) return sent
      const entries = this.entries(prevLogIndex + 1, last)
      this.send<AppendEntries>({
        type: 'AppendEntries', to, term: this.currentTerm, prevLogIndex, prevLogTerm, entries,
        leaderCommit: this.commitIndex, readSeq: this.readSeq,
      })
      sent = true
      if (pr.state === 'probe') {
        pr.probeSent = true
        return sent
      }
      pr.inflight.push(last)
      pr.nextIndex = last + 1
    }
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    assert(this.snapshot !== null, `node ${to} needs entries before ${this.firstIndex()} but there is no snapshot`)
    pr.state = 'snapshot'
    pr.pendingSnapshot = this.snapshot.lastIncludedIndex
    pr.snapshotTicks = 0
    pr.inflight = []
    this.event(`sending snapshot at ${this.snapshot.lastIncludedIndex} to ${to}`)
    this.send<InstallSnapshot>({type: 'InstallSnapshot', to, term: this.currentTerm, snapshot: this.snapshot})
  }

  private handleAppendEntriesResponse(m: AppendEntriesResponse): void {
    if (this.role !== 'leader') return
    const pr = this.progress.get(m.from)
    if (!pr) return
    pr.recentActive = true
    if (m.readSeq > pr.ackedReadSeq) {
      pr.ackedReadSeq = m.readSeq
      this.confirmReads()
    }
    if (!m.success) {
      // Stale rejections (answers to messages overtaken by later successes) carry no news.
      if (m.rejectedIndex <= pr.matchIndex) return
      if (pr.state === 'probe' && m.rejectedIndex !== pr.nextIndex - 1) return
      if (pr.state === 'snapshot') return
      let next = m.conflictIndex
      if (m.conflictTerm > 0) {
        let i = Math.min(m.rejectedIndex, this.lastIndex())
        while (i > this.snapshotIndex && (this.termAt(i) ?? 0) > m.conflictTerm) i--
        if (this.termAt(i) === m.conflictTerm) next = i + 1
      }
      pr.nextIndex = Math.max(pr.matchIndex + 1, Math.min(next, m.rejectedIndex))
      pr.state = 'probe'
      pr.probeSent = false
      pr.inflight = []
      this.sendAppend(m.from, true)
      return
    }
    // A probe answered at the known match point (after a snapshot, say) confirms it too (etcd).
    if (m.matchIndex > pr.matchIndex || (m.matchIndex === pr.matchIndex && pr.state === 'probe')) {
      pr.matchIndex = m.matchIndex
      pr.stallTicks = 0
      pr.nextIndex = Math.max(pr.nextIndex, m.matchIndex + 1)
      while (pr.inflight.length > 0 && pr.inflight[0]! <= m.matchIndex) pr.inflight.shift()
      if (pr.state === 'probe' || (pr.state === 'snapshot' && pr.matchIndex >= pr.pendingSnapshot)) {
        pr.state = 'replicate'
        pr.inflight = []
        pr.nextIndex = pr.matchIndex + 1
      }
      if (this.maybeCommit()) this.needCommitBroadcast = true
      if (m.from === this.transferTarget && pr.matchIndex === this.lastIndex()) {
        this.send<TimeoutNow>({type: 'TimeoutNow', to: m.from, term: this.currentTerm})
      }
    }
    pr.probeSent = false
    this.sendAppend(m.from, pr.state === 'probe' && pr.matchIndex < this.lastIndex())
  }

  private handleInstallSnapshotResponse(m: InstallSnapshotResponse): void {
    if (this.role !== 'leader') return
    const pr = this.progress.get(m.from)
    if (!pr) return
    pr.recentActive = true
    if (pr.state !== 'snapshot') {
      // A duplicate, or an answer overtaken by later AppendEntries: at most news of a match.
      if (m.matchIndex > pr.matchIndex) {
        pr.matchIndex = m.matchIndex
        pr.nextIndex = Math.max(pr.nextIndex, m.matchIndex + 1)
        while (pr.inflight.length > 0 && pr.inflight[0]! <= m.matchIndex) pr.inflight.shift()
        if (this.maybeCommit()) this.needCommitBroadcast = true
      }
      return
    }
    pr.matchIndex = Math.max(pr.matchIndex, m.matchIndex)
    pr.nextIndex = pr.matchIndex + 1
    pr.state = 'probe'
    pr.probeSent = false
    pr.inflight = []
    if (this.maybeCommit()) this.needCommitBroadcast = true
    this.sendAppend(m.from, true)
  }

  /** Advances commitIndex to the highest index a quorum holds, if it is of the current term. */
  private maybeCommit(): boolean {
    const matches = [this.lastIndex()]
    for (const pr of this.progress.values()) matches.push(pr.matchIndex)
    matches.sort((a, b) => b - a)
    const n = matches[this.quorum() - 1]!
    if (n <= this.commitIndex) return false
    if (this.termAt(n) !== this.currentTerm && this.cfg.mutant !== 'commit-old-term') return false
    this.commitIndex = n
    if (this.readsAwaitingCommit.length > 0 && this.termAt(n) === this.currentTerm) {
      const waiting = this.readsAwaitingCommit
      this.readsAwaitingCommit = []
      for (const ctx of waiting) this.startRead(ctx)
    }
    return true
  }

  // ---------------------------------------------------------------- ReadIndex

  private startRead(ctx: unknown): void {
    if (this.peers.length === 1) {
      this.readStates.push({ctx, index: this.commitIndex})
      return
    }
    if (!this.readRoundPending) {
      this.readSeq++
      this.readRoundPending = true
    }
    this.pendingReads.push({ctx, index: this.commitIndex, seq: this.readSeq})
  }

  private confirmReads(): void {
    while (this.pendingReads.length > 0) {
      const read = this.pendingReads[0]!
      let acks = 1
      for (const pr of this.progress.values()) if (pr.ackedReadSeq >= read.seq) acks++
      if (acks < this.quorum()) return
      this.pendingReads.shift()
      this.readStates.push({ctx: read.ctx, index: read.index})
    }
  }

  // ---------------------------------------------------------------- output

  private send<M extends Message>(m: Omit<M, 'from'>): void {
    this.msgs.push({...m, from: this.id} as unknown as Message)
  }

  private event(text: string): void {
    this.cfg.onEvent?.(text)
  }
}
