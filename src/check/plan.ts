// The nemesis's plan for `raftctl check`: which fault comes next, drawn from a seeded PRNG so a
// seed replays the same schedule of fault kinds, targets and delays (which node is the leader at
// the time is up to the cluster). Pure: no I/O, no clocks.
import type {NodeId} from '../core/types.js'
import type {Prng} from '../lib/prng.js'
import type {PartitionRules} from '../transport/link-filter.js'
import {planPartition as planSharedPartition, ringReach, type PartitionKind} from '../sim/partitions.js'

export type FaultKind = 'partition' | 'kill' | 'pause'
export const FAULT_KINDS: readonly FaultKind[] = ['partition', 'kill', 'pause']

export type {PartitionKind}

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
  return {type: 'partition', ...planSharedPartition(prng, nodeIds, leader)}
}

export {ringReach}
