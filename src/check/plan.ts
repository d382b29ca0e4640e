// The nemesis's plan for `raftctl check`: which fault comes next and how long it is held, drawn
// from a seeded PRNG so a seed replays the same schedule of fault kinds, targets, shapes and
// durations (which node is the leader at the time is up to the cluster). Pure: no I/O, no clocks.
//
// The plan is shaped for detection power: a deposed leader serves stale data only in the short
// window before CheckQuorum steps it down, so leader isolations are the most frequent fault and
// are held just long enough for that window (and a new election) to play out; partial partitions
// are held long enough for the liveness verdict to see whether a leader stays.
import type {NodeId} from '../core/types.js'
import type {Prng} from '../lib/prng.js'
import type {LinkFault, PartitionRules} from '../transport/link-filter.js'
import {CHECK_PARTIAL_KINDS, CHECK_PARTITION_KINDS, planPartition as planSharedPartition, ringReach, type PartitionKind} from '../sim/partitions.js'

export type FaultKind = 'partition' | 'kill' | 'pause' | 'bridge' | 'tethered' | 'one-way' | 'delay' | 'loss' | 'duplicate' | 'slow-disk' | 'member'

/** Every fault kind, in `--faults` order (and the order a seed draws them from). */
export const FAULT_KINDS: readonly FaultKind[] = [
  'partition',
  'kill',
  'pause',
  'bridge',
  'tethered',
  'one-way',
  'delay',
  'loss',
  'duplicate',
  'slow-disk',
  'member',
]

/** What `--faults` means when it is not given. */
export const DEFAULT_FAULTS: readonly FaultKind[] = ['partition', 'kill', 'pause', 'delay']

/**
 * Kinds held in the background, across the other faults: a slow network under which leaders
 * change. A new leader's commit index then lags what its predecessor acknowledged, and the
 * answers to its first heartbeats and appends arrive in any order — the window in which a leader
 * that served ReadIndex before its own term's first commit would answer stale reads.
 */
export const BACKGROUND_KINDS: readonly FaultKind[] = ['delay']

/** At a step with no background fault in force, the chance that one starts. */
export const BACKGROUND_CHANCE = 0.9

/** One line per kind, for `--faults list` and the docs. */
export const FAULT_TEXT: Record<FaultKind, string> = {
  partition: 'isolate the leader (most often) or a node, split into random halves, or a majorities ring',
  kill: 'SIGKILL a node (the leader 60% of the time); restarted when undone',
  pause: 'SIGSTOP a node (the leader 60% of the time); SIGCONT when undone',
  bridge: 'two halves that hear each other only through one node',
  tethered: 'a majority fully connected, every other node linked to one member only (the 2020 Cloudflare etcd outage)',
  'one-way': "one node's links cut in one direction each, or a deaf node (hears nobody, heard by all)",
  delay: 'a slow network in the background, across the other faults: 10-40 ms of delay with jitter (messages reorder) on every link',
  loss: "a share of the messages lost on the leader's links or on all links",
  duplicate: 'a share of the messages delivered twice, on all links',
  'slow-disk': 'fsync on one node (the leader 60% of the time) slowed by 20-100 ms, or stalled until undone',
  member:
    'a configuration change under load: a voter (the leader 60% of the time) demoted to a learner, promoted back when undone (3 nodes or more; a pause below that)',
}

/** How often a kind is drawn, relative to the others that are enabled. */
const WEIGHT: Record<FaultKind, number> = {
  partition: 6,
  kill: 2,
  pause: 2,
  bridge: 1,
  tethered: 1,
  'one-way': 1,
  delay: 1,
  loss: 1,
  duplicate: 1,
  'slow-disk': 1,
  member: 1,
}

/**
 * The whole-group partitions the `partition` kind draws from: isolating the leader most of all
 * (planPartition counts it twice per mention, so it is 6 in 9 with a known leader).
 */
const PARTITION_MIX: readonly PartitionKind[] = ['isolate-leader', 'isolate-leader', ...CHECK_PARTITION_KINDS]

export type {PartitionKind}

