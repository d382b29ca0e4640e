// SegmentLogStorage: the durable LogStorage of a replica, over a FileSystem port (real files, or
// the simulator's crashable MemoryFs).
//
// On disk, in one directory:
//   log-<firstIndex:20>.seg             append-only segments of records (see record.ts) holding
//                                       MessagePack Entries; a segment's name is its first index
//   hardstate                           one record: {currentTerm, votedFor, commitIndex}
//   snapshot-<index:20>-<term:20>.snap  one record: {lastIncludedIndex, lastIncludedTerm, config?, data}
//   identity                            one record: {clusterId, nodeId} (identity.ts)
//   *.tmp                               write-then-rename temporaries; removed on load
//
// Invariants it keeps:
//   - the stored entries are exactly snapIndex+1 .. lastIndex, contiguous across segments, and
//     the last segment (the only one ever appended to) ends at lastIndex;
//   - record k of a segment holds index firstIndex + k;
//   - after any crash (power loss, or the process dying inside any method, load() included) the
//     segments are one contiguous run and only the last one can end in a torn record. Hence the
//     orderings: before a new segment is created the previous one is fsynced; segments that end
//     the log are unlinked last first, and that is fsynced before the segment before them is
//     truncated; a snapshot is renamed in before the segments it replaces are unlinked.
// Durability: nothing is durable until sync() (one fdatasync of the active segment; plus the
// directory when a segment was created, plus the hard-state file when term/vote changed).
// saveSnapshot() is durable when it returns, together with everything written before it (it is a
// sync point). load() makes durable everything it returns: what it reads may sit only in the page
// cache (the process was killed before its fsync), and the node will act on it — acknowledge
// those entries, repeat that vote — so a later power loss must not take it away.
// commitIndex is persisted lazily: with the next term/vote change, by saveSnapshot() and by
// close(); after a crash it may be older than the last one set, which Raft allows (commitIndex is
// volatile state in the paper). It is never persisted beyond `durableMatch`, the index up to which
// the durable log is known to equal the live one: the hard-state file may reach the disk before a
// truncation and the new entries of the same batch, and a commitIndex that pointed into the old,
// replaced entries would make a restarted node apply them.
import {Packr, Unpackr} from 'msgpackr'
import type {Entry, HardState, Snapshot} from '../core/types.js'
import {assert} from '../lib/assert.js'
import type {LogStorage, PersistedState} from './port.js'
import {StorageCorruptionError} from './errors.js'
import {type Fd, type FileSystem, joinPath} from './fs.js'
import {dataViewOf} from './crc32.js'
import {checkFrame, encodeRecord, RECORD_HEADER_BYTES, writeRecord} from './record.js'
import {SnapshotEncoder, type EncodedSnapshot} from './snapshot-encoder.js'
import {checkIdentity, type DataDirIdentity} from './identity.js'
import {membershipProblem} from '../core/membership.js'

/**
 * Deliberately broken storage, only to prove the simulator catches what these bugs would do:
 * `commit-before-log` persists commitIndex unclamped (the hard-state file can claim entries that
 * a truncation in the same batch replaced but that are not yet synced); `trust-page-cache` has
 * load() fsync nothing it read back.
 */
export type StorageMutant = 'commit-before-log' | 'trust-page-cache'

export interface SegmentLogOptions {
  /** A new segment is started when appending to the current one would pass this. Default 64 MiB. */
  segmentBytesMax?: number
  mutant?: StorageMutant
  /** When given, load() refuses a directory that is not this node's (see identity.ts). */
  identity?: DataDirIdentity
  /**
   * Notes of what load() found and did; `recovery` marks a repair or a fallback (a torn tail cut,
   * an unreadable snapshot set aside, an interrupted discard finished), as opposed to removing
   * leftovers. Default: console.warn.
   */
  log?: (line: string, recovery?: boolean) => void
}

export const DEFAULT_SEGMENT_BYTES_MAX = 64 * 1024 * 1024

const SEGMENT_RE = /^log-(\d{20})\.seg$/
const SNAPSHOT_RE = /^snapshot-(\d{20})-(\d{20})\.snap$/
const HARD_STATE_FILE = 'hardstate'
const TMP_SUFFIX = '.tmp'
const CORRUPT_SUFFIX = '.corrupt'

const packr = new Packr({useRecords: false})
// copyBuffers: decoded binary data must not keep a whole segment file alive.
const unpackr = new Unpackr({useRecords: false, mapsAsObjects: true, copyBuffers: true})

