// The real file-system port: synchronous node:fs calls. The only module in src/storage that
// touches the operating system. fsync(fd) is fdatasync: segment appends change the size, which
// fdatasync does flush, and we never rely on timestamps. Directory entries are made durable by
// opening the directory read-only and fsyncing it (Linux/macOS semantics).
import * as nodeFs from 'node:fs'
import * as nodePath from 'node:path'
import type {Fd, FileSystem} from './fs.js'

const {O_WRONLY, O_CREAT, O_TRUNC, O_APPEND} = nodeFs.constants

/**
 * This process's syncs so far: fdatasync of files (log segments, the hard-state file, snapshots),
 * fsync of directories, and the milliseconds they took (blocked in them, or for an fdatasync off
 * the event loop, until it completed).
 */
export const fsyncStats = {files: 0, dirs: 0, ms: 0}

function countSync(kind: 'files' | 'dirs', t0: number): void {
  fsyncStats[kind]++
  fsyncStats.ms += performance.now() - t0
}

export class RealFs implements FileSystem {
  mkdirp(dir: string): void {
    const firstCreated = nodeFs.mkdirSync(dir, {recursive: true})
    // A new directory's own entry lives in its parent: make it durable too.
    if (firstCreated !== undefined) this.fsyncDir(nodePath.dirname(firstCreated))
  }

  readdir(dir: string): string[] {
    return nodeFs.readdirSync(dir).sort()
  }

  exists(path: string): boolean {
    return nodeFs.existsSync(path)
  }

  readFile(path: string): Uint8Array {
    return nodeFs.readFileSync(path)
  }

  openAppend(path: string): Fd {
    return nodeFs.openSync(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
  }

  create(path: string): Fd {
    return nodeFs.openSync(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
  }

  append(fd: Fd, data: Uint8Array): void {
    let off = 0
    while (off < data.length) off += nodeFs.writeSync(fd, data, off, data.length - off)
  }

  truncate(fd: Fd, size: number): void {
    nodeFs.ftruncateSync(fd, size)
  }

  fsync(fd: Fd): void {
    const t0 = performance.now()
    nodeFs.fdatasyncSync(fd)
    countSync('files', t0)
  }

  /** fdatasync on libuv's thread pool; `ms` counts the time until it completed. */
  readonly fsyncAsync = (fd: Fd, done: (err: Error | null) => void): void => {
    const t0 = performance.now()
    nodeFs.fdatasync(fd, (err) => {
      countSync('files', t0)
      done(err)
    })
  }

  close(fd: Fd): void {
    nodeFs.closeSync(fd)
  }

  rename(from: string, to: string): void {
    nodeFs.renameSync(from, to)
  }

  unlink(path: string): void {
    nodeFs.unlinkSync(path)
  }

  fsyncDir(dir: string): void {
    const fd = nodeFs.openSync(dir, 'r')
    const t0 = performance.now()
    try {
      nodeFs.fsyncSync(fd)
    } finally {
      countSync('dirs', t0)
      nodeFs.closeSync(fd)
    }
  }
}
