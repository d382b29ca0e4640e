// The Raft node (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm",
// extended per the Raft thesis and etcd-io/raft): roles, one handler per message, Ready/advance.
// Its pieces live beside it: the log and its marks (log.ts), each follower's flow control
// (progress.ts), majorities (quorum.ts), ReadIndex rounds (read-only.ts); what happened is a
// typed event (events.ts).
//
// It is pure and deterministic: time enters as tick(), the network as step(), clients as
// propose()/readIndex(); what it wants done leaves as a Ready batch. It never touches a clock, a
// socket, a file or Math.random — randomness comes from the injected Prng. Its state is private;
// the outside reads status() and the read-only log().
//
// Invariants kept here (and checked by the simulator): at most one vote per term, persisted before
// it is sent (it travels in the same Ready); a leader never overwrites or deletes its own entries;
// commitIndex only grows and only counts replicas of an entry of the leader's current term.
import {assert, unreachable} from '../lib/assert.js'
import type {Prng} from '../lib/prng.js'
import type {RaftEvent} from './events.js'
import {RaftLog, type LogView} from './log.js'
import {Progress, type ProgressState} from './progress.js'
import {
  allVoters,
  applyConfChange,
  confChangeProblem,
  describeConfChange,
  initialMembership,
  isJoint,
  isVoter,
  JointQuorum,
  members,
  sameMembership,
  type ConfChange,
  type Membership,
  type MembershipMutant,
} from './membership.js'
import {ReadOnly} from './read-only.js'
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
  /** A new leader proposes a configuration change before an entry of its own term committed (the 2015 bug). */
  | 'conf-change-before-own-term-commit'
  /** A node campaigns although its log holds a committed configuration change it has not applied. */
  | 'campaign-with-unapplied-config'
  /** A node trusts its commitIndex only: a change followed by another in its log is not taken as committed. */
  | 'no-commit-proof'
  /** Voters ignore RequestVotes from outside their applied configuration even with no leader heard. */
  | 'ignore-outsider-votes'
  /** A leader counts its own log toward commitment before the driver persisted it (thesis 10.2.1). */
  | 'leader-counts-unsynced'
  /** While a Ready's sync is in flight, entries that Ready handed out are taken for applying again. */
  | 'reapply-during-sync'
  | MembershipMutant

export interface RaftConfig {
  id: NodeId
  /**
   * The cluster's initial voters: the configuration until the log or a snapshot says otherwise
   * (a node added later is not among them, and waits to learn the configuration from the leader).
   */
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
  /** Elections, votes, leadership, snapshots: for the node log, the trace and the dashboard. */
  onEvent?: (event: RaftEvent) => void
}

export interface RaftInitialState {
  hardState: HardState
  snapshot: Snapshot | null
  entries: Entry[]
}

/** What the outside may know of a node at a moment (a copy). */
export interface RaftStatus {
  id: NodeId
  role: Role
  term: number
  votedFor: NodeId | 0
  leaderId: NodeId | 0
  lastIndex: number
  lastTerm: number
  commitIndex: number
  appliedIndex: number
  snapshotIndex: number
  snapshotTerm: number
  /** The configuration in force (the latest applied). */
  membership: Membership
}

export interface FollowerProgress {
  matchIndex: number
  nextIndex: number
  state: ProgressState
  /** Heard from within the last election timeout. */
  active: boolean
}

export type ConfChangeResult = {ok: true; index: number} | {ok: false; reason: string; leaderHint: NodeId | 0}

export class RaftNode {
  readonly id: NodeId
  /** The configuration in force (switched when a 'config' entry is applied), and its quorums. */
  private membership: Membership
  private quorum: JointQuorum
  /** The configurations applied since the snapshot, by the index of their entry (the first: the snapshot's). */
  private configHistory: {index: number; membership: Membership}[]
  /** Leader: no configuration change may be proposed until this index is applied. */
  private pendingConfIndex = 0
  private readonly cfg: Required<Omit<RaftConfig, 'mutant' | 'onEvent'>> & Pick<RaftConfig, 'mutant' | 'onEvent'>

  // Persistent state (Figure 2), the log included.
  private currentTerm = 0
  private votedFor: NodeId | 0 = 0
  private readonly raftLog: RaftLog

  // Volatile state.
  private role: Role = 'follower'
  private leaderId: NodeId | 0 = 0
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedElectionTicks = 0
  private readonly votes = new Map<NodeId, boolean>()
  /** Leader: each follower's replication, in voter order. */
  private readonly progress = new Map<NodeId, Progress>()
  private transferTarget: NodeId | 0 = 0
  private transferElapsed = 0
  private readonly readOnly = new ReadOnly()
  /** New entries to replicate, or a commitIndex advance to tell, at the next ready(). */
  private needBroadcast = false
  private needCommitBroadcast = false

