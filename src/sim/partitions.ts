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
  /** Two halves that reach each other only through one node, which hears everybody. */
  | 'bridge'
  /**
   * A majority fully connected; every other node hears (and is heard by) one member only, a
   * different one each where there are enough (the shape of the 2020 Cloudflare etcd outage).
   */
  | 'tethered'

export interface PlannedPartition {
  kind: PartitionKind
  rules: PartitionRules
  /** The nodes on the side that is cut off (empty for a ring or one-way cuts). */
  nodes: NodeId[]
  text: string
}

/** The kinds `raftctl check` plans from (in this order: a seed replays the same schedule). */
export const CHECK_PARTITION_KINDS: readonly PartitionKind[] = ['isolate-leader', 'isolate', 'halves', 'ring']

/** The partial topologies `raftctl check` plans for its `bridge`, `tethered` and `one-way` faults. */
export const CHECK_PARTIAL_KINDS = {bridge: ['bridge'], tethered: ['tethered'], 'one-way': ['one-way', 'deaf']} as const satisfies Record<
  string,
  readonly PartitionKind[]
>

/**
 * Picks a partition among `kinds`. 'isolate-leader' counts twice when a leader is known (the
 * fault that makes a deposed leader serve stale data); it, 'ring' (below 4 nodes), 'bridge' and
 * 'tethered' (below 3) are left out when they cannot apply.
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
    } else if ((k !== 'ring' || nodeIds.length >= 4) && ((k !== 'bridge' && k !== 'tethered') || nodeIds.length >= 3)) {
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
      const r = ring(prng.shuffle([...nodeIds]))
      return {kind, rules: r.rules, nodes: [], text: r.text}
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
    case 'bridge': {
      const order = prng.shuffle([...nodeIds])
      const b = bridge(nodeIds, order[0]!, order.slice(1))
      return {kind, rules: b.rules, nodes: [], text: b.text}
    }
    case 'tethered': {
      // The leader (if known) stays in the majority, and the others are tethered to the other
      // members first: every node outside then misses the leader and keeps asking for votes.
      const order = prng.shuffle(nodeIds.filter((id) => id !== leader))
      const size = Math.floor(nodeIds.length / 2) + 1
      const majority = leader !== null ? [leader, ...order.slice(0, size - 1)] : order.slice(0, size)
      const t = tethered(nodeIds, majority, leader ?? undefined)
      return {kind, rules: t.rules, nodes: t.tethered, text: t.text}
    }
  }
}

/** Both directions of every link between a node of `a` and one of `b`. */
function cutBetween(a: readonly NodeId[], b: readonly NodeId[]): {from: NodeId; to: NodeId}[] {
  const cuts: {from: NodeId; to: NodeId}[] = []
  for (const x of a) for (const y of b) if (x !== y) cuts.push({from: x, to: y}, {from: y, to: x})
  return cuts.sort((p, q) => p.from - q.from || p.to - q.to)
}

/**
 * A bridge: node `via` hears everybody; the others, in the order given (default: by id), split
 * into two halves (the first floor((n-1)/2) against the rest) that hear each other only through it.
 */
export function bridge(
  nodeIds: readonly NodeId[],
  via: NodeId,
  others?: readonly NodeId[],
): {rules: PartitionRules; sides: [NodeId[], NodeId[]]; text: string} {
  const rest = others ? [...others] : nodeIds.filter((id) => id !== via)
  const cut = Math.floor(rest.length / 2)
  const a = rest.slice(0, cut).sort((x, y) => x - y)
  const b = rest.slice(cut).sort((x, y) => x - y)
  return {rules: {groups: [], cuts: cutBetween(a, b)}, sides: [a, b], text: `bridge ${a.join(',')} <${via}> ${b.join(',')}`}
}

/**
 * The tethered shape: `majority` fully connected; each other node keeps its links (both ways) to
 * one member only — the members in turn (in id order, `last` at the end), so tethers differ while
 * there are enough — and loses every other link, to the rest of the majority and to the other
 * tethered nodes.
 */
export function tethered(
  nodeIds: readonly NodeId[],
  majority: readonly NodeId[],
  last?: NodeId,
): {rules: PartitionRules; tethered: NodeId[]; tethers: Map<NodeId, NodeId>; text: string} {
  const sorted = [...majority].sort((a, b) => a - b)
  const members = [...sorted.filter((id) => id !== last), ...sorted.filter((id) => id === last)]
  const inMajority = new Set(members)
  const others = nodeIds.filter((id) => !inMajority.has(id))
  const tethers = new Map<NodeId, NodeId>()
  others.forEach((id, i) => tethers.set(id, members[i % members.length]!))
  const seen = new Set<string>()
  const cuts: {from: NodeId; to: NodeId}[] = []
  for (const x of others) {
    for (const y of nodeIds) {
      if (y === x || y === tethers.get(x)) continue
      for (const c of [
        {from: x, to: y},
        {from: y, to: x},
      ]) {
        const key = `${c.from}>${c.to}`
        if (!seen.has(key)) cuts.push(c)
        seen.add(key)
      }
    }
  }
  cuts.sort((p, q) => p.from - q.from || p.to - q.to)
  const links = others.map((x) => `${x}-${tethers.get(x)}`).join(' ')
  return {rules: {groups: [], cuts}, tethered: others, tethers, text: `tethered: ${sorted.join(',')} fully connected${links ? `; only ${links}` : ''}`}
}

/** A majorities ring in the order given: each node hears its ringReach nearest neighbours either way. */
export function ring(order: readonly NodeId[]): {rules: PartitionRules; text: string} {
  const n = order.length
  const reach = ringReach(n)
  const cuts: {from: NodeId; to: NodeId}[] = []
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = Math.min((i - j + n) % n, (j - i + n) % n)
      if (d > reach) cuts.push({from: order[i]!, to: order[j]!})
    }
  }
  cuts.sort((a, b) => a.from - b.from || a.to - b.to)
  return {rules: {groups: [], cuts}, text: `majorities ring ${order.join('-')}`}
}

/**
 * A set of at least a majority of the nodes in which every node reaches every other (both ways)
 * under `allows`, or null when there is none (a majorities ring, say). The largest such set.
 */
export function fullyConnectedMajority(nodeIds: readonly NodeId[], allows: (from: NodeId, to: NodeId) => boolean): NodeId[] | null {
  const n = nodeIds.length
  const need = Math.floor(n / 2) + 1
  let best: NodeId[] | null = null
  // Grow cliques in id order (n <= 15: small enough to search them all).
  const grow = (set: NodeId[], from: number) => {
    if (set.length >= need && (best === null || set.length > best.length)) best = [...set]
    if (set.length + (n - from) <= (best?.length ?? need - 1)) return
    for (let i = from; i < n; i++) {
      const x = nodeIds[i]!
      if (set.every((y) => allows(x, y) && allows(y, x))) {
        set.push(x)
        grow(set, i + 1)
        set.pop()
      }
    }
  }
  grow([], 0)
  return best
}

/** How far along the ring each node hears in a majorities ring of n nodes (either way). */
export function ringReach(n: number): number {
  return Math.ceil(Math.floor(n / 2) / 2)
}
