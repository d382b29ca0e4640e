// MemoryFs: a pure in-memory, crashable disk for the deterministic simulator and the storage tests.
// No `node:` import, no clock, no Math.random: a crash is decided by the Prng it is given.
//
// What it owns: for each file (an inode) its live content, its durable content (as of the last
// fsync) and the data operations (appends, truncations) issued since; for each directory its live
// entries, its durable entries (as of the last fsyncDir) and the entry operations (create, rename,
// unlink) issued since. The invariant it keeps: the live view is always the durable view with all
// pending operations applied, and crash() leaves only what a real disk could hold after power loss:
//   - per directory, a random prefix of the pending entry operations survives (a file created or
//     renamed without fsyncDir may vanish or revert; an unlink may be undone);
//   - per surviving file, a random prefix of its pending data operations survives, and the last
//     surviving append may be torn (cut at a random byte);
//   - every open file descriptor is closed.
// Two kinds of crash, as on a real machine: kill() is the process dying (SIGKILL, a crash): the
// page cache survives, so everything written stays readable, but nothing unsynced becomes durable
// by it — a later crash() (power loss) can still lose it. crash() is power loss: only what was
// synced survives (see above).
// armCrash(n) additionally lets a test kill the "process" in the middle of a storage operation: the
// (n+1)-th mutating call from then on throws SimulatedCrash, and the test follows with kill() or
// crash().
// Simplifications, deliberate: directories themselves are durable as soon as they are created, and
// data operations are kept in issue order (no reordering of pages within a file).
import type {Fd, FileSystem} from './fs.js'
import type {Prng} from '../lib/prng.js'

/**
 * Thrown by a mutating call once the budget given to armCrash() is spent: the process died in the
 * middle of whatever storage operation was running. Follow it with crash().
 */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash'
}

export class MemoryFsError extends Error {
  override name = 'MemoryFsError'
  constructor(
    readonly code: 'ENOENT' | 'EBADF' | 'EISDIR' | 'EXDEV',
    message: string,
  ) {
    super(`${code}: ${message}`)
  }
}

type DataOp = {kind: 'append'; data: Uint8Array} | {kind: 'truncate'; size: number}

type DirOp = {kind: 'link'; name: string; inode: Inode} | {kind: 'unlink'; name: string} | {kind: 'rename'; from: string; to: string; inode: Inode}

class Inode {
  /** Live content as immutable chunks (never mutated in place, so snapshots can share them). */
  chunks: Uint8Array[] = []
  size = 0
  durableChunks: Uint8Array[] = []
  durableSize = 0
  pending: DataOp[] = []
  constructor(readonly id: number) {}
}

interface Dir {
  live: Map<string, Inode>
  durable: Map<string, Inode>
  pending: DirOp[]
}

export interface MemoryFsStats {
  fsyncs: number
  dirFsyncs: number
  appends: number
  bytesAppended: number
}

export interface CrashOptions {
  /** Probability that the last surviving append of a file is torn. Default 0.5. */
  tornProbability?: number
  /**
   * How much of what was not synced survives, for directory entries and for file data apart:
   * 'random' (a random prefix, the default), 'all' or 'none'. The extremes are where ordering
   * bugs between metadata and data live: the rename reached the disk, the data did not.
   */
  dirOps?: 'random' | 'all' | 'none'
  dataOps?: 'random' | 'all' | 'none'
}

export class MemoryFs implements FileSystem {
  private readonly dirs = new Map<string, Dir>()
  private readonly fds = new Map<Fd, Inode>()
  private nextFd = 3
  private nextInode = 1
  readonly stats: MemoryFsStats = {fsyncs: 0, dirFsyncs: 0, appends: 0, bytesAppended: 0}
  /** Mutating calls left before SimulatedCrash, or -1 when not armed. */
  private crashBudget = -1
  /** Bumped by crash() and kill(): an fsync still in flight then never completes. */
  private generation = 0
  /** Set by enableAsyncSync: runs an asynchronous fsync's completion later. */
  fsyncAsync?: (fd: Fd, done: (err: Error | null) => void) => void

  constructor() {
    this.dirs.set('/', newDir())
    this.dirs.set('.', newDir())
  }

