// Cluster membership: who votes, who only learns, and the joint configuration while voters are
// swapped (Raft §6 / thesis ch. 4, as etcd's ConfChangeV2 does it).
//
// A configuration change is a log entry of type 'config' whose data is a ConfChange. As in
// etcd-io/raft, a node switches to a configuration when it *applies* that entry (not when it
// appends it: nothing is ever reverted), which is safe with three rules kept in raft.ts:
//   - at most one change in flight: a leader proposes the next only once the previous is applied;
//   - a new leader proposes none until it has applied everything its log held when it was elected
//     (so an entry of its own term has committed: the 2015 single-server bug);
//   - a node whose log holds a committed but unapplied change does not campaign (etcd #12133,
//     etcd-io/raft #456: else a node one configuration behind can win the same term).
// A change that adds or removes at most one voter is applied directly (single-server); one that
// changes more goes through a joint configuration, in which elections and commitment need a
// majority of both the old voters (outgoing) and the new (voters); the leader leaves it with a
// second entry as soon as it applies the first. Learners receive the log and snapshots and never
// vote, campaign or count toward a quorum.
import {isNodeId, type NodeId} from './types.js'
import {MajorityConfig, type VoteResult} from './quorum.js'

export interface Membership {
  /** Voters (the incoming configuration while joint). */
  voters: NodeId[]
  /** The outgoing voters while joint; empty otherwise. */
  outgoing: NodeId[]
  learners: NodeId[]
}

export type ConfChangeOp =
  | {type: 'add-learner'; node: NodeId}
  /** Adds a voter, or promotes a learner. */
  | {type: 'add-voter'; node: NodeId}
  | {type: 'remove'; node: NodeId}

/** The data of a 'config' entry. */
export interface ConfChange {
  ops: ConfChangeOp[]
  /** Leave the joint configuration (C_old,new -> C_new); `ops` is empty. */
  leaveJoint?: boolean
}

/** Deliberately broken membership rules, to prove the simulator catches them. */
export type MembershipMutant = 'joint-new-majority-only' | 'learner-counts'

export function initialMembership(voters: readonly NodeId[]): Membership {
  return {voters: sorted(voters), outgoing: [], learners: []}
}

export function sameMembership(a: Membership, b: Membership): boolean {
  const eq = (x: readonly NodeId[], y: readonly NodeId[]) => x.length === y.length && x.every((id, i) => id === y[i])
  return eq(a.voters, b.voters) && eq(a.outgoing, b.outgoing) && eq(a.learners, b.learners)
}

export function isJoint(m: Membership): boolean {
  return m.outgoing.length > 0
}

/** Voters in either half of the configuration. */
export function allVoters(m: Membership): NodeId[] {
  return sorted([...new Set([...m.voters, ...m.outgoing])])
}

/** Everyone the leader replicates to: voters of both halves and learners. */
export function members(m: Membership): NodeId[] {
  return sorted([...new Set([...m.voters, ...m.outgoing, ...m.learners])])
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id) || m.outgoing.includes(id)
}

/** One line: `voters 1,2,3; learners 4` or `joint 1,2,4 / 1,2,3`. */
export function describeMembership(m: Membership): string {
  const voters = isJoint(m) ? `joint ${m.voters.join(',')} / ${m.outgoing.join(',')}` : `voters ${m.voters.join(',')}`
  return m.learners.length > 0 ? `${voters}; learners ${m.learners.join(',')}` : voters
}

export function describeConfChange(cc: ConfChange): string {
  if (cc.leaveJoint) return 'leave the joint configuration'
  return cc.ops.map((op) => `${op.type} ${op.node}`).join(', ')
}

/** How many voters a change adds or removes (more than one needs a joint configuration). */
function voterChanges(m: Membership, cc: ConfChange): number {
  let n = 0
  for (const op of cc.ops) {
    if (op.type === 'add-voter' && !m.voters.includes(op.node)) n++
    if (op.type === 'remove' && m.voters.includes(op.node)) n++
  }
  return n
}

