// The nemesis's plan for `raftctl check`: which fault comes next, drawn from a seeded PRNG so a
// seed replays the same schedule of fault kinds, targets and delays (which node is the leader at
// the time is up to the cluster). Pure: no I/O, no clocks.
import type {NodeId} from '../core/types.js'
import type {Prng} from '../lib/prng.js'
import type {PartitionRules} from '../transport/link-filter.js'

export type FaultKind = 'partition' | 'kill' | 'pause'
export const FAULT_KINDS: readonly FaultKind[] = ['partition', 'kill', 'pause']

export type PartitionKind = 'isolate-leader' | 'isolate' | 'halves' | 'ring'

export type Fault =
  | {type: 'partition'; kind: PartitionKind; rules: PartitionRules; nodes: NodeId[]; text: string}
  | {type: 'kill' | 'pause'; node: NodeId; leader: boolean; text: string}

/** Delay before the next nemesis step: 1–3 s. */
export function nextDelayMs(prng: Prng): number {
  return prng.int(1000, 3000)
}

/** After a repair, the chance that the step starts a new fault (else the cluster gets a rest). */
export const FAULT_CHANCE = 0.8

/** Chance that a kill or pause targets the leader (when one is known) rather than any node. */
const LEADER_BIAS = 0.6

/**
 * Picks the next fault from the enabled kinds. Leader-targeted faults are favoured: they are the
 * ones that make a deposed leader serve stale data, lose acknowledged writes, or split the brain.
 */
export function planFault(prng: Prng, kinds: readonly FaultKind[], nodeIds: readonly NodeId[], leader: NodeId | null): Fault {
  const type = prng.pick(kinds)
  if (type === 'partition') return planPartition(prng, nodeIds, leader)
  const onLeader = leader !== null && prng.chance(LEADER_BIAS)
  const node = onLeader ? leader : prng.pick(nodeIds)
  const role = node === leader ? ' (leader)' : ''
  return {type, node, leader: node === leader, text: `${type} node ${node}${role}`}
}

export function planPartition(prng: Prng, nodeIds: readonly NodeId[], leader: NodeId | null): Fault & {type: 'partition'} {
  const kinds: PartitionKind[] = []
  if (leader !== null) kinds.push('isolate-leader', 'isolate-leader')
  kinds.push('isolate', 'halves')
  if (nodeIds.length >= 4) kinds.push('ring')
  const kind = prng.pick(kinds)
  switch (kind) {
    case 'isolate-leader':
    case 'isolate': {
      const node = kind === 'isolate-leader' ? leader! : prng.pick(nodeIds)
      const rest = nodeIds.filter((id) => id !== node)
      const who = node === leader ? `leader ${node}` : `node ${node}`
      return {type: 'partition', kind, rules: {groups: [[node]]}, nodes: [node], text: `isolate ${who} (${node} | ${rest.join(',')})`}
    }
    case 'halves': {
      const shuffled = prng.shuffle([...nodeIds])
      const small = shuffled.slice(0, Math.floor(shuffled.length / 2)).sort((a, b) => a - b)
      const big = shuffled.slice(small.length).sort((a, b) => a - b)
      return {type: 'partition', kind, rules: {groups: [small, big]}, nodes: small, text: `partition halves (${small.join(',')} | ${big.join(',')})`}
    }
    case 'ring': {
      // Majorities ring: each node hears only its nearest ring neighbours, just enough of them
      // to see a majority (the two next to it for 4 or 5 nodes), so every node sees a majority
      // but no two see the same one. Built from one-way cuts in both directions.
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
      return {type: 'partition', kind, rules: {groups: [], cuts}, nodes: [], text: `majorities ring ${ring.join('-')}`}
    }
  }
}

/** How far along the ring each node hears in a majorities ring of n nodes (either way). */
export function ringReach(n: number): number {
  return Math.ceil(Math.floor(n / 2) / 2)
}