export function segmentFileName(firstIndex: number): string {
  return `log-${pad20(firstIndex)}.seg`
}

export function snapshotFileName(lastIncludedIndex: number, lastIncludedTerm: number): string {
  return `snapshot-${pad20(lastIncludedIndex)}-${pad20(lastIncludedTerm)}.snap`
}

interface Segment {
  name: string
  firstIndex: number
  /** Records in the file. */
  count: number
  /** File size in bytes (all of it valid records). */
  bytes: number
  /** offsets[k]: byte offset of record k; capacity >= count. */
  offsets: Uint32Array
}

const DEFAULT_HARD_STATE: HardState = {currentTerm: 0, votedFor: 0, commitIndex: 0}

export class SegmentLogStorage implements LogStorage {
  private readonly segmentBytesMax: number
  private readonly log: (line: string, recovery?: boolean) => void
  private readonly mutant?: StorageMutant
  private readonly identity?: DataDirIdentity

  private loaded = false
  private closed = false
  private segments: Segment[] = []
  /** Open fd of the last segment, or null (opened lazily). */
  private activeFd: Fd | null = null
  private activeDirty = false
  private dirDirty = false

  private snapIndex = 0
  private snapTerm = 0
  private snapName: string | null = null
  private lastIndex = 0
  /** Entries 1..durableMatch of the durable log (snapshot and synced segments) equal the live ones. */
  private durableMatch = 0

