// Partition rules for peer (Raft) traffic: which node may send to which.
//
// Groups split the cluster: a message passes only between nodes of the same group, and nodes not
// named in any group form one more group together. One-way cuts additionally drop a single
// direction (from → to), for asymmetric-failure experiments. A node always reaches itself. No
// rules at all means full connectivity. Client and admin traffic is never filtered — only the
// transport's peer paths consult this. Pure code (no node: imports), shared with the simulator.

import type {NodeId} from '../core/types.js'

export interface LinkCut {
  from: NodeId
  to: NodeId
}

export interface PartitionRules {
  /** Disjoint groups of node ids; unnamed nodes form one more group together. */
  groups: NodeId[][]
  /** One-way cuts applied on top of the groups. */
  cuts?: LinkCut[]
}

export class LinkFilter {
  private groupIndex = new Map<NodeId, number>()
  private groupCount = 0
  private cutKeys = new Set<string>()
  private current: PartitionRules = {groups: []}

  constructor(rules?: PartitionRules | null) {
    if (rules) this.set(rules)
  }

  /** Replace the rules (validated first; on error the old rules stay). null heals. */
  set(rules: PartitionRules | null): void {
    const groups = rules?.groups ?? []
    const cuts = rules?.cuts ?? []
    const index = new Map<NodeId, number>()
    let count = 0
    for (const group of groups) {
      if (!Array.isArray(group)) throw new TypeError('partition: each group must be an array of node ids')
      if (group.length === 0) continue
      count++
      for (const id of group) {
        if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`partition: ${String(id)} is not a node id`)
        if (index.has(id)) throw new RangeError(`partition: node ${id} is in more than one group`)
        index.set(id, count)
      }
    }
    const cutKeys = new Set<string>()
    for (const cut of cuts) {
      for (const id of [cut.from, cut.to]) {
        if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`partition: ${String(id)} is not a node id`)
      }
      cutKeys.add(`${cut.from}>${cut.to}`)
    }
    this.groupIndex = index
    this.groupCount = count
    this.cutKeys = cutKeys
    this.current = {
      groups: groups.filter((g) => g.length > 0).map((g) => [...g]),
      ...(cuts.length > 0 ? {cuts: cuts.map((c) => ({from: c.from, to: c.to}))} : {}),
    }
  }

  heal(): void {
    this.set(null)
  }

  /** Cut `id` off from every other node. */
  isolate(id: NodeId): void {
    this.set({groups: [[id]]})
  }

  get partitioned(): boolean {
    return this.groupCount > 0 || this.cutKeys.size > 0
  }

  /** A copy of the rules in force (plain data: fit for JSON, the cluster directory, the wire). */
  rules(): PartitionRules {
    return {
      groups: this.current.groups.map((g) => [...g]),
      ...(this.current.cuts ? {cuts: this.current.cuts.map((c) => ({...c}))} : {}),
    }
  }

  /**
   * 1-based group number of `id`: its named group, or groups.length + 1 for unnamed nodes
   * (1 for everybody when there is no partition).
   */
  groupOf(id: NodeId): number {
    return this.groupIndex.get(id) ?? this.groupCount + 1
  }

  allows(from: NodeId, to: NodeId): boolean {
    if (from === to) return true
    if (this.groupOf(from) !== this.groupOf(to)) return false
    return !this.cutKeys.has(`${from}>${to}`)
  }
}

/** One line for logs and the CLI: `groups 1,2 | 3,4,5; cuts 1>2`. */
export function describeRules(rules: PartitionRules): string {
  const groups = rules.groups.map((g) => g.join(',')).join(' | ')
  const cuts = (rules.cuts ?? []).map((c) => `${c.from}>${c.to}`).join(' ')
  return [groups && `groups ${groups}`, cuts && `cuts ${cuts}`].filter(Boolean).join('; ')
}