  // Ready bookkeeping.
  private msgs: Message[] = []
  private readStates: ReadState[] = []
  /** A snapshot from the leader, installed in memory, to be persisted and restored by the driver. */
  private pendingSnapshot: Snapshot | null = null
  private prevHardState: HardState
  private prevSoftState: SoftState
  /** The last index a Ready handed out for applying (applied once that Ready is advanced). */
  private handedOut = 0

  constructor(config: RaftConfig, initial: RaftInitialState) {
    assert(config.electionTicks > config.heartbeatTicks, 'electionTicks must exceed heartbeatTicks')
    this.id = config.id
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
    this.raftLog = new RaftLog(snapshot, entries, hardState.commitIndex)
    this.membership = snapshot?.config ?? initialMembership(config.peers)
    this.quorum = new JointQuorum(this.membership, this.membershipMutant())
    this.configHistory = [{index: this.raftLog.snapshotIndex, membership: this.membership}]
    this.prevHardState = this.hardState()
    this.prevSoftState = this.softState()
    this.resetRandomizedElectionTicks()
  }

  // ---------------------------------------------------------------- queries

  status(): RaftStatus {
    const log = this.raftLog
    return {
      id: this.id,
      role: this.role,
      term: this.currentTerm,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      lastIndex: log.lastIndex(),
      lastTerm: log.lastTerm(),
      commitIndex: log.committed,
      appliedIndex: log.applied,
      snapshotIndex: log.snapshotIndex,
      snapshotTerm: log.snapshotTerm,
      membership: this.membership,
    }
  }

  /** The log, read-only (checkers, status displays, snapshots). */
  log(): LogView {
    return this.raftLog
  }

  /** The leader's view of a follower's replication, for status displays. */
  followerProgress(id: NodeId): FollowerProgress | undefined {
    const pr = this.progress.get(id)
    return pr && {matchIndex: pr.matchIndex, nextIndex: pr.nextIndex, state: pr.state, active: pr.heardElapsed < this.cfg.electionTicks}
  }

  private hardState(): HardState {
    return {currentTerm: this.currentTerm, votedFor: this.votedFor, commitIndex: this.raftLog.committed}
  }