  mkdirp(dir: string): void {
    const path = normalize(dir)
    const parts = path.split('/')
    let prefix = ''
    for (let i = 0; i < parts.length; i++) {
      prefix = i === 0 ? (parts[0] === '' ? '/' : parts[0]!) : prefix === '/' ? `/${parts[i]}` : `${prefix}/${parts[i]}`
      if (!this.dirs.has(prefix)) {
        const [parent, name] = splitPath(prefix)
        if (this.dirs.get(parent)?.live.has(name)) throw new MemoryFsError('ENOENT', `${prefix} is a file`)
        this.dirs.set(prefix, newDir())
      }
    }
  }

  readdir(dir: string): string[] {
    const path = normalize(dir)
    const d = this.dirOf(path)
    const names = [...d.live.keys()]
    for (const other of this.dirs.keys()) {
      if (other === path) continue
      const [parent, name] = splitPath(other)
      if (parent === path && name !== '') names.push(name)
    }
    return names.sort()
  }

  exists(path: string): boolean {
    const p = normalize(path)
    if (this.dirs.has(p)) return true
    const [parent, name] = splitPath(p)
    return this.dirs.get(parent)?.live.has(name) ?? false
  }

  readFile(path: string): Uint8Array {
    const inode = this.lookup(path)
    if (inode.chunks.length !== 1) inode.chunks = [concat(inode.chunks, inode.size)]
    return inode.chunks[0]!
  }

  openAppend(path: string): Fd {
    this.tick()
    const [parent, name] = splitPath(normalize(path))
    const d = this.dirOf(parent)
    let inode = d.live.get(name)
    if (inode === undefined) {
      if (this.dirs.has(normalize(path))) throw new MemoryFsError('EISDIR', path)
      inode = new Inode(this.nextInode++)
      d.live.set(name, inode)
      d.pending.push({kind: 'link', name, inode})
    }
    const fd = this.nextFd++
    this.fds.set(fd, inode)
    return fd
  }

  create(path: string): Fd {
    const fd = this.openAppend(path)
    if (this.fds.get(fd)!.size > 0) this.truncate(fd, 0)
    return fd
  }

  append(fd: Fd, data: Uint8Array): void {
    this.tick()
    const inode = this.inodeOf(fd)
    if (data.length === 0) return
    const copy = data.slice()
    inode.chunks.push(copy)
    inode.size += copy.length
    inode.pending.push({kind: 'append', data: copy})
    this.stats.appends++
    this.stats.bytesAppended += copy.length
  }

  truncate(fd: Fd, size: number): void {
    this.tick()
    const inode = this.inodeOf(fd)
    inode.chunks = truncateChunks(inode.chunks, inode.size, size)
    inode.size = size
    inode.pending.push({kind: 'truncate', size})
  }

  fsync(fd: Fd): void {
    this.tick()
    const inode = this.inodeOf(fd)
    inode.durableChunks = inode.chunks.slice()
    inode.durableSize = inode.size
    inode.pending = []
    this.stats.fsyncs++
  }

  /**
   * Gives this disk fsyncAsync: the content at the call becomes durable when `later` runs the
   * completion (the simulator schedules it). A crash() or kill() before then cancels it: the
   * data stays pending, as for a process that died during its fdatasync.
   */
  enableAsyncSync(later: (complete: () => void) => void): void {
    this.fsyncAsync = (fd, done) => {
      this.tick()
      const inode = this.inodeOf(fd)
      const chunks = inode.chunks.slice()
      const size = inode.size
      const pendingAtCall = inode.pending.length
      const generation = this.generation
      later(() => {
        if (this.generation !== generation) return
        inode.durableChunks = chunks
        inode.durableSize = size
        inode.pending = inode.pending.slice(pendingAtCall)
        this.stats.fsyncs++
        done(null)
      })
    }
  }

  close(fd: Fd): void {
    this.tick()
    this.inodeOf(fd)
    this.fds.delete(fd)
  }

