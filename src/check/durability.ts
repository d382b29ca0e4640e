// The durability verdict of `raftctl check`: every acknowledged write survives, on every replica.
// The clients write some write-once keys (a fresh key per write, holding the value written)
// throughout the run and nothing else in the durability phase, at the end of which every node is
// SIGKILLed at once (the replicas keep unsynced writes in memory during a check, so that is a
// power loss) and restarted. Then every write-once key is read back: one whose write was
// acknowledged must hold its value; one whose outcome is unknown may hold it or be absent; one
// whose write certainly failed must be absent. A lost acknowledged write fails the verdict —
// acknowledging before fsync does that.
//
// Then every node is asked for every key from its own applied state (a stale read), once it has
// applied as far as the linearizable read-back read: each must hold every acknowledged write, no
// write that failed, and no write the cluster does not hold (checked again with a linearizable
// read after the node's, since an unknown write may still have been committing). A replica whose
// state machine applied other entries than the cluster committed — a follower that kept its own
// conflicting entries — fails it, whichever node leads at the end.
import {ClusterClient} from '../client/cluster-client.js'
import type {ClusterConfig} from '../clusterdir/config.js'
import type {NodeId} from '../core/types.js'
import type {OpRecord} from './history.js'

export interface WriteOnce {
  key: string
  value: string
  /** The write's op id and outcome. */
  id: number
  status: OpRecord['status']
}

export type ReadBack = {key: string; value: string | null; index?: number} | {key: string; error: string}

/** One node's own view of the write-once keys (stale reads at or past the read-back's index). */
export interface NodeReadBack {
  node: NodeId
  /** null: the node did not answer, or did not catch up in time (`why`). */
  values: Map<string, string | null> | null
  why?: string
}

/** A difference between a replica and the cluster. */
export interface Divergence {
  node: NodeId
  key: string
  value: string
  id: number
  /** missing: an acknowledged write the node does not hold; extra: a write it holds that the cluster does not (or that failed). */
  what: 'missing' | 'extra'
}

export interface DurabilityVerdict {
  result: 'pass' | 'fail' | 'n/a'
  text: string
  /** Write-once keys whose write was acknowledged, and how many of them were read back. */
  acknowledged: number
  verified: number
  /** Indeterminate writes found applied / found absent. */
  unknownPresent: number
  unknownAbsent: number
  /** Keys that could not be read back (no leader answered). */
  unreadable: number
  /** Acknowledged writes that are gone (or hold another value); failed writes that appeared. */
  lost: {key: string; value: string; id: number; found: string | null}[]
  phantom: {key: string; value: string; id: number}[]
  /** How many nodes were read on their own (and how many could not be: down or behind). */
  nodesChecked: number
  nodesUnchecked: number
  /** Replicas that disagree with the cluster (at most 100 listed; `divergentCount` counts all). */
  divergent: Divergence[]
  divergentCount: number
}

/** The write-once writes of a run (ops on keys with the write-once prefix), last outcome per key. */
export function writeOnceOps(ops: readonly OpRecord[], isWriteOnce: (key: string) => boolean): WriteOnce[] {
  const byKey = new Map<string, WriteOnce>()
  for (const r of ops) {
    if (r.op !== 'put' || !isWriteOnce(r.key) || typeof r.value !== 'string') continue
    byKey.set(r.key, {key: r.key, value: r.value, id: r.id, status: r.status})
  }
  return [...byKey.values()]
}

/** After this many reads in a row got no answer, the rest are not tried (no leader: minutes otherwise). */
const GIVE_UP_AFTER = 32

/** Reads every key back (linearizable reads, `concurrency` at a time); never throws. */
export async function readBackKeys(config: ClusterConfig, secret: string, keys: readonly string[], timeoutMs: number, concurrency = 16): Promise<ReadBack[]> {
  const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret})
  const out: ReadBack[] = new Array(keys.length)
  let next = 0
  let failing = 0
  const worker = async () => {
    while (next < keys.length) {
      const i = next++
      const key = keys[i]!
      if (failing >= GIVE_UP_AFTER) {
        out[i] = {key, error: 'not tried: no node answered the reads before'}
        continue
      }
      try {
        const r = await client.get(key, {timeoutMs})
        out[i] = {key, value: r.value, index: r.index}
        failing = 0
      } catch (err) {
        out[i] = {key, error: (err as Error).message}
        failing++
      }
    }
  }
  try {
    await Promise.all(Array.from({length: Math.min(concurrency, keys.length)}, worker))
  } finally {
    await client.close()
  }
  return out
}

