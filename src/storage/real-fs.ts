// The real file-system port: synchronous node:fs calls. The only module in src/storage that
// touches the operating system. fsync(fd) is fdatasync: segment appends change the size, which
// fdatasync does flush, and we never rely on timestamps. Directory entries are made durable by
// opening the directory read-only and fsyncing it (Linux/macOS semantics).
import * as nodeFs from 'node:fs'
import * as nodePath from 'node:path'
import type {Fd, FileSystem} from './fs.js'

const {O_WRONLY, O_CREAT, O_TRUNC, O_APPEND} = nodeFs.constants

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
    nodeFs.fdatasyncSync(fd)
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
    try {
      nodeFs.fsyncSync(fd)
    } finally {
      nodeFs.closeSync(fd)
    }
  }
}
