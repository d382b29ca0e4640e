// The partition planner shared by the simulator and `raftctl check`: which peer links to cut,
// drawn from a seeded PRNG, as PartitionRules for the real LinkFilter. Pure: no I/O, no clocks.
import type {NodeId} from '../core/types.js'
import type {Prng} from '../lib/prng.js'
import type {PartitionRules} from '../transport/link-filter.js'

export type PartitionKind =
  /** The leader alone on one side. */
  | 'isolate-leader'
  /** One node alone on one side. */
  | 'isolate'
  /** The smaller half (floor(n/2)) against the rest. */
  | 'halves'
  /** A random split into two non-empty sides of any sizes. */
  | 'split'
  /** Every node hears only its nearest ring neighbours: each sees a majority, no two the same. */
  | 'ring'
  /** One node's links cut in one direction each (it hears some, is heard by others). */
  | 'one-way'
  /** One node hears nobody but is heard by all: it keeps campaigning at everyone. */
  | 'deaf'

export interface PlannedPartition {
  kind: PartitionKind
  rules: PartitionRules
  /** The nodes on the side that is cut off (empty for a ring or one-way cuts). */
  nodes: NodeId[]
  text: string
}

/** The kinds `raftctl check` plans from (in this order: a seed replays the same schedule). */
export const CHECK_PARTITION_KINDS: readonly PartitionKind[] = ['isolate-leader', 'isolate', 'halves', 'ring']

/**
 * Picks a partition among `kinds`. 'isolate-leader' counts twice when a leader is known (the
 * fault that makes a deposed leader serve stale data); it and 'ring' (below 4 nodes) are left
 * out when they cannot apply.
 */
export function planPartition(
  prng: Prng,
  nodeIds: readonly NodeId[],
  leader: NodeId | null,
  kinds: readonly PartitionKind[] = CHECK_PARTITION_KINDS,
): PlannedPartition {
  const candidates: PartitionKind[] = []
  for (const k of kinds) {
    if (k === 'isolate-leader') {
      if (leader !== null) candidates.push(k, k)
    } else if (k !== 'ring' || nodeIds.length >= 4) {
      candidates.push(k)
    }
  }
  if (candidates.length === 0) candidates.push('isolate')
  const kind = prng.pick(candidates)
  switch (kind) {
    case 'isolate-leader':
    case 'isolate': {
      const node = kind === 'isolate-leader' ? leader! : prng.pick(nodeIds)
      const rest = nodeIds.filter((id) => id !== node)
      const who = node === leader ? `leader ${node}` : `node ${node}`
      return {kind, rules: {groups: [[node]]}, nodes: [node], text: `isolate ${who} (${node} | ${rest.join(',')})`}
    }
    case 'halves':
    case 'split': {
      const shuffled = prng.shuffle([...nodeIds])
      const cut = kind === 'halves' ? Math.floor(shuffled.length / 2) : prng.int(1, shuffled.length - 1)
      const small = shuffled.slice(0, cut).sort((a, b) => a - b)
      const big = shuffled.slice(cut).sort((a, b) => a - b)
      return {kind, rules: {groups: [small, big]}, nodes: small, text: `partition ${kind} (${small.join(',')} | ${big.join(',')})`}
    }
    case 'ring': {
      // Built from one-way cuts in both directions between nodes further apart than ringReach.
      const ring = prng.shuffle([...nodeIds])
      const n = ring.length
      const reach = ringReach(n)
      const cuts: {from: NodeId; to: NodeId}[] = []
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const d = Math.min((i - j + n) % n, (j - i + n) % n)
          if (d > reach) cuts.push({from: ring[i]!, to: ring[j]!})
        }
      }
      cuts.sort((a, b) => a.from - b.from || a.to - b.to)
      return {kind, rules: {groups: [], cuts}, nodes: [], text: `majorities ring ${ring.join('-')}`}
    }
    case 'deaf': {
      const a = prng.pick(nodeIds)
      const cuts = nodeIds.filter((b) => b !== a).map((b) => ({from: b, to: a}))
      return {kind, rules: {groups: [], cuts}, nodes: [a], text: `node ${a} is deaf (hears nobody, heard by all)`}
    }
    case 'one-way': {
      const a = prng.pick(nodeIds)
      const cuts = nodeIds.filter((b) => b !== a).map((b) => (prng.chance(0.5) ? {from: a, to: b} : {from: b, to: a}))
      return {kind, rules: {groups: [], cuts}, nodes: [], text: `one-way cuts ${cuts.map((c) => `${c.from}>${c.to}`).join(' ')}`}
    }
  }
}

/** How far along the ring each node hears in a majorities ring of n nodes (either way). */
export function ringReach(n: number): number {
  return Math.ceil(Math.floor(n / 2) / 2)
}