export type Fault =
  | {type: 'partition'; fault: FaultKind; kind: PartitionKind; rules: PartitionRules; nodes: NodeId[]; text: string}
  | {type: 'kill' | 'pause'; fault: FaultKind; node: NodeId; leader: boolean; text: string}
  | {type: 'net'; fault: 'delay' | 'loss' | 'duplicate'; links: LinkFault[]; nodes: NodeId[]; text: string}
  | {type: 'slow-disk'; fault: 'slow-disk'; node: NodeId; leader: boolean; fsyncDelayMs: number; text: string}
  | {type: 'member'; fault: 'member'; node: NodeId; leader: boolean; text: string}

/** A fault and how long it is held before the nemesis undoes it. */
export interface PlannedFault {
  fault: Fault
  holdMs: number
}

/** Chance that a kill, pause or slow disk targets the leader (when one is known) rather than any node. */
const LEADER_BIAS = 0.6

/** A stalled disk: fsync is held this long at most, or until the fault is undone. */
export const STALL_MS = 30_000

/**
 * How long after a partial partition (or a stalled leader disk) the cluster may take to settle on
 * a leader: a leader cut off from its majority steps down within two election timeouts, then the
 * majority needs its own election timeout or two. Eight election timeouts, at least 2 s.
 */
export function settleMs(electionTimeoutMs: number): number {
  return Math.max(2000, 8 * electionTimeoutMs)
}

/** The rest between undoing one fault and starting the next. */
export function restMs(prng: Prng): number {
  return prng.int(200, 800)
}

/**
 * Which kind comes next: the enabled kinds (the background ones aside), each as often as its
 * weight, drawn without replacement from a shuffled deck that is refilled when empty. So a run
 * holds the proportions it was shaped for (six leader-heavy partitions in every ten default
 * faults), and one with every kind enabled meets each kind within its first deck.
 */
export class FaultDeck {
  private deck: FaultKind[] = []
  private readonly kinds: FaultKind[]

  constructor(kinds: readonly FaultKind[]) {
    this.kinds = FAULT_KINDS.filter((k) => kinds.includes(k) && !BACKGROUND_KINDS.includes(k))
  }

  /** Whether any kind can be drawn (false when only background kinds are enabled). */
  get empty(): boolean {
    return this.kinds.length === 0
  }

  draw(prng: Prng): FaultKind {
    if (this.deck.length === 0) this.deck = prng.shuffle(this.kinds.flatMap((k) => Array.from({length: WEIGHT[k]}, () => k)))
    return this.deck.pop()!
  }
}

/**
 * Plans a fault of `kind` and how long to hold it. Leader-targeted faults are favoured: they are
 * the ones that make a deposed leader serve stale data, lose acknowledged writes, or split the
 * brain.
 */
export function planFault(prng: Prng, kind: FaultKind, nodeIds: readonly NodeId[], leader: NodeId | null, electionTimeoutMs = 300): PlannedFault {
  const settle = settleMs(electionTimeoutMs)
  switch (kind) {
    case 'partition':
      return {fault: planPartition(prng, nodeIds, leader), holdMs: prng.int(900, 1600)}
    case 'kill':
    case 'pause':
      return {fault: planNodeFault(prng, kind, nodeIds, leader), holdMs: prng.int(800, 2000)}
    case 'bridge':
    case 'tethered':
    case 'one-way': {
      const p = planSharedPartition(prng, nodeIds, leader, CHECK_PARTIAL_KINDS[kind])
      return {fault: {type: 'partition', fault: kind, ...p}, holdMs: settle + prng.int(1000, 2500)}
    }
    case 'delay':
      return planBackground(prng, nodeIds)
    case 'loss':
    case 'duplicate':
      return {fault: planNetFault(prng, kind, nodeIds, leader), holdMs: prng.int(1500, 3000)}
    case 'slow-disk': {
      // A stall is held long enough for the liveness verdict to see writes go on without that node.
      const fault = planSlowDisk(prng, nodeIds, leader)
      return {fault, holdMs: (fault.fsyncDelayMs >= STALL_MS ? settle + 1000 : 1500) + prng.int(0, 1500)}
    }
    case 'member': {
      // Demoting the leader makes it step down once the change applies: a leader change that
      // comes with a configuration change, both under the clients' load. Below three nodes a
      // demotion leaves no majority worth the name (one node: none at all), so a pause instead.
      if (nodeIds.length < 3) return planFault(prng, 'pause', nodeIds, leader, electionTimeoutMs)
      const t = pickTarget(prng, nodeIds, leader)
      return {
        fault: {type: 'member', fault: 'member', ...t, text: `demote node ${t.node}${t.leader ? ' (leader)' : ''} to a learner`},
        holdMs: prng.int(1000, 2500),
      }
    }
  }
}

