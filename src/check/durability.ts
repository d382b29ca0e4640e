// The durability verdict of `raftctl check`: every acknowledged write survives. The clients write
// some write-once keys (a fresh key per write, holding the value written) throughout the run and
// nothing else in the durability phase, at the end of which every node is SIGKILLed at once (the
// replicas keep unsynced writes in memory during a check, so that is a power loss) and restarted.
// Then every write-once key is read back: one whose write was acknowledged must hold its value;
// one whose outcome is unknown may hold it or be absent; one whose write certainly failed must be
// absent. A lost acknowledged write fails the verdict — acknowledging before fsync does that.
import {ClusterClient} from '../client/cluster-client.js'
import type {ClusterConfig} from '../clusterdir/config.js'
import type {OpRecord} from './history.js'

export interface WriteOnce {
  key: string
  value: string
  /** The write's op id and outcome. */
  id: number
  status: OpRecord['status']
}

export type ReadBack = {key: string; value: string | null} | {key: string; error: string}

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
}

/** The write-once writes of a run (ops on keys with the write-once prefix), last outcome per key. */
export function writeOnceOps(ops: readonly OpRecord[], isWriteOnce: (key: string) => boolean): WriteOnce[] {
  const byKey = new Map<string, WriteOnce>()
  for (const r of ops) {
    if (r.op !== 'write' || !isWriteOnce(r.key) || typeof r.value !== 'string') continue
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
        out[i] = {key, value: (await client.get(key, {timeoutMs})).value}
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

/** Judges the read-back against what the clients were told (null: none, for the reason given). */
export function judgeDurability(writes: readonly WriteOnce[], readBack: readonly ReadBack[] | null, why = 'the run was interrupted'): DurabilityVerdict {
  const base = {acknowledged: 0, verified: 0, unknownPresent: 0, unknownAbsent: 0, unreadable: 0, lost: [], phantom: []}
  if (readBack === null) return {...base, result: 'n/a', text: `not checked (${why})`}
  const found = new Map(readBack.map((r) => [r.key, r]))
  const v: DurabilityVerdict = {...base, lost: [], phantom: [], result: 'pass', text: ''}
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
  if (v.lost.length > 0 || v.phantom.length > 0) {
    v.result = 'fail'
    const parts = []
    if (v.lost.length > 0) parts.push(`${v.lost.length} of ${v.acknowledged} acknowledged write(s) lost (e.g. #${v.lost[0]!.id} ${v.lost[0]!.key}=${v.lost[0]!.value}, read back ${v.lost[0]!.found ?? 'absent'})`)
    if (v.phantom.length > 0) parts.push(`${v.phantom.length} write(s) that failed are there (e.g. #${v.phantom[0]!.id} ${v.phantom[0]!.key})`)
    v.text = parts.join('; ')
  } else if (v.acknowledged === 0) {
    v.result = 'n/a'
    v.text = 'no write-once write was acknowledged: nothing to check'
  } else if (v.verified === 0) {
    v.result = 'n/a'
    v.text = `none of the ${v.acknowledged} acknowledged write(s) could be read back`
  } else {
    v.text = `${v.verified} acknowledged write(s) read back after killing every node at once${v.unreadable > 0 ? ` (${v.unreadable} key(s) could not be read)` : ''}; of the unknown ones ${v.unknownPresent} there, ${v.unknownAbsent} not`
  }
  return v
}