  private hardState: HardState = {...DEFAULT_HARD_STATE}
  private persistedHardState: HardState = {...DEFAULT_HARD_STATE}
  /** Term or vote changed since the hard-state file was last written. */
  private hardStateDirty = false
  /** The next sync must persist commitIndex too (it passed a configuration change). */
  private commitUrgent = false
  /** A syncAsync is in flight: no other call until it completes. */
  private syncing = false
  /** An fsync off the loop failed: nothing more may be written or claimed durable. */
  private failed: Error | null = null
  /** load() changed the directory (removed or renamed a file): it fsyncs it before returning. */
  private loadChangedDir = false

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    opts: SegmentLogOptions = {},
  ) {
    this.segmentBytesMax = opts.segmentBytesMax ?? DEFAULT_SEGMENT_BYTES_MAX
    assert(
      Number.isInteger(this.segmentBytesMax) && this.segmentBytesMax > 0 && this.segmentBytesMax <= 0xffffffff,
      `segmentBytesMax must be an integer in [1, 2^32-1], got ${this.segmentBytesMax}`,
    )
    this.log = opts.log ?? ((line) => console.warn(`[storage] ${line}`))
    this.mutant = opts.mutant
    this.identity = opts.identity
  }

  // ---------------------------------------------------------------------------------------------
  // load

  load(): PersistedState {
    assert(!this.loaded && !this.closed, 'SegmentLogStorage.load() must be called once, first')
    this.loaded = true
    this.fs.mkdirp(this.dir)
    const names = this.fs.readdir(this.dir)
    if (this.identity) checkIdentity(this.fs, this.dir, names, this.identity, this.log)
    for (const name of names) if (name.endsWith(TMP_SUFFIX)) this.removeStale(name, 'removing leftover temporary file')

    if (names.includes(HARD_STATE_FILE)) this.hardState = this.readHardState()
    this.persistedHardState = {...this.hardState}

    const snapshot = this.loadSnapshot(names)
    const L = snapshot?.lastIncludedIndex ?? 0
    this.snapIndex = L
    this.snapTerm = snapshot?.lastIncludedTerm ?? 0
    const {entries, termAtSnapshot} = this.loadSegments(names, snapshot)
    this.finishInterruptedDiscard(snapshot, termAtSnapshot, entries)

    // Segments read but holding nothing after the snapshot (the one ending at L; or the last one,
    // when the snapshot was taken beyond what reached the disk) are stale like the others.
    while (this.segments.length > 0 && this.segments[0]!.firstIndex + this.segments[0]!.count - 1 <= L) {
      this.removeStale(this.segments.shift()!.name, `removing segment wholly covered by the snapshot at ${L}`)
    }

    this.makeLoadedDurable()
    this.lastIndex = L + entries.length
    this.durableMatch = this.lastIndex
    this.checkInvariants()
    return {hardState: {...this.hardState}, snapshot, entries}
  }

  /** load(): removes a file it found stale or left over, saying why. */
  private removeStale(name: string, why: string): void {
    this.log(`${why}: ${this.path(name)}`)
    this.fs.unlink(this.path(name))
    this.loadChangedDir = true
  }

  /**
   * load(): the newest readable snapshot, or null; older ones are removed. An unreadable one is
   * moved aside (kept for inspection) only if an older readable one exists; if it is the only
   * one, that is corruption.
   */
  private loadSnapshot(names: string[]): Snapshot | null {
    const snapNames = names
      .filter((n) => SNAPSHOT_RE.test(n))
      .sort()
      .reverse()
    let snapshot: Snapshot | null = null
    for (let i = 0; i < snapNames.length; i++) {
      const name = snapNames[i]!
      if (snapshot !== null) {
        this.removeStale(name, `removing snapshot superseded by ${this.snapName}`)
        continue
      }
      const result = this.readSnapshot(name)
      if (result.ok) {
        snapshot = result.snapshot
        this.snapName = name
        continue
      }
      const olderReadable = snapNames.slice(i + 1).some((n) => this.readSnapshot(n).ok)
      if (!olderReadable) throw new StorageCorruptionError(this.path(name), result.offset, result.reason)
      this.log(
        `unreadable snapshot ${this.path(name)} at offset ${result.offset} (${result.reason}); ` +
          `moved to ${name}${CORRUPT_SUFFIX}, falling back to an older snapshot`,
        true,
      )
      this.fs.rename(this.path(name), this.path(name + CORRUPT_SUFFIX))
      this.loadChangedDir = true
    }
    return snapshot
  }

  /**
   * load(): reads the segments after the snapshot (at snapIndex, L) into this.segments: the entries
   * after L, and the term of the stored entry at L if there is one. Segments wholly below the
   * snapshot (the next segment starts at or below L) are stale: compaction deleted them, or was
   * about to. They are not even read. The one holding L is read, to check that entry's term
   * against the snapshot's.
   */
  private loadSegments(names: string[], snapshot: Snapshot | null): {entries: Entry[]; termAtSnapshot: number | undefined} {
    const L = this.snapIndex
    const segNames = names.filter((n) => SEGMENT_RE.test(n)).sort()
    const firstIndexes = segNames.map((n) => Number(SEGMENT_RE.exec(n)![1]))
    const kept: number[] = []
    for (let i = 0; i < segNames.length; i++) {
      if (i + 1 < segNames.length && firstIndexes[i + 1]! <= L) {
        this.removeStale(segNames[i]!, `removing segment wholly covered by the snapshot at ${L}`)
      } else {
        kept.push(i)
      }
    }

    const entries: Entry[] = []
    let termAtSnapshot: number | undefined
    let expectedFirst = -1
    for (let j = 0; j < kept.length; j++) {
      const name = segNames[kept[j]!]!
      const firstIndex = firstIndexes[kept[j]!]!
      const file = this.path(name)
      if (j === 0 && firstIndex > L + 1) {
        throw new StorageCorruptionError(
          file,
          0,
          `the log starts at index ${firstIndex} but the ${snapshot ? `snapshot ends at ${L}` : 'log must start at 1'}: ` +
            `entries ${L + 1}..${firstIndex - 1} are missing`,
        )
      }
      if (j > 0 && firstIndex !== expectedFirst) {
        throw new StorageCorruptionError(
          file,
          0,
          `segment starts at index ${firstIndex} but the previous segment ends at ${expectedFirst - 1}` +
            (firstIndex > expectedFirst ? ' (gap)' : ' (overlap)'),
        )
      }
      const read = this.readSegment(name, firstIndex, j === kept.length - 1, entries)
      termAtSnapshot = read.termAtSnapshot ?? termAtSnapshot
      expectedFirst = firstIndex + read.seg.count
      this.segments.push(read.seg)
    }
    return {entries, termAtSnapshot}
  }

  /**
   * load(): reads one segment, appending its entries after the snapshot to `entries`; returns it
   * and the term of its entry at the snapshot's index, if it holds that one. A damaged record
   * ends the last segment (a torn tail, cut off); anywhere else it is corruption.
   */
  private readSegment(name: string, firstIndex: number, isLast: boolean, entries: Entry[]): {seg: Segment; termAtSnapshot: number | undefined} {
    const L = this.snapIndex
    const file = this.path(name)
    const buf = this.fs.readFile(file)
    const view = dataViewOf(buf)
    const seg: Segment = {name, firstIndex, count: 0, bytes: 0, offsets: new Uint32Array(64)}
    let termAtSnapshot: number | undefined
    let off = 0
    while (off < buf.length) {
      const index = firstIndex + seg.count
      // Records below the snapshot are only walked (their content is covered by it); the one at
      // L is decoded to check its term, everything after is verified and decoded.
      const verify = index >= L
      const frame = checkFrame(buf, off, verify, view)
      if (!frame.ok) {
        if (!isLast) throw new StorageCorruptionError(file, off, `${frame.reason} in a segment that is not the last`)
        this.cutTornTail(file, buf, off, index, frame.reason)
        break
      }
      if (verify) {
        const entry = decodeEntry(buf, frame.payloadStart, frame.end)
        if (typeof entry === 'string') throw new StorageCorruptionError(file, off, entry)
        if (entry.index !== index) {
          throw new StorageCorruptionError(file, off, `record holds index ${entry.index}, expected ${index}`)
        }
        if (index > L) entries.push(entry)
        else termAtSnapshot = entry.term
      }
      pushOffset(seg, off)
      off = frame.end
    }
    seg.bytes = off
    return {seg, termAtSnapshot}
  }

  /**
   * load(): the last segment's record at `off` (which should hold `index`) is damaged. Unless a
   * valid later record follows (then it is corruption), it is a torn tail: cut off and fsynced.
   */
  private cutTornTail(file: string, buf: Uint8Array, off: number, index: number, reason: string): void {
    const after = findValidRecord(buf, off + 1, index)
    if (after >= 0) {
      throw new StorageCorruptionError(file, off, `${reason}, followed by a valid record at offset ${after}`)
    }
    this.log(`torn tail repaired: ${file} at offset ${off} (${buf.length - off} bytes dropped)`, true)
    const fd = this.fs.openAppend(file)
    this.fs.truncate(fd, off)
    this.fs.fsync(fd)
    this.fs.close(fd)
  }

  /**
   * load(): a stored entry at the snapshot's index with another term means the snapshot replaced
   * the log (saveSnapshot with discardLog) and the crash came before the old segments were
   * deleted. Checked before anything else is deleted, and deleted from the end, so that a crash
   * during this repair leaves the entry at L in place for the next load to check again.
   */
  private finishInterruptedDiscard(snapshot: Snapshot | null, termAtSnapshot: number | undefined, entries: Entry[]): void {
    if (snapshot === null || termAtSnapshot === undefined || termAtSnapshot === snapshot.lastIncludedTerm) return
    this.log(
      `stored entry ${this.snapIndex} has term ${termAtSnapshot} but the snapshot has term ${snapshot.lastIncludedTerm}: ` +
        `finishing an interrupted log discard (${this.segments.length} segments, ${entries.length} entries dropped)`,
      true,
    )
    this.unlinkFromTheEnd(this.segments)
    this.segments = []
    entries.length = 0
    this.loadChangedDir = true
  }

  /**
   * load(): what was read may be only in the page cache (the process was killed before it
   * synced): make it durable before the node acts on it. The snapshot and hard-state files were
   * fsynced before their rename; their directory entries are made durable by the directory fsync.
   */
  private makeLoadedDurable(): void {
    if (this.mutant !== 'trust-page-cache') {
      for (const seg of this.segments) {
        const fd = this.fs.openAppend(this.path(seg.name))
        this.fs.fsync(fd)
        this.fs.close(fd)
      }
      this.loadChangedDir = true
    }
    if (this.loadChangedDir) this.fs.fsyncDir(this.dir)
  }

  // ---------------------------------------------------------------------------------------------
  // append

  append(entries: Entry[]): void {
    this.assertOpen('append')
    const n = entries.length
    if (n === 0) return
    const first = entries[0]!.index
    assert(Number.isSafeInteger(first) && first >= 1, () => `append: bad first index ${first}`)
    for (let i = 1; i < n; i++) {
      assert(entries[i]!.index === first + i, () => `append: entries not contiguous at position ${i}: ${entries[i]!.index} after ${first + i - 1}`)
    }
    assert(first > this.snapIndex, () => `append: index ${first} is covered by the snapshot at ${this.snapIndex}`)
    assert(first <= this.lastIndex + 1, () => `append: index ${first} leaves a gap after the last stored index ${this.lastIndex}`)
    if (first <= this.lastIndex) this.truncateFrom(first)

    const payloads = new Array<Uint8Array>(n)
    let total = 0
    for (let i = 0; i < n; i++) {
      const p = packr.pack(entries[i])
      payloads[i] = p
      total += RECORD_HEADER_BYTES + p.length
    }
    const buf = new Uint8Array(total)
    let seg = this.segments.at(-1) ?? null
    if (seg !== null && this.activeFd === null) this.activeFd = this.fs.openAppend(this.path(seg.name))
    let pos = 0
    let flushed = 0
    for (let i = 0; i < n; i++) {
      const size = RECORD_HEADER_BYTES + payloads[i]!.length
      if (seg === null || (seg.bytes > 0 && seg.bytes + size > this.segmentBytesMax)) {
        if (pos > flushed) this.write(buf.subarray(flushed, pos))
        flushed = pos
        seg = this.startSegment(first + i)
      }
      pushOffset(seg, seg.bytes)
      seg.bytes += size
      pos = writeRecord(buf, pos, payloads[i]!)
    }
    this.write(buf.subarray(flushed, pos))
    this.lastIndex = first + n - 1
  }

  // ---------------------------------------------------------------------------------------------
  // hard state, snapshot, sync

  setHardState(hardState: HardState, durableCommit = false): void {
    this.assertOpen('setHardState')
    if (durableCommit) this.commitUrgent = true
    const {currentTerm, votedFor, commitIndex} = hardState
    assert(isNonNegInt(currentTerm) && isNonNegInt(votedFor) && isNonNegInt(commitIndex), () => `setHardState: bad hard state ${JSON.stringify(hardState)}`)
    assert(currentTerm >= this.hardState.currentTerm, () => `setHardState: currentTerm went back from ${this.hardState.currentTerm} to ${currentTerm}`)
    this.hardState = {currentTerm, votedFor, commitIndex}
    this.hardStateDirty = currentTerm !== this.persistedHardState.currentTerm || votedFor !== this.persistedHardState.votedFor
  }

  saveSnapshot(snapshot: Snapshot, discardLog: boolean, encoded?: EncodedSnapshot): void {
    this.assertOpen('saveSnapshot')
    const L = snapshot.lastIncludedIndex
    const T = snapshot.lastIncludedTerm
    assert(isNonNegInt(L) && isNonNegInt(T), () => `saveSnapshot: bad index/term ${L}/${T}`)
    assert(L >= this.snapIndex, () => `saveSnapshot: snapshot at ${L} is older than the stored one at ${this.snapIndex}`)
    // Two snapshots at one index cover the same committed entry, so they have the same term (the
    // newest file is found by name: index, then term).
    assert(L > this.snapIndex || T === this.snapTerm, () => `saveSnapshot: snapshot ${L}@${T} conflicts with the stored one ${this.snapIndex}@${this.snapTerm}`)

    // Everything written before the snapshot becomes durable with it: otherwise a crash could keep
    // the snapshot and lose an earlier (unsynced) truncation, a state that never existed. (Even
    // when the log is about to be dropped: a crash may stop the drop half way.)
    const dropAll = discardLog || L >= this.lastIndex
    this.syncLog()

    const name = snapshotFileName(L, T)
    // `encoded`: the record already prepared in steps (a large state); else encoded here at once.
    this.writeFileAtomically(name, (encoded ?? new SnapshotEncoder(snapshot).finish()).chunks)

    // The rename above precedes these unlinks in the directory's history, so no crash can keep
    // the deletions and lose the snapshot. Compaction deletes from the front (whatever a crash
    // leaves is below the snapshot, hence stale); dropping everything goes from the end.
    if (dropAll) {
      this.closeActive()
      this.unlinkFromTheEnd(this.segments)
      this.segments = []
    } else {
      while (this.segments[0]!.firstIndex + this.segments[0]!.count - 1 <= L) {
        this.fs.unlink(this.path(this.segments[0]!.name))
        this.segments.shift()
      }
    }
    if (this.snapName !== null && this.snapName !== name) this.fs.unlink(this.path(this.snapName))
    this.fs.fsyncDir(this.dir)
    this.dirDirty = false

    this.snapName = name
    this.snapIndex = L
    this.snapTerm = T
    if (dropAll) this.lastIndex = L
    this.durableMatch = this.lastIndex
    // Only now, with the snapshot durable, may the hard state claim a commitIndex up to it.
    if (this.hardStateDirty || this.hardState.commitIndex !== this.persistedHardState.commitIndex) {
      this.writeHardState()
      this.fs.fsyncDir(this.dir)
      this.dirDirty = false
    }
    this.checkInvariants()
  }

  sync(): void {
    this.assertOpen('sync')
    this.syncInternal()
  }

  /**
   * sync() with the log's fdatasync off the event loop, when the file port can (the rare steps
   * around it, a new term or vote first and a directory entry after, stay synchronous). Returns
   * false if it completed at once (nothing to sync asynchronously; `done` is not called), else
   * true: `done` is called once everything written before the call is durable, and no other
   * method may be called meanwhile.
   */
  syncAsync(done: (err: Error | null) => void): boolean {
    this.assertOpen('syncAsync')
    const fsyncAsync = this.fs.fsyncAsync
    if (!fsyncAsync || this.activeFd === null || !this.activeDirty) {
      this.syncInternal()
      return false
    }
    // Term/vote before entries, as in syncInternal.
    if (this.hardStateDirty) this.writeHardState()
    this.syncing = true
    this.activeDirty = false
    fsyncAsync.call(this.fs, this.activeFd, (err) => {
      this.syncing = false
      if (err) {
        // Nothing written since the last good sync may be trusted again (a failed fsync may have
        // dropped the dirty pages): this storage refuses every call from now on.
        this.activeDirty = true
        this.failed = err
        return done(err)
      }
      try {
        this.afterLogFsync()
      } catch (e) {
        return done(e as Error)
      }
      done(null)
    })
    return true
  }

  close(): void {
    if (this.closed) return
    assert(!this.syncing, () => 'SegmentLogStorage.close() while an asynchronous sync is in flight')
    this.closed = true
    // After a failed fsync nothing is synced or written again: the fds are just closed.
    if (this.failed !== null) return this.closeActive()
    if (!this.loaded) return
    this.syncInternal()
    // With the log durable, the latest commitIndex can be kept for the next start.
    if (this.hardState.commitIndex !== this.persistedHardState.commitIndex) {
      this.writeHardState()
      this.fs.fsyncDir(this.dir)
      this.dirDirty = false
    }
    this.closeActive()
  }

  /** The index range currently stored, for diagnostics and tests. */
  describe(): {snapshotIndex: number; snapshotTerm: number; lastIndex: number; segments: string[]} {
    return {
      snapshotIndex: this.snapIndex,
      snapshotTerm: this.snapTerm,
      lastIndex: this.lastIndex,
      segments: this.segments.map((s) => s.name),
    }
  }

  // ---------------------------------------------------------------------------------------------
  // internals

  private syncInternal(): void {
    // Term/vote before entries (a crash in between leaves a term at least as new as the log),
    // with a commitIndex that holds for the durable log as it was before this batch.
    if (this.hardStateDirty) this.writeHardState()
    this.syncLog()
    this.afterLogSync()
  }

  /** The rest of a sync once the active segment's data is durable (syncAsync's completion). */
  private afterLogFsync(): void {
    this.syncLog()
    this.afterLogSync()
  }

  private afterLogSync(): void {
    // A commitIndex that must be durable, and was held back for the log to become durable first.
    if (this.commitUrgent && this.persistedHardState.commitIndex < this.hardState.commitIndex) {
      this.writeHardState()
      this.fs.fsyncDir(this.dir)
      this.dirDirty = false
    }
    this.commitUrgent = false
  }

  /** fsyncs the active segment and the directory; afterwards the durable log is the live one. */
  private syncLog(): void {
    if (this.activeFd !== null && this.activeDirty) {
      this.fs.fsync(this.activeFd)
      this.activeDirty = false
    }
    if (this.dirDirty) {
      this.fs.fsyncDir(this.dir)
      this.dirDirty = false
    }
    this.durableMatch = this.lastIndex
  }

  /**
   * Writes the hard-state file (temp, fsync, rename); the directory fsync is the caller's. The
   * commitIndex written never exceeds durableMatch (see the header).
   */
  private writeHardState(): void {
    const commitIndex = this.mutant === 'commit-before-log' ? this.hardState.commitIndex : Math.min(this.hardState.commitIndex, this.durableMatch)
    const written = {...this.hardState, commitIndex}
    this.writeFileAtomically(HARD_STATE_FILE, encodeRecord(packr.pack(written)))
    this.persistedHardState = written
    this.hardStateDirty = false
  }

  /** Removes stored entries >= index (index > snapIndex, index <= lastIndex). */
  private truncateFrom(index: number): void {
    this.durableMatch = Math.min(this.durableMatch, index - 1)
    if (index === this.snapIndex + 1) {
      // Nothing stored after the snapshot survives: drop every segment rather than keep one that
      // holds only compacted entries. The next write starts a new segment at `index`.
      this.closeActive()
      this.unlinkFromTheEnd(this.segments)
      this.segments = []
      this.fs.fsyncDir(this.dir)
      this.dirDirty = false
      this.lastIndex = this.snapIndex
      return
    }
    let k = this.segments.length - 1
    while (k > 0 && this.segments[k]!.firstIndex > index) k--
    const seg = this.segments[k]!
    assert(seg.firstIndex <= index && index < seg.firstIndex + seg.count, () => `truncate: index ${index} not in segment ${seg.name}`)
    if (k < this.segments.length - 1) {
      this.closeActive()
      this.unlinkFromTheEnd(this.segments.splice(k + 1))
      // Durable before the truncation below can reach the disk: otherwise a crash could keep the
      // shortened segment and bring a deleted later one back, leaving a gap.
      this.fs.fsyncDir(this.dir)
      this.dirDirty = false
    }
    if (this.activeFd === null) this.activeFd = this.fs.openAppend(this.path(seg.name))
    const keep = index - seg.firstIndex
    const offset = seg.offsets[keep]!
    this.fs.truncate(this.activeFd, offset)
    seg.count = keep
    seg.bytes = offset
    this.activeDirty = true
    this.lastIndex = index - 1
  }

  /**
   * Deletes `segments` (a run that ends the log) last first, so that a crash part way, keeping any
   * prefix of the unlinks, still leaves a contiguous log: the same log cut shorter.
   */
  private unlinkFromTheEnd(segments: readonly Segment[]): void {
    for (let i = segments.length - 1; i >= 0; i--) this.fs.unlink(this.path(segments[i]!.name))
  }

  /** Fsyncs and closes the current segment (so no crash can leave a gap) and starts a new one. */
  private startSegment(firstIndex: number): Segment {
    if (this.activeFd !== null && this.activeDirty) this.fs.fsync(this.activeFd)
    this.closeActive()
    const name = segmentFileName(firstIndex)
    this.activeFd = this.fs.create(this.path(name))
    this.dirDirty = true
    const seg: Segment = {name, firstIndex, count: 0, bytes: 0, offsets: new Uint32Array(64)}
    this.segments.push(seg)
    return seg
  }

  private write(data: Uint8Array): void {
    if (data.length === 0) return
    assert(this.activeFd !== null, 'write: no active segment')
    this.fs.append(this.activeFd, data)
    this.activeDirty = true
  }

  private closeActive(): void {
    if (this.activeFd !== null) this.fs.close(this.activeFd)
    this.activeFd = null
    this.activeDirty = false
  }

  /** temp file, fsync, rename over `name`; the directory fsync is the caller's (dirDirty). */
  private writeFileAtomically(name: string, data: Uint8Array | Uint8Array[]): void {
    const tmp = this.path(name + TMP_SUFFIX)
    const fd = this.fs.create(tmp)
    try {
      for (const chunk of Array.isArray(data) ? data : [data]) this.fs.append(fd, chunk)
      this.fs.fsync(fd)
    } finally {
      this.fs.close(fd)
    }
    this.fs.rename(tmp, this.path(name))
    this.dirDirty = true
  }

  private readHardState(): HardState {
    const file = this.path(HARD_STATE_FILE)
    const buf = this.fs.readFile(file)
    const frame = checkFrame(buf, 0, true)
    if (!frame.ok) throw new StorageCorruptionError(file, 0, frame.reason)
    if (frame.end !== buf.length) throw new StorageCorruptionError(file, frame.end, 'trailing bytes after the record')
    const value = tryUnpack(buf, frame.payloadStart, frame.end) as Partial<HardState> | undefined
    if (
      value === undefined ||
      value === null ||
      typeof value !== 'object' ||
      !isNonNegInt(value.currentTerm) ||
      !isNonNegInt(value.votedFor) ||
      !isNonNegInt(value.commitIndex)
    ) {
      throw new StorageCorruptionError(file, RECORD_HEADER_BYTES, 'payload is not a hard state')
    }
    return {currentTerm: value.currentTerm, votedFor: value.votedFor, commitIndex: value.commitIndex}
  }

  private readSnapshot(name: string): {ok: true; snapshot: Snapshot} | {ok: false; offset: number; reason: string} {
    const buf = this.fs.readFile(this.path(name))
    const frame = checkFrame(buf, 0, true)
    if (!frame.ok) return {ok: false, offset: 0, reason: frame.reason}
    if (frame.end !== buf.length) return {ok: false, offset: frame.end, reason: 'trailing bytes after the record'}
    const value = tryUnpack(buf, frame.payloadStart, frame.end) as Partial<Snapshot> | undefined
    const [, idx, term] = SNAPSHOT_RE.exec(name)!
    if (
      value === undefined ||
      value === null ||
      typeof value !== 'object' ||
      value.lastIncludedIndex !== Number(idx) ||
      value.lastIncludedTerm !== Number(term) ||
      !('data' in value)
    ) {
      return {ok: false, offset: RECORD_HEADER_BYTES, reason: 'payload is not the snapshot the file name announces'}
    }
    if (value.config !== undefined && membershipProblem(value.config) !== null) {
      return {ok: false, offset: RECORD_HEADER_BYTES, reason: `the snapshot's configuration is malformed: ${membershipProblem(value.config)}`}
    }
    const snapshot: Snapshot = {lastIncludedIndex: value.lastIncludedIndex, lastIncludedTerm: value.lastIncludedTerm, data: value.data}
    if (value.config !== undefined) snapshot.config = value.config
    return {ok: true, snapshot}
  }

  private path(name: string): string {
    return joinPath(this.dir, name)
  }

  private assertOpen(what: string): void {
    assert(this.loaded, () => `SegmentLogStorage.${what}() before load()`)
    assert(!this.closed, () => `SegmentLogStorage.${what}() after close()`)
    assert(!this.syncing, () => `SegmentLogStorage.${what}() while an asynchronous sync is in flight`)
    assert(this.failed === null, () => `SegmentLogStorage.${what}() after a failed fsync (${this.failed!.message})`)
  }

  /** Whether a syncAsync has not completed yet. */
  get syncInFlight(): boolean {
    return this.syncing
  }

  private checkInvariants(): void {
    const last = this.segments.at(-1)
    if (last === undefined) {
      assert(this.lastIndex === this.snapIndex, () => `no segments but lastIndex ${this.lastIndex} != snapshot ${this.snapIndex}`)
      return
    }
    assert(
      last.firstIndex + last.count - 1 === this.lastIndex,
      () => `last segment ${last.name} ends at ${last.firstIndex + last.count - 1}, lastIndex is ${this.lastIndex}`,
    )
    const first = this.segments[0]!
    assert(first.firstIndex <= this.snapIndex + 1, () => `segment ${first.name} starts after the snapshot at ${this.snapIndex}`)
    for (let i = 1; i < this.segments.length; i++) {
      const prev = this.segments[i - 1]!
      assert(this.segments[i]!.firstIndex === prev.firstIndex + prev.count, () => `segments ${prev.name} and ${this.segments[i]!.name} are not contiguous`)
    }
  }
}

