// How a partition reads: every side of it. Rules may name only some groups (the nodes not named
// form one more group together, link-filter.ts); what raftctl stores, prints and returns as JSON
// names every side, `1 | 2,3`, so nobody has to work out the rest group. One group that holds
// every node (and no one-way cut, no link fault) is no partition at all.
import type {NodeId} from '../core/types.js'
import {describeLinkFaults, type PartitionRules} from '../transport/link-filter.js'

/** The named groups plus the group of every node not named (if any), empty groups dropped. */
export function partitionSides(groups: readonly NodeId[][], nodeIds: readonly NodeId[]): NodeId[][] {
  const named = new Set(groups.flat())
  const rest = nodeIds.filter((id) => !named.has(id))
  const out = groups.filter((g) => g.length > 0).map((g) => [...g])
  if (rest.length > 0) out.push(rest)
  return out
}

/**
 * The rules with every side named; null when they do nothing (one group of all nodes, no cuts, no
 * link faults).
 */
export function completePartition(rules: PartitionRules | null, nodeIds: readonly NodeId[]): PartitionRules | null {
  if (!rules) return null
  const groups = partitionSides(rules.groups ?? [], nodeIds)
  const cuts = rules.cuts ?? []
  const links = rules.links ?? []
  if (groups.length <= 1 && cuts.length === 0 && links.length === 0) return null
  return {groups: groups.length <= 1 ? [] : groups, ...(cuts.length > 0 ? {cuts} : {}), ...(links.length > 0 ? {links} : {})}
}

/** The same rules without their link faults (null if nothing else is left). */
export function withoutLinkFaults(rules: PartitionRules | null, nodeIds: readonly NodeId[]): PartitionRules | null {
  if (!rules) return null
  const {links: _links, ...rest} = rules
  return completePartition(rest, nodeIds)
}

/** Whether the rules cut any link (groups or one-way cuts), as opposed to only shaping links. */
export function cutsLinks(rules: PartitionRules | null): boolean {
  return rules !== null && (rules.groups.length > 1 || (rules.cuts ?? []).length > 0)
}

/**
 * `1 | 2,3`, with `; one-way cuts 1>2 3>1` when there are any; link faults only (no cut at all)
 * read `full connectivity; links 1>2: delay 100ms`.
 */
export function describePartition(rules: PartitionRules, nodeIds: readonly NodeId[]): string {
  const groups = partitionSides(rules.groups, nodeIds)
  const sides = groups.length > 1 ? groups.map((g) => g.join(',')).join(' | ') : 'all nodes together'
  const cuts = (rules.cuts ?? []).map((c) => `${c.from}>${c.to}`).join(' ')
  const links = rules.links && rules.links.length > 0 ? describeLinkFaults(rules.links) : ''
  const cut = cuts ? `${sides}; one-way cuts ${cuts}` : sides
  if (!links) return cut
  return groups.length > 1 || cuts ? `${cut}; links ${links}` : `full connectivity; links ${links}`
}
