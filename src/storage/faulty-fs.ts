// A file-system port with injectable disk faults, wrapped around another one (the replica wraps
// RealFs): a slow or stalled disk (every fsync takes longer, up to "until the fault is lifted"),
// and a volatile write cache (appended data sits in this process's memory until fsync, so a
// process that dies — SIGKILL — loses whatever was not fsynced, as a power loss would; without it
// the kernel's page cache keeps such writes and a killed process loses nothing it wrote).
//
// The faults come from a function the replica passes in (it reads `node-N/disk-faults.json`,
// written by `raftctl net slow-disk` and `raftctl check`; clusterdir/disk-faults.ts), asked on every
// fsync and every 25 ms while an fsync is held, so lifting a stall releases it at once. This
// module touches no file itself: RealFs stays the only one in src/storage that does.
// Invariant: fsync(fd) returns only once every byte appended to fd has reached the inner port and
// been fsynced there; nothing is ever lost that was fsynced.
import type {Fd, FileSystem} from './fs.js'

export interface DiskFaults {
  /** Every fsync takes this much longer (ms): a slow disk; seconds: a stalled one. */
  fsyncDelayMs?: number
  /** Appended data is held in memory until fsync: a process that dies loses what was not synced. */
  volatile?: boolean
}

/** The longest fsync delay a fault may ask for (a stall that is never lifted still ends). */
export const MAX_FSYNC_DELAY_MS = 600_000
/** How often a held fsync looks at the control file again. */
const STALL_POLL_MS = 25

/** Checks a parsed control file; throws a one-line reason. Empty object: no fault. */
export function checkDiskFaults(x: unknown): DiskFaults {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new TypeError('disk faults must be an object')
  const r = x as Record<string, unknown>
  const out: DiskFaults = {}
  if (r.fsyncDelayMs !== undefined) {
    const v = r.fsyncDelayMs
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_FSYNC_DELAY_MS) throw new RangeError(`fsyncDelayMs must be 0..${MAX_FSYNC_DELAY_MS}`)
    if (v > 0) out.fsyncDelayMs = v
  }
  if (r.volatile !== undefined) {
    if (typeof r.volatile !== 'boolean') throw new TypeError('volatile must be a boolean')
    if (r.volatile) out.volatile = true
  }
  return out
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** Blocks the thread for `ms` (the replica's fsync is synchronous: a slow disk blocks it too). */
function blockFor(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms)
}

export class FaultyFs implements FileSystem {
  /** Volatile mode: data appended to each fd and not yet handed to the inner port. */
  private readonly unsynced = new Map<Fd, Uint8Array[]>()
  private readonly pathOf = new Map<Fd, string>()
  private faults: DiskFaults

  constructor(
    private readonly inner: FileSystem,
    private readonly readFaults: () => DiskFaults,
  ) {
    this.faults = readFaults()
  }

  mkdirp(dir: string): void {
    this.inner.mkdirp(dir)
  }

  readdir(dir: string): string[] {
    return this.inner.readdir(dir)
  }

  exists(path: string): boolean {
    return this.inner.exists(path)
  }

  readFile(path: string): Uint8Array {
    for (const [fd, p] of this.pathOf) if (p === path) this.handOver(fd)
    return this.inner.readFile(path)
  }

  openAppend(path: string): Fd {
    const fd = this.inner.openAppend(path)
    this.pathOf.set(fd, path)
    return fd
  }

  create(path: string): Fd {
    const fd = this.inner.create(path)
    this.pathOf.set(fd, path)
    return fd
  }

  append(fd: Fd, data: Uint8Array): void {
    if (!this.faults.volatile && !this.unsynced.has(fd)) return this.inner.append(fd, data)
    const list = this.unsynced.get(fd) ?? []
    // A copy: the caller may reuse its buffer.
    list.push(Uint8Array.prototype.slice.call(data))
    this.unsynced.set(fd, list)
  }

  truncate(fd: Fd, size: number): void {
    this.handOver(fd)
    this.inner.truncate(fd, size)
  }

  fsync(fd: Fd): void {
    this.faults = this.readFaults()
    this.handOver(fd)
    this.hold()
    this.inner.fsync(fd)
  }

  /** As fsync, with the fault's delay waited out on timers instead of blocking the thread. */
  readonly fsyncAsync = (fd: Fd, done: (err: Error | null) => void): void => {
    this.faults = this.readFaults()
    this.handOver(fd)
    const started = performance.now()
    const wait = () => {
      const left = (this.faults.fsyncDelayMs ?? 0) - (performance.now() - started)
      if (left > 0) {
        setTimeout(
          () => {
            this.faults = this.readFaults()
            wait()
          },
          Math.min(left, STALL_POLL_MS),
        )
        return
      }
      if (this.inner.fsyncAsync) return this.inner.fsyncAsync(fd, done)
      try {
        this.inner.fsync(fd)
      } catch (err) {
        return done(err as Error)
      }
      done(null)
    }
    wait()
  }

  close(fd: Fd): void {
    this.handOver(fd)
    this.pathOf.delete(fd)
    this.inner.close(fd)
  }

  rename(from: string, to: string): void {
    this.inner.rename(from, to)
    for (const [fd, p] of this.pathOf) if (p === from) this.pathOf.set(fd, to)
  }

  unlink(path: string): void {
    this.inner.unlink(path)
  }

  fsyncDir(dir: string): void {
    this.inner.fsyncDir(dir)
  }

  /** Hands the fd's held data to the inner port (written, not yet synced). */
  private handOver(fd: Fd): void {
    const list = this.unsynced.get(fd)
    if (!list) return
    this.unsynced.delete(fd)
    if (list.length === 1) return this.inner.append(fd, list[0]!)
    let size = 0
    for (const b of list) size += b.length
    const all = new Uint8Array(size)
    let off = 0
    for (const b of list) {
      all.set(b, off)
      off += b.length
    }
    this.inner.append(fd, all)
  }

  /** A slow disk: holds the fsync for the fault's delay, or less if the fault is lifted meanwhile. */
  private hold(): void {
    const started = performance.now()
    for (;;) {
      const delay = this.faults.fsyncDelayMs ?? 0
      const left = delay - (performance.now() - started)
      if (left <= 0) return
      blockFor(Math.min(left, STALL_POLL_MS))
      this.faults = this.readFaults()
    }
  }
}
