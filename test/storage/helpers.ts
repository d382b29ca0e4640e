// Shared helpers for the storage tests: entry builders and an "open the log in a directory" step
// that captures the recovery log lines.
import type {Entry} from '../../src/core/types.js'
import type {FileSystem} from '../../src/storage/fs.js'
import type {PersistedState} from '../../src/storage/port.js'
import {SegmentLogStorage, type SegmentLogOptions} from '../../src/storage/segment-log.js'
import {MemoryFs} from '../../src/storage/memory-fs.js'

export const DIR = '/data/node1'

export function entry(index: number, term: number, data: unknown = `value-${index}`): Entry {
  return {term, index, type: 'normal', data}
}

/** Entries from..to (inclusive) in `term`. */
export function range(from: number, to: number, term: number, data?: (index: number) => unknown): Entry[] {
  const out: Entry[] = []
  for (let i = from; i <= to; i++) out.push(entry(i, term, data ? data(i) : `value-${i}`))
  return out
}

export interface Opened {
  storage: SegmentLogStorage
  state: PersistedState
  lines: string[]
}

export function open(fs: FileSystem, opts: Omit<SegmentLogOptions, 'log'> = {}, dir = DIR): Opened {
  const lines: string[] = []
  const storage = new SegmentLogStorage(fs, dir, {...opts, log: (line) => lines.push(line)})
  const state = storage.load()
  return {storage, state, lines}
}

/** Closes `storage` and opens the directory again. */
export function reopen(fs: FileSystem, storage: SegmentLogStorage, opts: Omit<SegmentLogOptions, 'log'> = {}, dir = DIR): Opened {
  storage.close()
  return open(fs, opts, dir)
}

export function segmentFiles(fs: FileSystem, dir = DIR): string[] {
  return fs.readdir(dir).filter((n) => n.endsWith('.seg'))
}

/** A MemoryFs whose asynchronous fsyncs complete when the test runs the queued completions. */
export function asyncSyncDisk(): {fs: MemoryFs; completions: (() => void)[]} {
  const fs = new MemoryFs()
  const completions: (() => void)[] = []
  fs.enableAsyncSync((complete) => completions.push(complete))
  return {fs, completions}
}