/** How long a node may take to apply as far as the read-back read (then it is left unchecked). */
const CATCH_UP_MS = 5000

/**
 * Reads every key from each node's own applied state (stale reads pinned to the node), once the
 * node has applied `minIndex` (the highest index the linearizable read-back read at): so every
 * write acknowledged before the read-back is applied there. Never throws.
 */
export async function readBackEveryNode(
  config: ClusterConfig,
  secret: string,
  keys: readonly string[],
  minIndex: number,
  timeoutMs: number,
  concurrency = 8,
): Promise<NodeReadBack[]> {
  return Promise.all(
    config.nodes.map(async (n): Promise<NodeReadBack> => {
      if (keys.length === 0) return {node: n.id, values: new Map()}
      const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret, only: n.id})
      try {
        // Catching up: the first key's read tells how far the node has applied.
        const deadline = Date.now() + CATCH_UP_MS
        for (;;) {
          const first = await client.get(keys[0]!, {stale: true, timeoutMs})
          if (first.index >= minIndex) break
          if (Date.now() > deadline) return {node: n.id, values: null, why: `applied only ${first.index} of ${minIndex}`}
          await new Promise((r) => setTimeout(r, 50))
        }
        const values = new Map<string, string | null>()
        let next = 0
        const worker = async () => {
          while (next < keys.length) {
            const key = keys[next++]!
            values.set(key, (await client.get(key, {stale: true, timeoutMs})).value)
          }
        }
        await Promise.all(Array.from({length: Math.min(concurrency, keys.length)}, worker))
        return {node: n.id, values}
      } catch (err) {
        return {node: n.id, values: null, why: (err as Error).message}
      } finally {
        await client.close()
      }
    }),
  )
}

/** The highest index a linearizable read-back read at (0 if none answered). */
export function readBackIndex(readBack: readonly ReadBack[]): number {
  let max = 0
  for (const r of readBack) if ('index' in r && r.index !== undefined && r.index > max) max = r.index
  return max
}

/**
 * The keys some node holds (with its write's value) that the read-back found absent: read once
 * more through the leader (`recheck`) before calling them extra, since an unknown write may have
 * committed after the read-back read it.
 */
export function extraCandidates(writes: readonly WriteOnce[], readBack: readonly ReadBack[], nodes: readonly NodeReadBack[]): string[] {
  const back = new Map(readBack.map((r) => [r.key, r]))
  const out = new Set<string>()
  for (const w of writes) {
    const r = back.get(w.key)
    if (r && !('error' in r) && r.value === w.value) continue
    if (nodes.some((n) => n.values?.get(w.key) === w.value)) out.add(w.key)
  }
  return [...out]
}

/** Judges the read-back against what the clients were told (null: none, for the reason given). */
export function judgeDurability(
  writes: readonly WriteOnce[],
  readBack: readonly ReadBack[] | null,
  why = 'the run was interrupted',
  nodes: readonly NodeReadBack[] = [],
  recheck: readonly ReadBack[] = [],
): DurabilityVerdict {
  const base = {
    acknowledged: 0,
    verified: 0,
    unknownPresent: 0,
    unknownAbsent: 0,
    unreadable: 0,
    lost: [],
    phantom: [],
    nodesChecked: 0,
    nodesUnchecked: 0,
    divergent: [],
    divergentCount: 0,
  }
  if (readBack === null) return {...base, result: 'n/a', text: `not checked (${why})`}
  const v: DurabilityVerdict = {...base, lost: [], phantom: [], divergent: [], result: 'pass', text: ''}
  const checked = nodes.filter((n) => n.values !== null)
  v.nodesChecked = checked.length
  v.nodesUnchecked = nodes.length - checked.length
  findDivergences(v, writes, checked, [...readBack, ...recheck])
  tallyReadBack(v, writes, readBack)
  return {...v, ...outcome(v, nodes)}
}

/** Records in `v` where a node that answered disagrees with the cluster (`reads`: the read-back, then the recheck). */
function findDivergences(v: DurabilityVerdict, writes: readonly WriteOnce[], checked: readonly NodeReadBack[], reads: readonly ReadBack[]): void {
  // What the cluster holds, last word first: a key read again (recheck) is judged by that read.
  const cluster = new Map<string, string | null>()
  for (const r of reads) if (!('error' in r)) cluster.set(r.key, r.value)
  const diverge = (d: Divergence) => {
    v.divergentCount++
    if (v.divergent.length < 100) v.divergent.push(d)
  }
  for (const w of writes) {
    for (const n of checked) {
      const has = n.values!.get(w.key) === w.value
      if (w.status === 'ok' && !has && n.values!.has(w.key)) diverge({node: n.node, key: w.key, value: w.value, id: w.id, what: 'missing'})
      else if (has && (w.status === 'failed' || (cluster.has(w.key) && cluster.get(w.key) !== w.value)))
        diverge({node: n.node, key: w.key, value: w.value, id: w.id, what: 'extra'})
    }
  }
}