  rename(from: string, to: string): void {
    this.tick()
    const [fromDir, fromName] = splitPath(normalize(from))
    const [toDir, toName] = splitPath(normalize(to))
    if (fromDir !== toDir) throw new MemoryFsError('EXDEV', `rename across directories: ${from} -> ${to}`)
    const d = this.dirOf(fromDir)
    const inode = d.live.get(fromName)
    if (inode === undefined) throw new MemoryFsError('ENOENT', from)
    if (fromName === toName) return
    d.live.delete(fromName)
    d.live.set(toName, inode)
    d.pending.push({kind: 'rename', from: fromName, to: toName, inode})
  }

  unlink(path: string): void {
    this.tick()
    const [parent, name] = splitPath(normalize(path))
    const d = this.dirOf(parent)
    if (!d.live.delete(name)) throw new MemoryFsError('ENOENT', path)
    d.pending.push({kind: 'unlink', name})
  }

  fsyncDir(dir: string): void {
    this.tick()
    const d = this.dirOf(normalize(dir))
    d.durable = new Map(d.live)
    d.pending = []
    this.stats.dirFsyncs++
  }

  /**
   * Power loss. Afterwards the disk holds only what a real one could: see the module header.
   * Every file descriptor is closed; the storage object that used them must be discarded.
   */
  crash(prng: Prng, opts: CrashOptions = {}): void {
    const tornProbability = opts.tornProbability ?? 0.5
    const survivors = new Map<number, Inode>()
    const keepOf = (mode: CrashOptions['dirOps'], n: number) => (mode === 'all' ? n : mode === 'none' ? 0 : prng.int(0, n))
    for (const d of this.dirs.values()) {
      const keep = keepOf(opts.dirOps, d.pending.length)
      for (let i = 0; i < keep; i++) applyDirOp(d.durable, d.pending[i]!)
      d.live = new Map(d.durable)
      d.pending = []
      for (const inode of d.durable.values()) survivors.set(inode.id, inode)
    }
    const ordered = [...survivors.values()].sort((a, b) => a.id - b.id)
    for (const inode of ordered) {
      const keep = keepOf(opts.dataOps, inode.pending.length)
      let chunks = inode.durableChunks.slice()
      let size = inode.durableSize
      for (let i = 0; i < keep; i++) {
        const op = inode.pending[i]!
        if (op.kind === 'truncate') {
          chunks = truncateChunks(chunks, size, op.size)
          size = op.size
        } else {
          let data = op.data
          if (i === keep - 1 && prng.chance(tornProbability)) data = data.subarray(0, prng.int(0, data.length - 1))
          if (data.length > 0) chunks.push(data)
          size += data.length
        }
      }
      inode.chunks = chunks
      inode.size = size
      inode.durableChunks = chunks.slice()
      inode.durableSize = size
      inode.pending = []
    }
    this.fds.clear()
    this.crashBudget = -1
    this.generation++
  }

  /**
   * The process died (SIGKILL): its file descriptors are closed, the page cache survives. Written
   * but unsynced data stays readable and stays pending: a later crash() may still lose it.
   */
  kill(): void {
    this.fds.clear()
    this.crashBudget = -1
    this.generation++
  }

  /** Test helper: whether any write is not yet durable (data or directory entries). */
  hasPendingWrites(): boolean {
    for (const d of this.dirs.values()) {
      if (d.pending.length > 0) return true
      for (const inode of d.live.values()) if (inode.pending.length > 0) return true
    }
    return false
  }

  /**
   * Makes the mutating call after the next `calls` ones throw SimulatedCrash without taking effect
   * (0: the very next one). Cleared by disarmCrash(), kill() and crash().
   */
  armCrash(calls: number): void {
    this.crashBudget = calls
  }

  disarmCrash(): void {
    this.crashBudget = -1
  }

  /** Test helper: replaces a file's content, durably (entry and data), as if written long ago. */
  setFile(path: string, data: Uint8Array): void {
    const [parent, name] = splitPath(normalize(path))
    const d = this.dirOf(parent)
    let inode = d.live.get(name)
    if (inode === undefined) {
      inode = new Inode(this.nextInode++)
      d.live.set(name, inode)
    }
    d.durable.set(name, inode)
    const copy = data.slice()
    inode.chunks = [copy]
    inode.size = copy.length
    inode.durableChunks = [copy]
    inode.durableSize = copy.length
    inode.pending = []
  }