export function planPartition(prng: Prng, nodeIds: readonly NodeId[], leader: NodeId | null): Fault & {type: 'partition'} {
  return {type: 'partition', fault: 'partition', ...planSharedPartition(prng, nodeIds, leader, PARTITION_MIX)}
}

function pickTarget(prng: Prng, nodeIds: readonly NodeId[], leader: NodeId | null): {node: NodeId; leader: boolean} {
  const onLeader = leader !== null && prng.chance(LEADER_BIAS)
  const node = onLeader ? leader : prng.pick(nodeIds)
  return {node, leader: node === leader}
}

function planNodeFault(prng: Prng, type: 'kill' | 'pause', nodeIds: readonly NodeId[], leader: NodeId | null): Fault {
  const t = pickTarget(prng, nodeIds, leader)
  return {type, fault: type, ...t, text: `${type} node ${t.node}${t.leader ? ' (leader)' : ''}`}
}

/** Both directions of every link of `node`, or every link of the cluster. */
function linksOf(nodeIds: readonly NodeId[], node: NodeId | null): {from: NodeId; to: NodeId}[] {
  const out: {from: NodeId; to: NodeId}[] = []
  for (const a of nodeIds) for (const b of nodeIds) if (a !== b && (node === null || a === node || b === node)) out.push({from: a, to: b})
  return out
}

/**
 * The background delay: 10-40 ms with jitter of half that on every link, for 4-10 s. Well below
 * the election timeout, so it changes no leader by itself: leaders change under it.
 */
export function planBackground(prng: Prng, nodeIds: readonly NodeId[]): PlannedFault {
  const delayMs = prng.int(10, 40)
  const jitterMs = Math.round(delayMs / 2)
  const links = linksOf(nodeIds, null).map((l) => ({...l, delayMs, jitterMs}))
  return {
    fault: {type: 'net', fault: 'delay', links, nodes: [], text: `slow network: delay ${delayMs}ms±${jitterMs}ms on every link`},
    holdMs: prng.int(4000, 10_000),
  }
}

function planNetFault(prng: Prng, kind: 'loss' | 'duplicate', nodeIds: readonly NodeId[], leader: NodeId | null): Fault {
  // Duplication hurts no one node more than another: always on every link.
  const node = kind !== 'duplicate' && leader !== null && prng.chance(0.5) ? leader : null
  const where = node === null ? 'all links' : `the links of leader ${node}`
  let shape: Omit<LinkFault, 'from' | 'to'>
  let text: string
  switch (kind) {
    case 'loss': {
      const loss = prng.int(5, 30) / 100
      shape = {loss}
      text = `lose ${Math.round(loss * 100)}% of the messages on ${where}`
      break
    }
    case 'duplicate': {
      const duplicate = prng.int(10, 50) / 100
      shape = {duplicate}
      text = `duplicate ${Math.round(duplicate * 100)}% of the messages on ${where}`
      break
    }
  }
  return {type: 'net', fault: kind, links: linksOf(nodeIds, node).map((l) => ({...l, ...shape})), nodes: node === null ? [] : [node], text}
}

function planSlowDisk(prng: Prng, nodeIds: readonly NodeId[], leader: NodeId | null): Fault & {type: 'slow-disk'} {
  const t = pickTarget(prng, nodeIds, leader)
  const stall = prng.chance(0.5)
  const fsyncDelayMs = stall ? STALL_MS : prng.int(20, 100)
  const who = `node ${t.node}${t.leader ? ' (leader)' : ''}`
  return {
    type: 'slow-disk',
    fault: 'slow-disk',
    ...t,
    fsyncDelayMs,
    text: stall ? `stall the disk of ${who}` : `slow the disk of ${who}: fsync +${fsyncDelayMs}ms`,
  }
}

export {ringReach}