/** Decodes an Entry, or returns why it could not. */
function decodeEntry(buf: Uint8Array, start: number, end: number): Entry | string {
  const value = tryUnpack(buf, start, end) as Partial<Entry> | undefined
  if (value === undefined) return 'undecodable payload (checksum matched)'
  if (value === null || typeof value !== 'object' || !isNonNegInt(value.term) || !Number.isSafeInteger(value.index) || typeof value.type !== 'string') {
    return 'payload is not an entry (checksum matched)'
  }
  return value as Entry
}

function tryUnpack(buf: Uint8Array, start: number, end: number): unknown {
  try {
    // start/end rather than a subarray: msgpackr caches its DataView on the buffer object, so
    // decoding a whole segment this way allocates no view per record.
    return unpackr.unpack(buf, {start, end})
  } catch {
    return undefined
  }
}

/**
 * The offset of the first complete, checksum-valid record at or after `from` holding an entry with
 * an index above `badIndex` (the index the damaged record should have held), or -1. Such a record
 * after damage means the damage is not a torn tail: later writes reached the disk.
 */
function findValidRecord(buf: Uint8Array, from: number, badIndex: number): number {
  const view = dataViewOf(buf)
  for (let p = from; p + RECORD_HEADER_BYTES < buf.length; p++) {
    const frame = checkFrame(buf, p, true, view)
    if (!frame.ok) continue
    const entry = decodeEntry(buf, frame.payloadStart, frame.end)
    if (typeof entry !== 'string' && entry.index > badIndex) return p
  }
  return -1
}

function pushOffset(seg: Segment, offset: number): void {
  if (seg.count === seg.offsets.length) {
    const grown = new Uint32Array(seg.offsets.length * 2)
    grown.set(seg.offsets)
    seg.offsets = grown
  }
  seg.offsets[seg.count++] = offset
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

function pad20(n: number): string {
  assert(Number.isSafeInteger(n) && n >= 0, () => `bad file index ${n}`)
  return String(n).padStart(20, '0')
}
