// The faults a user injects by hand (`raftctl partition`, `raftctl net`, `raftctl heal`) as
// changes to what is stored: the network rules (partition.json: groups and one-way cuts, which
// `partition` sets, and link faults — delay, loss, duplication — which `net` sets; each keeps the
// other's part) and the disk faults (node-N/disk-faults.json). Every change is a read-modify-write
// under the directory lock, then pushed to the running nodes. `heal` undoes all of it.
import type {NodeId} from '../core/types.js'
import {checkLinkFault, type LinkFault, type PartitionRules} from '../transport/link-filter.js'
import {parseNodeId, readPartition, readSecret, writePartition, type ClusterConfig} from '../clusterdir/config.js'
import {usageError} from '../lib/errors.js'
import {allDiskFaults, updateDiskFaults, writeDiskFaults, type DiskFaults} from '../clusterdir/disk-faults.js'
import {withDirLock} from './lock.js'
import {completePartition} from './partition.js'
import {pushPartition, type PartitionResult} from './service.js'

/** The link-fault fields `raftctl net` sets; undefined leaves a field, 0 removes it. */
export type LinkChange = Partial<Pick<LinkFault, 'delayMs' | 'jitterMs' | 'loss' | 'duplicate'>>

/** Changes the stored rules with `fn` (under the lock) and pushes the result to the running nodes. */
export async function updateNetwork(dir: string, config: ClusterConfig, fn: (rules: PartitionRules | null) => PartitionRules | null): Promise<PartitionResult> {
  const ids = config.nodes.map((n) => n.id)
  // The secret first: a change that cannot be pushed is not stored either.
  readSecret(dir)
  const rules = await withDirLock(dir, () => {
    const next = completePartition(fn(completePartition(readPartition(dir), ids)), ids)
    writePartition(dir, next)
    return next
  })
  return pushPartition(dir, config, rules)
}

/** `raftctl partition ...`: new groups and one-way cuts (null: none), keeping the link faults. */
export function setCuts(dir: string, config: ClusterConfig, cuts: PartitionRules | null): Promise<PartitionResult> {
  return updateNetwork(dir, config, (rules) => ({
    groups: cuts?.groups ?? [],
    ...(cuts?.cuts?.length ? {cuts: cuts.cuts} : {}),
    ...(rules?.links?.length ? {links: rules.links} : {}),
  }))
}

/** `raftctl net delay|loss|duplicate`: changes the fields of the given links, keeping the cuts. */
export function changeLinks(dir: string, config: ClusterConfig, links: readonly {from: NodeId; to: NodeId}[], change: LinkChange): Promise<PartitionResult> {
  return updateNetwork(dir, config, (rules) => {
    const byLink = new Map((rules?.links ?? []).map((l) => [`${l.from}>${l.to}`, l]))
    for (const {from, to} of links) {
      const key = `${from}>${to}`
      const next: LinkFault = {...byLink.get(key), from, to}
      for (const [k, v] of Object.entries(change) as [keyof LinkChange, number | undefined][]) {
        if (v === undefined) continue
        if (v === 0) delete next[k]
        else next[k] = v
      }
      byLink.set(key, checkLinkFault(next))
    }
    const kept = [...byLink.values()].filter((l) => Object.keys(l).length > 2)
    return {groups: rules?.groups ?? [], ...(rules?.cuts?.length ? {cuts: rules.cuts} : {}), ...(kept.length > 0 ? {links: kept} : {})}
  })
}

/** `raftctl net clear`: no link fault and no disk fault is left (the partition stays). */
export async function clearNetFaults(dir: string, config: ClusterConfig): Promise<PartitionResult & {disks: NodeId[]}> {
  const r = await updateNetwork(dir, config, (rules) => (rules ? {groups: rules.groups, ...(rules.cuts?.length ? {cuts: rules.cuts} : {})} : null))
  return {...r, disks: clearDisks(dir, config)}
}

/** `raftctl heal`: no partition, no link fault, no disk fault. */
export async function healAll(dir: string, config: ClusterConfig): Promise<PartitionResult & {disks: NodeId[]}> {
  const r = await updateNetwork(dir, config, () => null)
  return {...r, disks: clearDisks(dir, config)}
}

/** `raftctl net slow-disk`: node `id`'s fsync delay (0: none). */
export function setFsyncDelay(dir: string, id: NodeId, fsyncDelayMs: number): DiskFaults {
  return updateDiskFaults(dir, id, {fsyncDelayMs: fsyncDelayMs > 0 ? fsyncDelayMs : null})
}

/** Removes every node's disk faults; returns the nodes that had any. */
function clearDisks(dir: string, config: ClusterConfig): NodeId[] {
  const had = allDiskFaults(dir, config)
    .map((f, i) => (Object.keys(f).length > 0 ? config.nodes[i]!.id : 0))
    .filter((id) => id !== 0)
  for (const id of had) writeDiskFaults(dir, id, {})
  return had
}

/** `1:2` or `1>2` (quoted): the direction from node 1 to node 2; a usage error naming `flag` otherwise. */
export function parseLink(text: string, config: ClusterConfig, flag: string): {from: NodeId; to: NodeId} {
  const m = /^(\d+)\s*[:>]\s*(\d+)$/.exec(text.trim())
  if (!m) throw usageError(`${flag}: malformed link ${JSON.stringify(text)}: use FROM:TO, e.g. 1:2`)
  const from = parseNodeId(m[1]!, config)
  const to = parseNodeId(m[2]!, config)
  if (from === to) throw usageError(`${flag}: ${text} names one node twice`)
  return {from, to}
}

/**
 * The nodes that as leader could not hear a quorum answer within `electionTimeoutMs` over the
 * links' delays: a leader checks every election timeout that a quorum answered it (CheckQuorum),
 * so such a node, once elected, may step down before it hears back. For each, the round trip to
 * the nearest peers that make a quorum with it (the largest delay plus jitter each way).
 */
export function slowQuorumRoundTrips(rules: PartitionRules | null, ids: readonly NodeId[], electionTimeoutMs: number): {node: NodeId; roundTripMs: number}[] {
  const worst = new Map((rules?.links ?? []).map((l) => [`${l.from}>${l.to}`, (l.delayMs ?? 0) + (l.jitterMs ?? 0)]))
  const oneWay = (a: NodeId, b: NodeId) => worst.get(`${a}>${b}`) ?? 0
  const peersNeeded = Math.floor(ids.length / 2)
  if (peersNeeded === 0) return []
  const out: {node: NodeId; roundTripMs: number}[] = []
  for (const a of ids) {
    const trips = ids
      .filter((b) => b !== a)
      .map((b) => oneWay(a, b) + oneWay(b, a))
      .sort((x, y) => x - y)
    const roundTripMs = trips[peersNeeded - 1]!
    if (roundTripMs >= electionTimeoutMs) out.push({node: a, roundTripMs})
  }
  return out
}
