// Safety checkers over a simulated cluster, each a rule of the Raft paper (Figure 3) or of the
// product: election safety, log matching, leader completeness, state machine safety, exactly-once,
// applied <= committed, each node applying every index once and in order, and equal replica states (data and sessions) at every common applied index;
// and, against the configuration in force, that every leader won a quorum of votes and every
// commit had a quorum of acknowledgements, and that no leader is elected two changes behind.
// They observe the replicas from outside (roles, logs, applied entries) and record the first
// violation; linearizability of the client history is checked at the end (linearizability.ts).
import type {LogView} from '../core/log.js'
import type {Membership} from '../core/membership.js'
import type {Entry, NodeId} from '../core/types.js'
import type {AnyWriteCommand} from '../kv/state-machine.js'

export interface Violation {
  rule: string
  detail: string
}

/** What the checkers see of a node: its id, its current term and its log. */
export interface ObservedNode {
  id: NodeId
  term: number
  log: LogView
}

/** A leader as the quorum checks see it: its configuration and how far it has applied. */
export interface ObservedLeader {
  id: NodeId
  term: number
  membership: Membership
  appliedIndex: number
}

/**
 * Whether `has` holds a majority of each half of `m` (both while joint). Written here again,
 * from the definition, rather than taken from the core: the core's version is what the
 * membership mutants break.
 */
export function quorumOf(m: Membership, has: (id: NodeId) => boolean): boolean {
  const majority = (ids: readonly NodeId[]) => ids.length === 0 || ids.filter(has).length * 2 > ids.length
  return majority(m.voters) && majority(m.outgoing)
}

function describeMembership(m: Membership): string {
  const v = m.outgoing.length > 0 ? `voters ${m.voters.join(',')} and ${m.outgoing.join(',')}` : `voters ${m.voters.join(',')}`
  return m.learners.length > 0 ? `${v}, learners ${m.learners.join(',')}` : v
}

export class SafetyChecker {
  violation: Violation | null = null
  private leaders = new Map<number, NodeId>()
  /**
   * index -> the entry applied there (first seen; every later application must agree), and an
   * upper bound on the term in which it was committed: the lowest current term of a node that
   * applied it (a node learns of a commit from a leader of its own term or an earlier one), or of
   * the leader that committed it.
   */
  private applied = new Map<number, {term: number; key: string; committedBy: number}>()
  private effects = new Map<string, number>()
  /** applied index -> fingerprint of the state machine there (first seen) and who saw it. */
  private states = new Map<number, {fingerprint: string; node: NodeId}>()
  checks = 0
  /** Leaders elected in a term older than the one that committed an entry they lack (allowed). */
  staleTermLeaders = 0

  private fail(rule: string, detail: string): void {
    if (!this.violation) this.violation = {rule, detail}
  }

  /** term -> voter -> the candidate it voted for (a candidate votes for itself). */
  private votes = new Map<number, Map<NodeId, NodeId>>()
  /** `${term}:${node}` -> the highest index it acknowledged to the leader of that term. */
  private acks = new Map<string, number>()
  /** Configuration changes that took effect somewhere: index -> the term of its entry. */
  private configIndexes = new Map<number, number>()
  /** Configuration entries applied anywhere: index -> term. */
  private configEntries = new Map<number, number>()

  /** A vote left `voter` (a RequestVote from a candidate is its vote for itself). */
  voteCast(term: number, voter: NodeId, candidate: NodeId): void {
    let byVoter = this.votes.get(term)
    if (!byVoter) this.votes.set(term, (byVoter = new Map()))
    const before = byVoter.get(voter)
    if (before !== undefined && before !== candidate) {
      this.fail('one vote per term', `node ${voter} voted for ${before} and for ${candidate} in term ${term}`)
    }
    byVoter.set(voter, candidate)
  }

  /** `node` acknowledged its log up to `index` to the leader of `term` (it is durable there). */
  ackSent(term: number, node: NodeId, index: number): void {
    const key = `${term}:${node}`
    if (index > (this.acks.get(key) ?? 0)) this.acks.set(key, index)
  }

  /** A node switched to the configuration of the change at `index` by applying it. */
  configApplied(index: number): void {
    const term = this.configEntries.get(index)
    if (term !== undefined) this.configIndexes.set(index, term)
  }