/** The configuration after `cc`, or why it cannot be applied to `m`. */
export function applyConfChange(m: Membership, cc: ConfChange): Membership | {error: string} {
  if (cc.leaveJoint) {
    if (!isJoint(m)) return {error: 'not in a joint configuration'}
    return {voters: m.voters, outgoing: [], learners: m.learners}
  }
  if (cc.ops.length === 0) return {error: 'no change'}
  if (isJoint(m)) return {error: 'a joint configuration is in force: leave it first'}
  const voters = new Set(m.voters)
  const learners = new Set(m.learners)
  for (const op of cc.ops) {
    switch (op.type) {
      case 'add-learner':
        if (voters.has(op.node)) return {error: `node ${op.node} is a voter`}
        learners.add(op.node)
        break
      case 'add-voter':
        learners.delete(op.node)
        voters.add(op.node)
        break
      case 'remove':
        if (!voters.has(op.node) && !learners.has(op.node)) return {error: `node ${op.node} is not a member`}
        voters.delete(op.node)
        learners.delete(op.node)
        break
    }
  }
  if (voters.size === 0) return {error: 'no voter would be left'}
  const next = {voters: sorted(voters), learners: sorted(learners)}
  return voterChanges(m, cc) > 1 ? {...next, outgoing: m.voters} : {...next, outgoing: []}
}

/**
 * Quorums of a configuration: one majority, or while joint a majority of each half. With the
 * mutants: a joint configuration that counts only its new majority, learners counted as voters.
 */
export class JointQuorum {
  private readonly incoming: MajorityConfig
  private readonly outgoing: MajorityConfig | null

  constructor(m: Membership, mutant?: MembershipMutant) {
    const voters = mutant === 'learner-counts' ? [...m.voters, ...m.learners] : m.voters
    this.incoming = new MajorityConfig(voters)
    this.outgoing = isJoint(m) && mutant !== 'joint-new-majority-only' ? new MajorityConfig(m.outgoing) : null
  }

  committedIndex(matchOf: (id: NodeId) => number): number {
    const a = this.incoming.committedIndex(matchOf)
    return this.outgoing ? Math.min(a, this.outgoing.committedIndex(matchOf)) : a
  }

  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const a = this.incoming.voteResult(votes)
    if (!this.outgoing) return a
    const b = this.outgoing.voteResult(votes)
    if (a === 'lost' || b === 'lost') return 'lost'
    return a === 'won' && b === 'won' ? 'won' : 'pending'
  }

  hasQuorum(pred: (id: NodeId) => boolean): boolean {
    return this.incoming.hasQuorum(pred) && (this.outgoing?.hasQuorum(pred) ?? true)
  }

  /** Is `id` alone a quorum (a one-voter cluster)? */
  isSingleton(id: NodeId): boolean {
    return this.hasQuorum((x) => x === id)
  }
}

/** Shape check of a ConfChange read from the wire or the disk. */
export function confChangeProblem(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'a configuration change must be an object'
  const c = x as Record<string, unknown>
  if (c['leaveJoint'] !== undefined && typeof c['leaveJoint'] !== 'boolean') return 'leaveJoint must be a boolean'
  if (!Array.isArray(c['ops'])) return 'ops must be an array'
  for (const op of c['ops'] as unknown[]) {
    if (typeof op !== 'object' || op === null) return 'each op must be an object'
    const o = op as Record<string, unknown>
    if (o['type'] !== 'add-learner' && o['type'] !== 'add-voter' && o['type'] !== 'remove') return `unknown op ${String(o['type'])}`
    if (!isNodeId(o['node'])) return 'op.node must be a node id'
  }
  return null
}

/** Shape check of a Membership (a snapshot's). */
export function membershipProblem(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'membership must be an object'
  const m = x as Record<string, unknown>
  for (const k of ['voters', 'outgoing', 'learners']) {
    const v = m[k]
    if (!Array.isArray(v) || !v.every(isNodeId)) return `membership.${k} must be a list of node ids`
  }
  return null
}

function sorted(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b)
}
