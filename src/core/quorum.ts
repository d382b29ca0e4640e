// Quorums over a voter set (etcd's quorum package): the index a majority has stored, the outcome
// of a vote, whether a majority is active. A node's configuration is a MajorityConfig today; a
// joint configuration (C_old,new) is the conjunction of two, each deciding by its own majority.
import type {NodeId} from './types.js'

export type VoteResult = 'won' | 'lost' | 'pending'

export class MajorityConfig {
  readonly voters: readonly NodeId[]

  constructor(voters: readonly NodeId[]) {
    this.voters = [...voters].sort((a, b) => a - b)
  }

  get quorum(): number {
    return Math.floor(this.voters.length / 2) + 1
  }

  has(id: NodeId): boolean {
    return this.voters.includes(id)
  }

  /** The highest index stored on a majority, given each voter's match index. */
  committedIndex(matchOf: (id: NodeId) => number): number {
    if (this.voters.length === 0) return Infinity
    const matches = this.voters.map(matchOf).sort((a, b) => b - a)
    return matches[this.quorum - 1]!
  }

  /** Won once a majority granted, lost once a majority refused; pending until then. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    if (this.voters.length === 0) return 'won'
    let granted = 0
    let rejected = 0
    for (const id of this.voters) {
      const v = votes.get(id)
      if (v === true) granted++
      else if (v === false) rejected++
    }
    if (granted >= this.quorum) return 'won'
    if (rejected >= this.quorum) return 'lost'
    return 'pending'
  }

  /** Whether a majority of the voters satisfies `pred` (active, acknowledged a read round). */
  hasQuorum(pred: (id: NodeId) => boolean): boolean {
    let n = 0
    for (const id of this.voters) if (pred(id)) n++
    return n >= this.quorum
  }
}
