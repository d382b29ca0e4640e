// Partition rules for peer (Raft) traffic: which node may send to which.
//
// Groups split the cluster: a message passes only between nodes of the same group, and nodes not
// named in any group form one more group together. One-way cuts additionally drop a single
// direction (from → to), for asymmetric-failure experiments. A node always reaches itself. Link
// faults shape what a link still carries (one direction each): an added delay with jitter, a share
// of messages lost, a share sent twice; the sending PeerTransport applies them (the simulator has
// its own loss and delays and ignores them). No rules at all means full connectivity. Client and
// admin traffic is never filtered — only the transport's peer paths consult this. Pure code (no
// node: imports), shared with the simulator.

import {isNodeId, type NodeId} from '../core/types.js'

export interface LinkCut {
  from: NodeId
  to: NodeId
}

/** What one direction of a link does to the messages it still carries. */
export interface LinkFault {
  from: NodeId
  to: NodeId
  /** Added one-way delay per message (ms). */
  delayMs?: number
  /** Each message's delay varies uniformly by up to this much either way (ms); messages may reorder. */
  jitterMs?: number
  /** Share of messages dropped, 0..1. */
  loss?: number
  /** Share of messages delivered twice, 0..1. */
  duplicate?: number
}

export interface PartitionRules {
  /** Disjoint groups of node ids; unnamed nodes form one more group together. */
  groups: NodeId[][]
  /** One-way cuts applied on top of the groups. */
  cuts?: LinkCut[]
  /** Delay, loss and duplication per direction of a link (at most one entry per direction). */
  links?: LinkFault[]
}

/** The longest delay (and jitter) a link fault may add: beyond it a link is as good as cut. */
export const MAX_LINK_DELAY_MS = 60_000

export class LinkFilter {
  private groupIndex = new Map<NodeId, number>()
  private groupCount = 0
  private cutKeys = new Set<string>()
  private linkFaults = new Map<string, LinkFault>()
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
        if (!isNodeId(id)) throw new RangeError(`partition: ${String(id)} is not a node id`)
        if (index.has(id)) throw new RangeError(`partition: node ${id} is in more than one group`)
        index.set(id, count)
      }
    }
    const cutKeys = new Set<string>()
    for (const cut of cuts) {
      for (const id of [cut.from, cut.to]) {
        if (!isNodeId(id)) throw new RangeError(`partition: ${String(id)} is not a node id`)
      }
      cutKeys.add(`${cut.from}>${cut.to}`)
    }
    const linkFaults = new Map<string, LinkFault>()
    for (const link of rules?.links ?? []) {
      const fault = checkLinkFault(link)
      const key = `${fault.from}>${fault.to}`
      if (linkFaults.has(key)) throw new RangeError(`partition: link ${key} has two fault entries`)
      if (!isNoFault(fault)) linkFaults.set(key, fault)
    }
    this.groupIndex = index
    this.groupCount = count
    this.cutKeys = cutKeys
    this.linkFaults = linkFaults
    this.current = {
      groups: groups.filter((g) => g.length > 0).map((g) => [...g]),
      ...(cuts.length > 0 ? {cuts: cuts.map((c) => ({from: c.from, to: c.to}))} : {}),
      ...(linkFaults.size > 0 ? {links: [...linkFaults.values()].map((l) => ({...l}))} : {}),
    }
  }

  heal(): void {
    this.set(null)
  }

  /** Cut `id` off from every other node. */
  isolate(id: NodeId): void {
    this.set({groups: [[id]]})
  }

  /** Whether any rule is in force: groups, one-way cuts or link faults. */
  get partitioned(): boolean {
    return this.groupCount > 0 || this.cutKeys.size > 0 || this.linkFaults.size > 0
  }

  /** A copy of the rules in force (plain data: fit for JSON, the cluster directory, the wire). */
  rules(): PartitionRules {
    return {
      groups: this.current.groups.map((g) => [...g]),
      ...(this.current.cuts ? {cuts: this.current.cuts.map((c) => ({...c}))} : {}),
      ...(this.current.links ? {links: this.current.links.map((l) => ({...l}))} : {}),
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

  /** The delay, loss and duplication of the link from → to, if it has any. */
  linkFault(from: NodeId, to: NodeId): LinkFault | undefined {
    return this.linkFaults.size === 0 ? undefined : this.linkFaults.get(`${from}>${to}`)
  }
}

/** A link fault entry checked field by field (a copy, with only the fields that are set). */
export function checkLinkFault(x: LinkFault): LinkFault {
  if (typeof x !== 'object' || x === null) throw new TypeError('partition: a link fault must be an object')
  for (const id of [x.from, x.to]) {
    if (!isNodeId(id)) throw new RangeError(`partition: ${String(id)} is not a node id`)
  }
  if (x.from === x.to) throw new RangeError(`partition: link ${x.from}>${x.to} is a node's link to itself`)
  const out: LinkFault = {from: x.from, to: x.to}
  for (const k of ['delayMs', 'jitterMs'] as const) {
    const v = x[k]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_LINK_DELAY_MS)
      throw new RangeError(`partition: ${k} must be 0..${MAX_LINK_DELAY_MS} ms`)
    if (v > 0) out[k] = v
  }
  for (const k of ['loss', 'duplicate'] as const) {
    const v = x[k]
    if (v === undefined) continue
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError(`partition: ${k} must be a share between 0 and 1`)
    if (v > 0) out[k] = v
  }
  return out
}

function isNoFault(f: LinkFault): boolean {
  return f.delayMs === undefined && f.jitterMs === undefined && f.loss === undefined && f.duplicate === undefined
}

/** `delay 100ms±20ms, loss 10%, duplicate 5%` (the parts that are set). */
export function describeLinkFault(f: LinkFault): string {
  const parts: string[] = []
  if (f.delayMs !== undefined || f.jitterMs !== undefined) parts.push(`delay ${f.delayMs ?? 0}ms${f.jitterMs ? `±${f.jitterMs}ms` : ''}`)
  if (f.loss !== undefined) parts.push(`loss ${percent(f.loss)}`)
  if (f.duplicate !== undefined) parts.push(`duplicate ${percent(f.duplicate)}`)
  return parts.join(', ')
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`
}

/**
 * Link faults grouped by what they do, shortest first: `1>2 2>1: delay 100ms; 3>1: loss 10%`
 * (one line for logs, status and the CLI).
 */
export function describeLinkFaults(links: readonly LinkFault[]): string {
  const byFault = new Map<string, string[]>()
  for (const l of [...links].sort((a, b) => a.from - b.from || a.to - b.to)) {
    const text = describeLinkFault(l)
    const list = byFault.get(text) ?? []
    list.push(`${l.from}>${l.to}`)
    byFault.set(text, list)
  }
  return [...byFault].map(([text, ls]) => `${ls.join(' ')}: ${text}`).join('; ')
}

/** One line for logs and the CLI: `groups 1,2 | 3,4,5; cuts 1>2; links 1>2: delay 100ms`. */
export function describeRules(rules: PartitionRules): string {
  const groups = rules.groups.map((g) => g.join(',')).join(' | ')
  const cuts = (rules.cuts ?? []).map((c) => `${c.from}>${c.to}`).join(' ')
  const links = rules.links && rules.links.length > 0 ? describeLinkFaults(rules.links) : ''
  return [groups && `groups ${groups}`, cuts && `cuts ${cuts}`, links && `links ${links}`].filter(Boolean).join('; ')
}