  private softState(): SoftState {
    return {role: this.role, leaderId: this.leaderId}
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
    if (this.raftLog.termAt(this.raftLog.committed) !== this.currentTerm && this.cfg.mutant !== 'read-before-own-term-commit') {
      // Until an entry of this term commits, commitIndex may lag what earlier leaders committed.
      this.readOnly.defer(ctx)
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
    if (!isVoter(this.membership, this.id)) return {ok: false, reason: 'not a voter'}
    if (this.role === 'leader') return {ok: false, reason: 'already leader'}
    if (this.leaderId !== 0) return {ok: false, reason: `leader ${this.leaderId} is known`}
    if (this.hasUnappliedConfChange()) return {ok: false, reason: 'a committed configuration change is not applied yet'}
    this.electionElapsed = 0
    this.campaign(false)
    return {ok: true}
  }

  /** Hands leadership to `to` once its log is caught up (TimeoutNow). */
  transferLeadership(to: NodeId): {ok: true} | {ok: false; reason: string} {
    if (this.role !== 'leader') return {ok: false, reason: 'not-leader'}
    if (to === this.id) return {ok: true}
    const pr = this.progress.get(to)
    if (!pr) return {ok: false, reason: `unknown node ${to}`}
    this.transferTarget = to
    this.transferElapsed = 0
    this.event({type: 'transfer-started', to})
    if (pr.matchIndex === this.raftLog.lastIndex()) this.send<TimeoutNow>({type: 'TimeoutNow', to, term: this.currentTerm})
    else this.sendAppend(to, true)
    return {ok: true}
  }

  /**
   * Proposes a configuration change (leader only), once the previous one is applied and, for a
   * new leader, once everything its log held at its election is (so an entry of its own term has
   * committed). Unless `force`, refused when the configuration it leads to would have no quorum
   * among the nodes heard from within an election timeout (etcd's strict reconfig check).
   */
  proposeConfChange(cc: ConfChange, opts: {force?: boolean} = {}): ConfChangeResult {
    if (this.role !== 'leader') return {ok: false, reason: 'not the leader', leaderHint: this.leaderId}
    if (this.transferTarget !== 0) return {ok: false, reason: 'a leadership transfer is in progress', leaderHint: this.transferTarget}
    const problem = confChangeProblem(cc)
    if (problem) return {ok: false, reason: problem, leaderHint: this.id}
    if (this.pendingConfIndex > this.raftLog.applied) {
      return {ok: false, reason: 'a configuration change is in progress (or this new leader has not committed an entry of its term yet)', leaderHint: this.id}
    }
    const next = applyConfChange(this.membership, cc)
    if ('error' in next) return {ok: false, reason: next.error, leaderHint: this.id}
    if (!opts.force) {
      const up = (id: NodeId) => id === this.id || (this.progress.get(id)?.heardElapsed ?? Infinity) < this.cfg.electionTicks
      if (!new JointQuorum(next).hasQuorum(up)) {
        return {ok: false, reason: 'the nodes heard from lately would not be a quorum of the new configuration', leaderHint: this.id}
      }
    }
    const entry = this.appendEntry('config', cc)
    this.pendingConfIndex = entry.index
    this.event({type: 'conf-change-proposed', index: entry.index, change: describeConfChange(cc)})
    return {ok: true, index: entry.index}
  }

  /**
   * Takes a snapshot at `index` (<= appliedIndex) whose state the caller serialised into `data`,
   * and drops the log entries it covers. The caller persists it (LogStorage.saveSnapshot).
   */
  compact(index: number, data: unknown): Snapshot {
    const snap = this.raftLog.compact(index, data, this.membershipAt(index))
    // Only the configuration in force at the snapshot is needed from before it.
    const keep = this.configHistory.findLastIndex((c) => c.index <= index)
    this.configHistory = this.configHistory.slice(Math.max(0, keep))
    return snap
  }

  /** The configuration in force once `index` was applied (for indexes since the snapshot). */
  membershipAt(index: number): Membership {
    let m = this.configHistory[0]!.membership
    for (const c of this.configHistory) if (c.index <= index) m = c.membership
    return m
  }

  step(m: Message): void {
    if (m.to !== this.id) return
    // A removed node (or one not yet added) cannot disrupt a working cluster with its campaigns.
    // Only while a leader is heard from: a voter whose applied configuration is stale (it has
    // not applied the change that added the candidate) must still vote, or a cluster whose
    // remaining voters all lag could never elect anyone (found by the simulator).
    const heardLeader = this.leaderId !== 0 && this.electionElapsed < this.cfg.electionTicks
    const shieldedFromOutsiders = heardLeader || this.cfg.mutant === 'ignore-outsider-votes'
    if (m.type === 'RequestVote' && shieldedFromOutsiders && !isVoter(this.membership, m.from) && this.knowsConfiguration()) return
    if (m.term > this.currentTerm) {
      if (m.type === 'RequestVote') {
        const inLease = this.cfg.checkQuorum && heardLeader
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
          type: 'AppendEntriesResponse',
          to: m.from,
          term: this.currentTerm,
          success: false,
          matchIndex: 0,
          rejectedIndex: 0,
          conflictIndex: 0,
          conflictTerm: 0,
          readSeq: 0,
        })
      } else if (m.type === 'RequestVote' && m.preVote) {
        this.send<RequestVoteResponse>({
          type: 'RequestVoteResponse',
          to: m.from,
          term: this.currentTerm,
          voteGranted: false,
          preVote: true,
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
    const log = this.raftLog
    if (this.needBroadcast || this.needCommitBroadcast || this.readOnly.roundPending) return true
    if (this.msgs.length > 0 || this.readStates.length > 0 || this.pendingSnapshot) return true
    if (log.lastIndex() > log.persisted) return true
    if (log.committed > log.applied) return true
    const hs = this.prevHardState
    if (hs.currentTerm !== this.currentTerm || hs.votedFor !== this.votedFor || hs.commitIndex !== log.committed) return true
    const ss = this.prevSoftState
    return ss.role !== this.role || ss.leaderId !== this.leaderId
  }

  ready(): Ready {
    this.broadcastPending()
    const messages = this.msgs
    this.msgs = []
    const readStates = this.readStates
    this.readStates = []
    const hs = this.hardState()
    const prev = this.prevHardState
    const hsChanged = hs.currentTerm !== prev.currentTerm || hs.votedFor !== prev.votedFor || hs.commitIndex !== prev.commitIndex
    const max = this.cfg.maxApplyBatch
    const newlyCommitted = hs.commitIndex > prev.commitIndex ? this.raftLog.entries(prev.commitIndex + 1, hs.commitIndex) : []
    const committedEntries = this.cfg.mutant === 'apply-past-commit' ? this.raftLog.nextCommittedMutant(max) : this.raftLog.nextCommitted(max)
    if (committedEntries.length > 0) this.handedOut = Math.max(this.handedOut, committedEntries[committedEntries.length - 1]!.index)
    return {
      softState: this.softState(),
      hardState: hsChanged ? hs : null,
      mustPersistCommit: newlyCommitted.some((e) => e.type === 'config'),
      entries: this.raftLog.unstableEntries(),
      snapshot: this.pendingSnapshot,
      messages,
      committedEntries,
      readStates,
    }
  }

  /** Acknowledges that everything in `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    const log = this.raftLog
    if (rd.hardState) this.prevHardState = rd.hardState
    this.prevSoftState = rd.softState
    // A driver whose sync runs off the event loop steps input between ready() and advance(): a
    // newer snapshot from the leader may have replaced this one meanwhile (it goes in the next Ready).
    const superseded = rd.snapshot !== null && this.pendingSnapshot !== rd.snapshot
    if (rd.snapshot) {
      if (!superseded) this.pendingSnapshot = null
      log.snapshotPersisted(rd.snapshot.lastIncludedIndex)
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!
      // Only if the log still holds that entry (a step between ready and advance may truncate).
      log.stableTo(last.index, last.term)
      // The leader's own entries now count toward commitment.
      if (this.role === 'leader' && this.maybeCommit()) this.needCommitBroadcast = true
    }
    if (rd.snapshot && !superseded) {
      const m = rd.snapshot.config ?? this.membership
      this.configHistory = [{index: rd.snapshot.lastIncludedIndex, membership: m}]
      if (!sameMembership(m, this.membership)) this.event({type: 'membership-changed', index: rd.snapshot.lastIncludedIndex, membership: m})
      this.switchMembership(m)
    }
    for (const e of rd.committedEntries) {
      log.appliedTo(e.index)
      if (e.type === 'config') this.applyConfEntry(e)
    }
  }

  /**
   * A leader's messages since the last ready(), if they are all AppendEntries (what it proposed
   * meanwhile, answers to acknowledgements, heartbeats): a driver may send them while that Ready's
   * sync is in flight, provided the term they carry is durable (Raft thesis 10.2.1: the leader
   * replicates in parallel with writing its own log; it counts itself only once durable). Anything
   * else, or any other role, waits for the next Ready.
   */
  takeAppends(): Message[] {
    if (this.role !== 'leader') return []
    this.broadcastPending()
    if (this.msgs.length === 0 || this.msgs.some((m) => m.type !== 'AppendEntries')) return []
    const out = this.msgs
    this.msgs = []
    return out
  }

  /**
   * The driver applied every entry a Ready handed out up to `index` before advancing that Ready
   * (they were durable here already, so it did not wait for the Ready's sync). Only grows.
   */
  appliedTo(index: number): void {
    const log = this.raftLog
    assert(index <= this.handedOut, `applied ${index}: past what was handed out (${this.handedOut})`)
    log.appliedTo(index)
  }

  /**
   * Committed entries that are durable here and may be applied now, while a Ready's sync is in
   * flight, without waiting for the next Ready: those after the applied index up to the commit
   * index and the persisted one, at most maxApplyBatch, and only up to the first configuration change
   * (that one switches the core's configuration, so it waits for its Ready). None while a Ready's
   * own committed entries are still unapplied (order) or a snapshot waits to be restored. They
   * count as applied from now on: the driver applies them before it does anything else.
   */
  takeDurableCommitted(): Entry[] {
    const log = this.raftLog
    const max = this.cfg.maxApplyBatch
    if (this.pendingSnapshot || log.applied < log.snapshotIndex) return []
    if (this.handedOut > log.applied && this.cfg.mutant !== 'reapply-during-sync') return []
    const to = Math.min(log.committed, log.persisted, log.applied + max)
    if (to <= log.applied) return []
    const out = log.entries(log.applied + 1, to)
    const config = out.findIndex((e) => e.type === 'config')
    if (config >= 0) out.length = config
    if (out.length === 0) return out
    const last = out[out.length - 1]!.index
    this.handedOut = last
    log.appliedTo(last)
    return out
  }

  /** A committed configuration change is applied: it is in force from now on. */
  private applyConfEntry(e: Entry): void {
    const cc = e.data as ConfChange
    const next = confChangeProblem(cc) === null ? applyConfChange(this.membership, cc) : {error: 'malformed'}
    // Every replica skips the same invalid change (it was validated when proposed).
    if ('error' in next) return
    this.configHistory.push({index: e.index, membership: next})
    this.switchMembership(next)
    this.event({type: 'membership-changed', index: e.index, membership: next})
    if (this.role !== 'leader') return
    if (!isVoter(this.membership, this.id)) {
      // Removed: hand over to a caught-up voter if there is one, and stop leading.
      const heir = allVoters(this.membership).find((id) => this.progress.get(id)?.matchIndex === this.raftLog.lastIndex())
      if (heir !== undefined) this.send<TimeoutNow>({type: 'TimeoutNow', to: heir, term: this.currentTerm})
      this.becomeFollower(this.currentTerm, 0)
      this.event({type: 'removed', term: this.currentTerm})
      return
    }
    if (isJoint(this.membership)) {
      // Leave the joint configuration at once (etcd's auto-leave).
      const leave = this.appendEntry('config', {ops: [], leaveJoint: true} satisfies ConfChange)
      this.pendingConfIndex = leave.index
    }
  }

  private switchMembership(next: Membership): void {
    this.membership = next
    this.quorum = new JointQuorum(next, this.membershipMutant())
    if (this.role !== 'leader') return
    const want = members(next).filter((id) => id !== this.id)
    for (const id of [...this.progress.keys()]) if (!want.includes(id)) this.progress.delete(id)
    for (const id of want) {
      if (this.progress.has(id)) continue
      // A new member is probed at once (etcd: bcastAppend after a switch).
      this.progress.set(id, new Progress(id, this.raftLog.lastIndex() + 1, this.cfg.maxInflight))
      this.sendAppend(id, true)
    }
    if (this.transferTarget !== 0 && !want.includes(this.transferTarget)) this.transferTarget = 0
    // Fewer voters may make a quorum of what is already stored.
    if (this.maybeCommit()) this.needCommitBroadcast = true
  }

  /**
   * A committed configuration change not yet applied: campaigning now could use a stale
   * configuration (etcd #12133). "Committed" includes what the log itself proves: a leader
   * appends a change only after applying the one before it, so every change that has a later
   * change after it in this log is committed, whatever the commitIndex here says. A node whose
   * commitIndex on disk lags (a power loss, a restart before the leader's next heartbeat) learns
   * it from its own log and applies those first; without this it could lead two changes behind
   * the configuration in force (etcd #7625, tbg's "Append" invariant). Advancing commitIndex so
   * is sound: those entries are committed.
   */
  private hasUnappliedConfChange(): boolean {
    if (this.cfg.mutant === 'campaign-with-unapplied-config') return false
    const log = this.raftLog
    const changes: number[] = []
    for (const e of log.entries(log.applied + 1, log.lastIndex())) if (e.type === 'config') changes.push(e.index)
    if (changes.length === 0) return false
    if (changes[0]! <= log.committed) return true
    if (changes.length < 2 || this.cfg.mutant === 'no-commit-proof') return false
    const proven = changes[changes.length - 2]!
    log.commitTo(proven)
    this.event({type: 'commit-proven', index: proven})
    return true
  }

  /** False for a node that has never learnt the configuration (added later, no log yet). */
  private knowsConfiguration(): boolean {
    return isVoter(this.membership, this.id) || this.raftLog.lastIndex() > 0
  }

  private membershipMutant(): MembershipMutant | undefined {
    const m = this.cfg.mutant
    return m === 'joint-new-majority-only' || m === 'learner-counts' ? m : undefined
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
    this.readOnly.reset()
    this.needBroadcast = false
    this.needCommitBroadcast = false
    if (wasLeader) this.event({type: 'stepped-down', term})
  }

  private becomePreCandidate(): void {
    this.role = 'pre-candidate'
    this.leaderId = 0
    this.votes.clear()
    this.resetTimers()
    this.event({type: 'pre-vote-started', term: this.currentTerm + 1})
  }

  private becomeCandidate(): void {
    this.currentTerm++
    this.votedFor = this.id
    this.role = 'candidate'
    this.leaderId = 0
    this.votes.clear()
    this.resetTimers()
    this.event({type: 'election-started', term: this.currentTerm})
  }

  private becomeLeader(): void {
    this.role = 'leader'
    this.leaderId = this.id
    this.resetTimers()
    this.progress.clear()
    for (const id of members(this.membership)) {
      if (id !== this.id) this.progress.set(id, new Progress(id, this.raftLog.lastIndex() + 1, this.cfg.maxInflight))
    }
    // No configuration change until what the log holds now is applied: then an entry of this
    // term has committed (the 2015 single-server bug, etcd's pendingConfIndex).
    this.pendingConfIndex = this.cfg.mutant === 'conf-change-before-own-term-commit' ? 0 : this.raftLog.lastIndex()
    this.event({type: 'became-leader', term: this.currentTerm})
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
    const lastLogIndex = this.raftLog.lastIndex()
    const lastLogTerm = this.raftLog.lastTerm()
    for (const to of allVoters(this.membership)) {
      if (to === this.id) continue
      this.send<RequestVote>({type: 'RequestVote', to, term, lastLogIndex, lastLogTerm, preVote, transfer})
    }
  }

  /** Counts votes; moves on (campaign or lead) or gives up. Returns true if the round is decided. */
  private tallyVotes(preVote: boolean): boolean {
    switch (this.quorum.voteResult(this.votes)) {
      case 'won':
        if (preVote) {
          this.becomeCandidate()
          this.requestVotes(false, false)
        } else {
          this.becomeLeader()
        }
        return true
      case 'lost':
        this.becomeFollower(this.currentTerm, 0)
        return true
      case 'pending':
        return false
    }
  }

  // ---------------------------------------------------------------- timers

  private tickElection(): void {
    this.electionElapsed++
    if (this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0
      // The check first, for every node: a learner by a stale configuration may learn from its
      // log that it is a voter (found by the simulator: after a power loss nobody could campaign).
      const unapplied = this.hasUnappliedConfChange()
      if (isVoter(this.membership, this.id) && !unapplied) this.campaign(false)
      // A node that may not campaign (a learner, a removed node, one with a change to apply) and
      // has not heard from its leader for an election timeout no longer names it: a removed node
      // nobody talks to would otherwise send clients to a long-gone leader for ever.
      else this.leaderId = 0
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0
      if (this.cfg.checkQuorum && !this.checkQuorumActive()) {
        this.event({type: 'lost-quorum', term: this.currentTerm})
        this.becomeFollower(this.currentTerm, 0)
        return
      }
    }
    if (this.transferTarget !== 0 && ++this.transferElapsed >= this.cfg.electionTicks) {
      this.event({type: 'transfer-timed-out', to: this.transferTarget})
      this.transferTarget = 0
    }
    for (const [id, pr] of this.progress) {
      // A stalled pipeline (a dropped connection, say) or a lost snapshot: probe again at once.
      if (pr.tick(2 * this.cfg.heartbeatTicks, 2 * this.cfg.electionTicks)) this.sendAppend(id, true)
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat()
    }
  }

  /** CheckQuorum: was a majority heard from since the last round? Starts the next round. */
  private checkQuorumActive(): boolean {
    const active = this.quorum.hasQuorum((id) => id === this.id || this.progress.get(id)?.recentActive === true)
    for (const pr of this.progress.values()) pr.newQuorumRound()
    return active
  }

  // ---------------------------------------------------------------- votes

  private handleRequestVote(m: RequestVote): void {
    const mutant = this.cfg.mutant
    const upToDate = mutant === 'vote-without-log-check' || this.raftLog.isUpToDate(m.lastLogIndex, m.lastLogTerm)
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
      this.event({type: 'voted', for: m.from, term: m.term, ...(isVoter(this.membership, m.from) ? {} : {outsider: true as const})})
    }
    this.send<RequestVoteResponse>({
      type: 'RequestVoteResponse',
      to: m.from,
      term: grant && m.preVote ? m.term : this.currentTerm,
      voteGranted: grant,
      preVote: m.preVote,
    })
  }

  private handleRequestVoteResponse(m: RequestVoteResponse): void {
    if (m.preVote ? this.role !== 'pre-candidate' : this.role !== 'candidate') return
    if (m.preVote && m.voteGranted && m.term !== this.currentTerm + 1) return
    if (!m.preVote && m.term !== this.currentTerm) return
    this.votes.set(m.from, m.voteGranted)
    this.tallyVotes(m.preVote)
  }

  private handleTimeoutNow(m: TimeoutNow): void {
    if (this.role === 'leader' || !isVoter(this.membership, this.id) || this.hasUnappliedConfChange()) return
    this.event({type: 'asked-to-campaign', from: m.from})
    this.campaign(true)
  }

  // ---------------------------------------------------------------- replication (follower)

  private handleAppendEntries(m: AppendEntries): void {
    if (this.role === 'leader') {
      // Two leaders in one term: impossible unless votes were broken. Leave it to the checkers.
      this.event({type: 'ignored-append', from: m.from, term: m.term})
      return
    }
    if (this.role !== 'follower') this.becomeFollower(m.term, m.from)
    this.leaderId = m.from
    this.electionElapsed = 0
    const reply = (fields: Partial<AppendEntriesResponse>) =>
      this.send<AppendEntriesResponse>({
        type: 'AppendEntriesResponse',
        to: m.from,
        term: this.currentTerm,
        success: true,
        matchIndex: 0,
        rejectedIndex: 0,
        conflictIndex: 0,
        conflictTerm: 0,
        readSeq: m.readSeq,
        ...fields,
      })
    const log = this.raftLog
    if (m.prevLogIndex < log.committed) {
      // Everything up to commitIndex is known to match; skip what we already hold committed.
      const skip = log.committed - m.prevLogIndex
      if (skip >= m.entries.length) return reply({matchIndex: log.committed})
      return this.acceptEntries(log.committed, m.entries.slice(skip), m.leaderCommit, reply)
    }
    if (log.termAt(m.prevLogIndex) !== m.prevLogTerm) {
      return reply({success: false, rejectedIndex: m.prevLogIndex, ...log.conflictHint(m.prevLogIndex)})
    }
    this.acceptEntries(m.prevLogIndex, m.entries, m.leaderCommit, reply)
  }

  /** Appends entries that follow the matching prefix ending at `prevIndex` (Figure 2, steps 3-5). */
  private acceptEntries(prevIndex: number, entries: Entry[], leaderCommit: number, reply: (f: Partial<AppendEntriesResponse>) => void): void {
    const lastNew = this.raftLog.appendAfter(prevIndex, entries, this.cfg.mutant === 'no-truncate-conflict')
    this.raftLog.commitTo(Math.min(leaderCommit, lastNew))
    reply({matchIndex: lastNew})
  }

  private handleInstallSnapshot(m: InstallSnapshot): void {
    if (this.role !== 'follower') this.becomeFollower(m.term, m.from)
    this.leaderId = m.from
    this.electionElapsed = 0
    const snap = m.snapshot
    const log = this.raftLog
    const reply = (matchIndex: number) => this.send<InstallSnapshotResponse>({type: 'InstallSnapshotResponse', to: m.from, term: this.currentTerm, matchIndex})
    if (snap.lastIncludedIndex <= log.committed) return reply(log.committed)
    if (log.termAt(snap.lastIncludedIndex) === snap.lastIncludedTerm) {
      // Our log already holds the snapshot's last entry: just learn that it is committed.
      log.commitTo(snap.lastIncludedIndex)
      return reply(snap.lastIncludedIndex)
    }
    this.event({type: 'installing-snapshot', index: snap.lastIncludedIndex, term: snap.lastIncludedTerm, from: m.from})
    log.restore(snap)
    this.pendingSnapshot = snap
    reply(snap.lastIncludedIndex)
  }

  // ---------------------------------------------------------------- replication (leader)

  private appendEntry(type: Entry['type'], data: unknown): Entry {
    const entry: Entry = {term: this.currentTerm, index: this.raftLog.lastIndex() + 1, type}
    if (data !== undefined) entry.data = data
    this.raftLog.append(entry)
    this.needBroadcast = true
    if (this.quorum.isSingleton(this.id)) this.maybeCommit()
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
      if (!sent && (this.needCommitBroadcast || this.readOnly.roundPending)) this.sendHeartbeat(id)
    }
  }

  /** As leader, the broadcast asked for since the last one (new entries, commit news, a ReadIndex round). */
  private broadcastPending(): void {
    if (this.role === 'leader' && (this.needBroadcast || this.needCommitBroadcast || this.readOnly.roundPending)) this.broadcast()
    this.needBroadcast = false
    this.needCommitBroadcast = false
    this.readOnly.roundPending = false
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
    const log = this.raftLog
    const prev = log.termAt(pr.matchIndex) === undefined ? 0 : pr.matchIndex
    this.send<AppendEntries>({
      type: 'AppendEntries',
      to,
      term: this.currentTerm,
      prevLogIndex: prev,
      prevLogTerm: log.termAt(prev)!,
      entries: [],
      leaderCommit: Math.min(log.committed, pr.matchIndex),
      readSeq: this.readOnly.seq,
    })
  }

  /**
   * Sends what `to` is missing, as far as flow control allows: one probe at a time while the match
   * point is unknown, else up to maxInflight pipelined messages. Returns whether anything was sent.
   */
  private sendAppend(to: NodeId, allowEmpty: boolean): boolean {
    const pr = this.progress.get(to)!
    const log = this.raftLog
    let sent = false
    for (;;) {
      if (pr.isPaused()) return sent
      const prevLogIndex = pr.nextIndex - 1
      const prevLogTerm = log.termAt(prevLogIndex)
      if (pr.nextIndex <= log.snapshotIndex || prevLogTerm === undefined) {
        this.sendSnapshot(to, pr)
        return true
      }
      const last = Math.min(log.lastIndex(), prevLogIndex + this.cfg.maxEntriesPerAppend)
      if (last <= prevLogIndex && !(allowEmpty && pr.state === 'probe')) return sent
      this.send<AppendEntries>({
        type: 'AppendEntries',
        to,
        term: this.currentTerm,
        prevLogIndex,
        prevLogTerm,
        entries: log.entries(prevLogIndex + 1, last),
        leaderCommit: log.committed,
        readSeq: this.readOnly.seq,
      })
      sent = true
      const probing = pr.state === 'probe'
      pr.sent(last)
      if (probing) return sent
    }
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snapshot = this.raftLog.snapshot
    assert(snapshot !== null, `node ${to} needs entries before ${this.raftLog.firstIndex()} but there is no snapshot`)
    pr.becomeSnapshot(snapshot.lastIncludedIndex)
    this.event({type: 'sending-snapshot', index: snapshot.lastIncludedIndex, to})
    this.send<InstallSnapshot>({type: 'InstallSnapshot', to, term: this.currentTerm, snapshot})
  }

  private handleAppendEntriesResponse(m: AppendEntriesResponse): void {
    if (this.role !== 'leader') return
    const pr = this.progress.get(m.from)
    if (!pr) return
    pr.heard()
    if (pr.ackRead(m.readSeq)) this.confirmReads()
    if (!m.success) {
      // Stale rejections (answers to messages overtaken by later successes) carry no news.
      if (m.rejectedIndex <= pr.matchIndex) return
      if (pr.state === 'probe' && m.rejectedIndex !== pr.nextIndex - 1) return
      if (pr.state === 'snapshot') return
      const after = m.conflictTerm > 0 ? this.raftLog.afterLastOfTerm(m.conflictTerm, m.rejectedIndex) : undefined
      pr.backtrackTo(after ?? m.conflictIndex, m.rejectedIndex)
      this.sendAppend(m.from, true)
      return
    }
    // A probe answered at the known match point (after a snapshot, say) confirms it too (etcd).
    if (m.matchIndex > pr.matchIndex || (m.matchIndex === pr.matchIndex && pr.state === 'probe')) {
      pr.acknowledge(m.matchIndex)
      if (pr.state === 'probe' || (pr.state === 'snapshot' && pr.matchIndex >= pr.pendingSnapshot)) pr.becomeReplicate()
      if (this.maybeCommit()) this.needCommitBroadcast = true
      this.maybeSendTimeoutNow(m.from, pr)
    }
    pr.answered()
    this.sendAppend(m.from, pr.state === 'probe' && pr.matchIndex < this.raftLog.lastIndex())
  }

  private handleInstallSnapshotResponse(m: InstallSnapshotResponse): void {
    if (this.role !== 'leader') return
    const pr = this.progress.get(m.from)
    if (!pr) return
    pr.heard()
    if (pr.state !== 'snapshot') {
      // A duplicate, or an answer overtaken by later AppendEntries: at most news of a match.
      if (pr.maybeUpdate(m.matchIndex) && this.maybeCommit()) this.needCommitBroadcast = true
      return
    }
    pr.snapshotAnswered(m.matchIndex)
    if (this.maybeCommit()) this.needCommitBroadcast = true
    this.sendAppend(m.from, true)
  }

  private maybeSendTimeoutNow(to: NodeId, pr: Progress): void {
    if (to === this.transferTarget && pr.matchIndex === this.raftLog.lastIndex()) {
      this.send<TimeoutNow>({type: 'TimeoutNow', to, term: this.currentTerm})
    }
  }

  /** Advances commitIndex to the highest index a quorum holds, if it is of the current term. */
  private maybeCommit(): boolean {
    const log = this.raftLog
    // The leader writes its log in parallel with replicating it: it counts itself only for what
    // the driver has persisted (advance), the followers only for what they acknowledged, which
    // they do once it is durable.
    const self = this.cfg.mutant === 'leader-counts-unsynced' ? log.lastIndex() : log.persisted
    const n = this.quorum.committedIndex((id) => (id === this.id ? self : (this.progress.get(id)?.matchIndex ?? 0)))
    if (n <= log.committed) return false
    if (log.termAt(n) !== this.currentTerm && this.cfg.mutant !== 'commit-old-term') return false
    log.commitTo(n)
    if (this.readOnly.hasDeferred() && log.termAt(n) === this.currentTerm) {
      for (const ctx of this.readOnly.takeDeferred()) this.startRead(ctx)
    }
    return true
  }

  // ---------------------------------------------------------------- ReadIndex

  private startRead(ctx: unknown): void {
    if (this.quorum.isSingleton(this.id)) {
      this.readStates.push({ctx, index: this.raftLog.committed})
      return
    }
    this.readOnly.request(ctx, this.raftLog.committed)
  }

  private confirmReads(): void {
    const released = this.readOnly.release((seq) => this.quorum.hasQuorum((id) => id === this.id || (this.progress.get(id)?.ackedReadSeq ?? 0) >= seq))
    this.readStates.push(...released)
  }

  // ---------------------------------------------------------------- output

  private send<M extends Message>(m: Omit<M, 'from'>): void {
    this.msgs.push({...m, from: this.id} as unknown as Message)
  }

  private event(e: RaftEvent): void {
    this.cfg.onEvent?.(e)
  }
}
