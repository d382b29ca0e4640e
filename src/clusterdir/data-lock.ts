// The lock on a node's data directory: at most one replica process opens node N's storage. It is
// proper-lockfile's mkdir lock, node-N/data.lock, taken before the storage is opened, with the
// owner's pid in data.lock/pid. Staleness by mtime is off (a paused replica cannot refresh the
// lock, and still owns it): a lock is left over only when its owner is dead (SIGKILL), and then
// it is taken over. The take-over moves the old lock aside first and checks that what it moved is
// the dead owner's, so two replicas racing for one left-over lock cannot both end up holding it.
import {mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import lockfile from 'proper-lockfile'
import type {NodeId} from '../core/types.js'
import {nodeDir, paths} from './config.js'
import {isAlive} from './pids.js'

/** Never stale by age (proper-lockfile wants a number; refreshed every half of it). */
const NEVER_STALE_MS = 2 ** 30
/** A lock without an owner pid this old was left by a replica that died while taking it. */
const OWNERLESS_STALE_MS = 10_000

export type DataLock = {ok: true; release(): void} | {ok: false; owner: number}

const lockPath = (dir: string, id: NodeId) => `${paths.data(dir, id)}.lock`
const ownerPath = (lock: string) => `${lock}/pid`

/** The pid written in the lock, or null (no lock, or no owner written yet). */
function ownerOf(lock: string): number | null {
  try {
    const pid = Number(readFileSync(ownerPath(lock), 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** The live replica that holds node `id`'s data lock, if any. */
export function liveLockOwner(dir: string, id: NodeId): number | null {
  const owner = ownerOf(lockPath(dir, id))
  return owner !== null && isAlive(owner) ? owner : null
}

/** Whether the lock at `lock` is left over: its owner is dead, or it never got one and is old. */
function leftOver(lock: string, self: number): {leftOver: boolean; owner: number | null} {
  const owner = ownerOf(lock)
  if (owner !== null) return {leftOver: owner === self || !isAlive(owner), owner}
  try {
    return {leftOver: Date.now() - statSync(lock).mtimeMs > OWNERLESS_STALE_MS, owner: null}
  } catch {
    return {leftOver: false, owner: null}
  }
}

/** Moves a left-over lock out of the way; puts it back if it turned out to be someone else's. */
function takeOver(lock: string, deadOwner: number | null, self: number): void {
  const aside = `${lock}.stale-${self}`
  try {
    renameSync(lock, aside)
  } catch {
    return // Gone already (another replica took it over first): just try to lock.
  }
  if (ownerOf(aside) !== deadOwner) {
    // In between, another replica took the lock over and holds it now: give it back.
    try {
      renameSync(aside, lock)
    } catch {
      // Someone locked meanwhile: the retry below finds the lock held.
    }
    return
  }
  rmSync(aside, {recursive: true, force: true})
}

/**
 * Takes node `id`'s data lock for this process (`self`), or says which live process holds it.
 * Throws on anything but a held lock (e.g. the node folder is not writable).
 */
export function lockDataDir(dir: string, id: NodeId, self = process.pid): DataLock {
  mkdirSync(nodeDir(dir, id), {recursive: true})
  const lock = lockPath(dir, id)
  for (let attempt = 0; ; attempt++) {
    let release: () => void
    try {
      release = lockfile.lockSync(paths.data(dir, id), {lockfilePath: lock, realpath: false, stale: NEVER_STALE_MS, onCompromised: () => {}})
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err
      const state = leftOver(lock, self)
      if (!state.leftOver || attempt >= 2) return {ok: false, owner: state.owner ?? 0}
      takeOver(lock, state.owner, self)
      continue
    }
    writeFileSync(ownerPath(lock), `${self}\n`)
    return {
      ok: true,
      release: () => {
        // proper-lockfile removes an empty lock directory only.
        rmSync(ownerPath(lock), {force: true})
        try {
          release()
        } catch {
          // Already released.
        }
      },
    }
  }
}