  /** Test helper: number of open file descriptors. */
  openFdCount(): number {
    return this.fds.size
  }

  /**
   * Called before every mutating call takes effect (the simulator's crash-state explorer clones
   * the disk here: "the process died just before this call").
   */
  beforeMutation?: () => void

  /**
   * An independent copy of the disk, pending (unsynced) writes included, with no open files: what
   * a process killed right now would leave. Content chunks are immutable, so they are shared.
   */
  clone(): MemoryFs {
    const copy = new MemoryFs()
    const inodes = new Map<Inode, Inode>()
    const inodeOf = (i: Inode): Inode => {
      let c = inodes.get(i)
      if (c === undefined) {
        c = new Inode(i.id)
        c.chunks = i.chunks.slice()
        c.size = i.size
        c.durableChunks = i.durableChunks.slice()
        c.durableSize = i.durableSize
        c.pending = i.pending.slice()
        inodes.set(i, c)
      }
      return c
    }
    copy.dirs.clear()
    for (const [path, d] of this.dirs) {
      copy.dirs.set(path, {
        live: new Map([...d.live].map(([n, i]) => [n, inodeOf(i)])),
        durable: new Map([...d.durable].map(([n, i]) => [n, inodeOf(i)])),
        pending: d.pending.map((op) => (op.kind === 'unlink' ? op : {...op, inode: inodeOf(op.inode)})),
      })
    }
    copy.nextInode = this.nextInode
    return copy
  }

  private tick(): void {
    this.beforeMutation?.()
    if (this.crashBudget < 0) return
    if (this.crashBudget === 0) {
      this.crashBudget = -1
      throw new SimulatedCrash('simulated process crash in the middle of a storage operation')
    }
    this.crashBudget--
  }

  private lookup(path: string): Inode {
    const [parent, name] = splitPath(normalize(path))
    const inode = this.dirs.get(parent)?.live.get(name)
    if (inode === undefined) throw new MemoryFsError(this.dirs.has(normalize(path)) ? 'EISDIR' : 'ENOENT', path)
    return inode
  }

  private dirOf(path: string): Dir {
    const d = this.dirs.get(path)
    if (d === undefined) throw new MemoryFsError('ENOENT', `no such directory: ${path}`)
    return d
  }

  private inodeOf(fd: Fd): Inode {
    const inode = this.fds.get(fd)
    if (inode === undefined) throw new MemoryFsError('EBADF', `bad file descriptor ${fd}`)
    return inode
  }
}

function newDir(): Dir {
  return {live: new Map(), durable: new Map(), pending: []}
}

function applyDirOp(entries: Map<string, Inode>, op: DirOp): void {
  switch (op.kind) {
    case 'link':
      entries.set(op.name, op.inode)
      return
    case 'unlink':
      entries.delete(op.name)
      return
    case 'rename':
      entries.delete(op.from)
      entries.set(op.to, op.inode)
      return
  }
}

/** Collapses repeated slashes, drops '.' components and a trailing slash. '' is '.'. */
function normalize(path: string): string {
  if (isNormal(path)) return path
  const absolute = path.startsWith('/')
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.length === 0) return absolute ? '/' : '.'
  return (absolute ? '/' : '') + parts.join('/')
}

function isNormal(path: string): boolean {
  return path.length > 1 && !path.endsWith('/') && !path.includes('//') && !path.includes('/./') && !path.startsWith('./') && !path.endsWith('/.')
}

/** [parent directory, name] of a normalized path. */
function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/')
  if (i < 0) return ['.', path]
  if (i === 0) return ['/', path.slice(1)]
  return [path.slice(0, i), path.slice(i + 1)]
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size)
  let off = 0
  for (const c of chunks) {
    out.set(c, off)
    off += c.length
  }
  return out
}

function truncateChunks(chunks: Uint8Array[], size: number, newSize: number): Uint8Array[] {
  if (newSize >= size) return newSize === size ? chunks.slice() : [...chunks, new Uint8Array(newSize - size)]
  const out: Uint8Array[] = []
  let off = 0
  for (const c of chunks) {
    if (off >= newSize) break
    out.push(off + c.length <= newSize ? c : c.subarray(0, newSize - off))
    off += c.length
  }
  return out
}