  /**
   * A new leader's quorum and configuration: a quorum of its configuration (by the definition,
   * not by the core's code) voted for it, and it is at most one configuration change behind
   * what is in force anywhere. Two behind, its majorities need not meet those of the
   * configuration that is committing (etcd #7625: the invariants that make apply-time
   * configuration changes safe).
   */
  electedWithQuorum(l: ObservedLeader): void {
    const byVoter = this.votes.get(l.term)
    if (!quorumOf(l.membership, (id) => byVoter?.get(id) === l.id)) {
      const got = [...(byVoter ?? new Map<NodeId, NodeId>())].filter(([, c]) => c === l.id).map(([v]) => v)
      return this.fail(
        'election quorum',
        `node ${l.id} leads term ${l.term} with votes from ${got.join(',') || 'nobody'}, no quorum of ${describeMembership(l.membership)}`,
      )
    }
    // Changes of a later term than the leader's do not count. The first of them was committed by a
    // quorum of a configuration at most one change from this leader's (the earlier changes are
    // judged as before), and adjacent configurations' majorities meet: every quorum this leader
    // could use holds a node already past its term, so it can commit nothing and serve no read (a
    // leader made by vote replies delivered late, after a pause, can be many changes behind and
    // harmless). A mutant that breaks that overlap is the commit quorum rule's to catch.
    const ahead = [...this.configIndexes].filter(([i, term]) => i > l.appliedIndex && term <= l.term).map(([i]) => i)
    if (ahead.length >= 2) {
      this.fail(
        'configuration in force',
        `node ${l.id} leads term ${l.term} having applied up to ${l.appliedIndex}, but the configuration changes at ${ahead.sort((a, b) => a - b).join(', ')} are already in force elsewhere`,
      )
    }
  }

  /**
   * The leader of `term` advanced its commitIndex to `to`: a quorum of the configuration in
   * force (before or after this step: applying a change moves it) acknowledged `to` in this term.
   */
  committedWithQuorum(l: {id: NodeId; term: number; persisted: number}, memberships: readonly Membership[], to: number): void {
    // The leader itself counts only for what its driver made durable (it writes in parallel).
    const holds = (id: NodeId) => (id === l.id ? l.persisted >= to : (this.acks.get(`${l.term}:${id}`) ?? 0) >= to)
    if (memberships.some((m) => quorumOf(m, holds))) return
    const m = memberships[memberships.length - 1]!
    const got = [...new Set([l.id, ...m.voters, ...m.outgoing, ...m.learners])].filter((id) => holds(id))
    this.fail(
      'commit quorum',
      `node ${l.id}, leader of term ${l.term}, committed index ${to} held durably only by ${got.join(',') || 'nobody'} (its own log durable up to ${l.persisted}), no quorum of ${describeMembership(m)}`,
    )
  }

  /** Election safety: at most one leader per term. And leader completeness for the new leader. */
  becameLeader(node: ObservedNode): void {
    const term = node.term
    const other = this.leaders.get(term)
    if (other !== undefined && other !== node.id) {
      this.fail('election safety', `nodes ${other} and ${node.id} both leaders of term ${term}`)
    }
    this.leaders.set(term, node.id)
    // Leader completeness (Figure 3): the leader of a term holds every entry committed in an
    // earlier term. Only earlier terms: a candidate paused until after later terms committed more
    // may still win its old term, and need not hold those.
    const snap = node.log.snapshotIndex
    for (const [index, e] of this.applied) {
      if (index < snap) continue
      if (e.committedBy >= term) {
        if (node.log.termAt(index) !== e.term) this.staleTermLeaders++
        continue
      }
      const t = node.log.termAt(index)
      if (t !== e.term) {
        this.fail(
          'leader completeness',
          `node ${node.id}, leader of term ${term}, has ${t === undefined ? 'no entry' : `term ${t}`} at index ${index} where term ${e.term} was committed`,
        )
        return
      }
    }
  }

  /** The entry applied (so committed) at `index`, if any node applied it. */
  committedEntry(index: number): {term: number; key: string} | undefined {
    return this.applied.get(index)
  }

  /** A leader of `term` advanced its commitIndex over (from, to]. */
  committed(term: number, from: number, to: number): void {
    for (let i = from + 1; i <= to; i++) {
      const e = this.applied.get(i)
      if (e !== undefined && term < e.committedBy) e.committedBy = term
      else if (e === undefined) this.pendingCommits.set(i, Math.min(term, this.pendingCommits.get(i) ?? Infinity))
    }
  }

  /** Commit terms reported by leaders for indexes nobody has applied yet. */
  private pendingCommits = new Map<number, number>()

