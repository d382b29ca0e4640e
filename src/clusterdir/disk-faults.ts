// Disk faults per node, as control files in the cluster directory (`node-N/disk-faults.json`)
// that the replica's storage port watches (storage/faulty-fs.ts): a slow or stalled fsync, and a
// volatile write cache (what was not fsynced is lost when the process dies). Written atomically,
// so a replica never reads half a file; removed when there is no fault left.
import {readFileSync, rmSync, statSync} from 'node:fs'
import type {NodeId} from '../core/types.js'
import {checkDiskFaults, type DiskFaults} from '../storage/faulty-fs.js'
import {paths, writeFileAtomic, type ClusterConfig} from './config.js'

export type {DiskFaults}

/**
 * The replica's view of its control file: re-read when it changed (size, mtime or inode), else
 * what was read last; a missing or malformed file means no faults. One stat per call.
 */
export function diskFaultsReader(dir: string, id: NodeId): () => DiskFaults {
  const path = paths.diskFaults(dir, id)
  let seen = ''
  let faults: DiskFaults = {}
  return () => {
    const st = statSync(path, {throwIfNoEntry: false, bigint: true})
    const stamp = st ? `${st.ino}:${st.size}:${st.mtimeNs}` : ''
    if (stamp === seen) return faults
    seen = stamp
    try {
      faults = st ? checkDiskFaults(JSON.parse(readFileSync(path, 'utf8'))) : {}
    } catch {
      faults = {}
    }
    return faults
  }
}

export function readDiskFaults(dir: string, id: NodeId): DiskFaults {
  try {
    return checkDiskFaults(JSON.parse(readFileSync(paths.diskFaults(dir, id), 'utf8')))
  } catch {
    return {}
  }
}

/** Replaces node `id`'s disk faults (an empty object removes the file). */
export function writeDiskFaults(dir: string, id: NodeId, faults: DiskFaults): void {
  const clean = checkDiskFaults(faults)
  if (Object.keys(clean).length === 0) rmSync(paths.diskFaults(dir, id), {force: true})
  else writeFileAtomic(paths.diskFaults(dir, id), JSON.stringify(clean) + '\n')
}

/** Changes some of node `id`'s disk faults, keeping the others (null removes one). */
export function updateDiskFaults(dir: string, id: NodeId, change: {fsyncDelayMs?: number | null; volatile?: boolean | null}): DiskFaults {
  const next: DiskFaults = {...readDiskFaults(dir, id)}
  if (change.fsyncDelayMs !== undefined) next.fsyncDelayMs = change.fsyncDelayMs ?? undefined
  if (change.volatile !== undefined) next.volatile = change.volatile ?? undefined
  writeDiskFaults(dir, id, next)
  return readDiskFaults(dir, id)
}

/** Every node's disk faults, in node order ({} for none). */
export function allDiskFaults(dir: string, config: ClusterConfig): DiskFaults[] {
  return config.nodes.map((n) => readDiskFaults(dir, n.id))
}

/** `fsync +2000ms, volatile write cache` (empty for no fault). */
export function describeDiskFaults(f: DiskFaults): string {
  const parts: string[] = []
  if (f.fsyncDelayMs !== undefined) parts.push(f.fsyncDelayMs >= 10_000 ? 'fsync stalled' : `fsync +${f.fsyncDelayMs}ms`)
  if (f.volatile) parts.push('volatile write cache')
  return parts.join(', ')
}
