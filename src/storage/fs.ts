// The synchronous file-system port that log storage writes through. Two implementations: RealFs
// (node:fs) and MemoryFs (the simulator's crashable disk). It offers exactly what the segment log
// needs and nothing that would let a caller believe something is durable without an explicit
// fsync: data is durable after fsync(fd); a directory entry (create, rename, unlink) is durable
// after fsyncDir(dir) of its directory.
//
// Paths are plain strings joined with '/'. File descriptors are numbers.

export type Fd = number

export interface FileSystem {
  /** Creates `dir` and any missing parents; no-op if it exists. */
  mkdirp(dir: string): void
  /** Names (not paths) of the entries of `dir`, sorted. */
  readdir(dir: string): string[]
  exists(path: string): boolean
  /** The whole current content of a file. */
  readFile(path: string): Uint8Array
  /** Opens a file for appending, creating it empty if it does not exist. Writes go to its end. */
  openAppend(path: string): Fd
  /** Creates a file (truncating an existing one to empty) and opens it for appending. */
  create(path: string): Fd
  /** Writes all of `data` at the end of the file. */
  append(fd: Fd, data: Uint8Array): void
  /** Cuts the file to `size` bytes; later appends continue from there. Durable after fsync(fd). */
  truncate(fd: Fd, size: number): void
  /** Makes the file's content (and size) durable. Does not make its directory entry durable. */
  fsync(fd: Fd): void
  /**
   * fsync(fd) off the caller's thread (the event loop keeps running): `done` is called once the
   * content as it was at the call is durable, or with the error. The caller writes nothing to the
   * file meanwhile. Absent: the port syncs only synchronously.
   */
  fsyncAsync?: (fd: Fd, done: (err: Error | null) => void) => void
  close(fd: Fd): void
  /** Atomically replaces `to` with `from` (same directory). Durable after fsyncDir. */
  rename(from: string, to: string): void
  unlink(path: string): void
  /** Makes every create/rename/unlink in `dir` so far durable. */
  fsyncDir(dir: string): void
}

/** Joins a directory and a file name with '/'. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`
}