  /**
   * State machine safety: no two nodes apply different entries at one index. `currentTerm` is the
   * applying node's term at the time.
   */
  entryApplied(nodeId: NodeId, entry: Entry, currentTerm: number): void {
    const key = entryKey(entry)
    if (entry.type === 'config') this.configEntries.set(entry.index, entry.term)
    const seen = this.applied.get(entry.index)
    if (!seen) {
      const byLeader = this.pendingCommits.get(entry.index)
      this.pendingCommits.delete(entry.index)
      this.applied.set(entry.index, {term: entry.term, key, committedBy: Math.min(currentTerm, byLeader ?? Infinity)})
    } else if (seen.term === entry.term && seen.key === key) {
      if (currentTerm < seen.committedBy) seen.committedBy = currentTerm
    } else {
      this.fail('state machine safety', `node ${nodeId} applied ${key}@${entry.term} at index ${entry.index} where ${seen.key}@${seen.term} was applied`)
    }
  }

  /** Per node: the index it applied last (or restored a snapshot at), in this incarnation. */
  private lastApplied = new Map<NodeId, number>()

  /** A node (re)started with its state at `index` (its snapshot's): it applies from index + 1. */
  startedAt(nodeId: NodeId, index: number): void {
    this.lastApplied.set(nodeId, index)
  }

  /** A snapshot from the leader replaced a node's state: it applies from index + 1. */
  restoredAt(nodeId: NodeId, index: number): void {
    this.lastApplied.set(nodeId, index)
  }

  /** Apply order: a node applies index i right after i - 1, each once (never twice, never skipping one). */
  appliedInOrder(nodeId: NodeId, index: number): void {
    const last = this.lastApplied.get(nodeId)
    if (last !== undefined && index !== last + 1) {
      this.fail('apply order', `node ${nodeId} applied index ${index} after ${last}${index <= last ? ' (again)' : ` (skipping ${last + 1}..${index - 1})`}`)
    }
    this.lastApplied.set(nodeId, index)
  }

  /** A node's applied index never passes its commit index. */
  appliedWithinCommit(nodeId: NodeId, appliedIndex: number, commitIndex: number): void {
    if (appliedIndex > commitIndex) this.fail('applied <= committed', `node ${nodeId} applied up to ${appliedIndex}, commitIndex ${commitIndex}`)
  }

  /** Replica states are equal at every common applied index (data and client sessions). */
  stateAt(nodeId: NodeId, index: number, fingerprint: string): void {
    const seen = this.states.get(index)
    if (seen === undefined) this.states.set(index, {fingerprint, node: nodeId})
    else if (seen.fingerprint !== fingerprint) {
      const at = firstDifference(seen.fingerprint, fingerprint)
      this.fail(
        'replica states',
        `nodes ${seen.node} and ${nodeId} differ at applied index ${index}: ...${clip(seen.fingerprint.slice(Math.max(0, at - 40)))} vs ...${clip(fingerprint.slice(Math.max(0, at - 40)))}`,
      )
    }
  }

  /** Exactly-once: a client's (session, seq) takes effect at one log index only. */
  effect(nodeId: NodeId, cmd: AnyWriteCommand, index: number): void {
    const id = `${'session' in cmd ? cmd.session : cmd.clientId}#${cmd.seq}`
    const at = this.effects.get(id)
    if (at === undefined) this.effects.set(id, index)
    else if (at !== index) {
      this.fail('exactly-once', `node ${nodeId} applied write ${id} at index ${index}; it already took effect at ${at}`)
    }
  }

  /** Log matching: same index and term => same entry and identical logs up to there. */
  logMatching(nodes: ObservedNode[]): void {
    this.checks++
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const x = nodes[a]!
        const y = nodes[b]!
        const lo = Math.max(x.log.firstIndex(), y.log.firstIndex())
        const hi = Math.min(x.log.lastIndex(), y.log.lastIndex())
        let matched = false
        for (let i = hi; i >= lo; i--) {
          const ex = x.log.entryAt(i)!
          const ey = y.log.entryAt(i)!
          if (ex.term === ey.term) {
            if (entryKey(ex) !== entryKey(ey)) {
              return this.fail('log matching', `nodes ${x.id} and ${y.id} hold different entries at index ${i} of term ${ex.term}`)
            }
            matched = true
          } else if (matched) {
            return this.fail('log matching', `nodes ${x.id} and ${y.id} agree on a later entry but differ at index ${i} (terms ${ex.term} and ${ey.term})`)
          }
        }
      }
    }
  }
}

export function entryKey(e: Entry): string {
  return e.type === 'noop' ? 'noop' : JSON.stringify(e.data)
}

function firstDifference(a: string, b: string): number {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return i
}

function clip(s: string): string {
  return s.length > 160 ? `${s.slice(0, 160)}...` : s
}