/** Counts in `v` what the read-back found of each write: verified, lost, unknown there or not, phantom, unreadable. */
function tallyReadBack(v: DurabilityVerdict, writes: readonly WriteOnce[], readBack: readonly ReadBack[]): void {
  const found = new Map(readBack.map((r) => [r.key, r]))
  for (const w of writes) {
    const r = found.get(w.key)
    if (w.status === 'ok') v.acknowledged++
    if (!r || 'error' in r) {
      v.unreadable++
      continue
    }
    if (w.status === 'ok') {
      if (r.value === w.value) v.verified++
      else v.lost.push({key: w.key, value: w.value, id: w.id, found: r.value})
    } else if (w.status === 'indeterminate') {
      if (r.value === w.value) v.unknownPresent++
      else v.unknownAbsent++
    } else if (r.value !== null) {
      v.phantom.push({key: w.key, value: w.value, id: w.id})
    }
  }
}

/** The result and its text, from the counts. */
function outcome(v: DurabilityVerdict, nodes: readonly NodeReadBack[]): Pick<DurabilityVerdict, 'result' | 'text'> {
  if (v.lost.length > 0 || v.phantom.length > 0 || v.divergentCount > 0) return {result: 'fail', text: failureText(v)}
  if (v.acknowledged === 0) return {result: 'n/a', text: 'no write-once write was acknowledged: nothing to check'}
  if (v.verified === 0) return {result: 'n/a', text: `none of the ${v.acknowledged} acknowledged write(s) could be read back`}
  return {result: 'pass', text: passText(v, nodes)}
}

/** What failed: lost writes, phantom writes, replicas that disagree. */
function failureText(v: DurabilityVerdict): string {
  const parts = []
  if (v.lost.length > 0)
    parts.push(
      `${v.lost.length} of ${v.acknowledged} acknowledged write(s) lost (e.g. #${v.lost[0]!.id} ${v.lost[0]!.key}=${v.lost[0]!.value}, read back ${v.lost[0]!.found ?? 'absent'})`,
    )
  if (v.phantom.length > 0) parts.push(`${v.phantom.length} write(s) that failed are there (e.g. #${v.phantom[0]!.id} ${v.phantom[0]!.key})`)
  if (v.divergentCount > 0) parts.push(divergenceText(v.divergent, v.divergentCount))
  return parts.join('; ')
}

/** What passed: the writes read back, on how many nodes (and why not on the others). */
function passText(v: DurabilityVerdict, nodes: readonly NodeReadBack[]): string {
  const onNodes =
    nodes.length === 0
      ? ''
      : `, on ${v.nodesChecked} of ${nodes.length} node(s)${
          v.nodesUnchecked > 0
            ? ` (${nodes
                .filter((n) => n.values === null)
                .map((n) => `node ${n.node}: ${n.why}`)
                .join('; ')})`
            : ''
        }`
  return `${v.verified} acknowledged write(s) read back after killing every node at once${onNodes}${v.unreadable > 0 ? ` (${v.unreadable} key(s) could not be read)` : ''}; of the unknown ones ${v.unknownPresent} there, ${v.unknownAbsent} not`
}

/** `node 3 lacks 4 acknowledged write(s) (e.g. #812 k=v); node 3 holds 2 write(s) the cluster does not (e.g. ...)`. */
function divergenceText(list: readonly Divergence[], count: number): string {
  const parts: string[] = []
  for (const what of ['missing', 'extra'] as const) {
    const byNode = new Map<NodeId, Divergence[]>()
    for (const d of list) if (d.what === what) byNode.set(d.node, [...(byNode.get(d.node) ?? []), d])
    for (const [node, ds] of [...byNode].sort(([a], [b]) => a - b)) {
      const e = ds[0]!
      parts.push(
        `node ${node} ${what === 'missing' ? `lacks ${ds.length} acknowledged write(s)` : `holds ${ds.length} write(s) the cluster does not`} (e.g. #${e.id} ${e.key}=${e.value})`,
      )
    }
  }
  const listed = list.length < count ? ` (${count} in all)` : ''
  return `replicas disagree: ${parts.join(', ')}${listed}`
}
