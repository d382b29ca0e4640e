// SegmentLogStorage scenarios on the in-memory disk: what goes in comes back after a reopen,
// conflicting suffixes are cut, snapshots compact, a torn tail is repaired and logged, and any other
// damage stops the load with an error naming the file and the byte offset.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryFs} from '../../src/storage/memory-fs.js'
import {StorageCorruptionError} from '../../src/storage/errors.js'
import {SegmentLogStorage, segmentFileName, snapshotFileName, type StorageMutant} from '../../src/storage/segment-log.js'
import {SimulatedCrash} from '../../src/storage/memory-fs.js'
import {InvariantError} from '../../src/lib/assert.js'
import {Prng} from '../../src/lib/prng.js'
import {asyncSyncDisk, DIR, entry, open, range, reopen, segmentFiles} from './helpers.js'

const SMALL = {segmentBytesMax: 200}

function freshWith(fn: (s: SegmentLogStorage) => void, opts: {segmentBytesMax?: number} = SMALL): MemoryFs {
  const fs = new MemoryFs()
  const {storage} = open(fs, opts)
  fn(storage)
  storage.close()
  return fs
}

function recordOffsets(buf: Uint8Array): number[] {
  const offsets: number[] = []
  let off = 0
  while (off < buf.length) {
    offsets.push(off)
    off += 8 + (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24))
  }
  return offsets
}

function flipByte(fs: MemoryFs, path: string, offset: number): void {
  const buf = fs.readFile(path).slice()
  buf[offset]! ^= 0x5a
  fs.setFile(path, buf)
}

test('a fresh directory loads empty with the default hard state', () => {
  const {state, lines} = open(new MemoryFs())
  assert.deepEqual(state, {hardState: {currentTerm: 0, votedFor: 0, commitIndex: 0}, snapshot: null, entries: []})
  assert.deepEqual(lines, [])
})

test('appended entries and hard state come back after a reopen, in one segment or many', () => {
  for (const opts of [{}, SMALL, {segmentBytesMax: 1}] as {segmentBytesMax?: number}[]) {
    const fs = new MemoryFs()
    let {storage} = open(fs, opts)
    const data = (i: number) => (i % 3 === 0 ? {op: 'put', key: `k${i}`, value: 'x'.repeat(i)} : `v${i}`)
    storage.append(range(1, 5, 1, data))
    storage.append(range(6, 40, 2, data))
    storage.append([{term: 2, index: 41, type: 'noop'}])
    storage.setHardState({currentTerm: 2, votedFor: 3, commitIndex: 40})
    storage.sync()
    const reopened = reopen(fs, storage, opts)
    assert.deepEqual(reopened.state.entries, [...range(1, 5, 1, data), ...range(6, 40, 2, data), {term: 2, index: 41, type: 'noop'}])
    assert.deepEqual(reopened.state.hardState, {currentTerm: 2, votedFor: 3, commitIndex: 40})
    assert.equal(reopened.state.snapshot, null)
    assert.deepEqual(reopened.lines, [])
    if (opts === SMALL) assert.ok(segmentFiles(fs).length > 3, 'small segments roll over')
    if (opts.segmentBytesMax === 1) assert.equal(segmentFiles(fs).length, 41, 'one record per segment')
    // and appending continues where it left off
    storage = reopened.storage
    storage.append(range(42, 43, 2))
    assert.deepEqual(reopen(fs, storage, opts).state.entries.at(-1), entry(43, 2))
  }
})

test('binary entry data round trips byte for byte', () => {
  const fs = new MemoryFs()
  const {storage} = open(fs)
  const blob = new Uint8Array([0, 1, 2, 255, 254])
  storage.append([entry(1, 1, {blob})])
  const {state} = reopen(fs, storage)
  assert.deepEqual([...(state.entries[0]!.data as {blob: Uint8Array}).blob], [...blob])
})

test('a conflicting suffix is cut across segment boundaries and later segments are deleted', () => {
  const fs = new MemoryFs()
  let {storage} = open(fs, SMALL)
  storage.append(range(1, 30, 1))
  storage.sync()
  const before = segmentFiles(fs)
  assert.ok(before.length >= 4)
  // index 12 lies in a middle segment: the leader of term 2 disagrees from there on
  storage.append(range(12, 14, 2))
  storage.sync()
  const after = segmentFiles(fs)
  assert.ok(after.length < before.length, `${after} vs ${before}`)
  const reopened = reopen(fs, storage, SMALL)
  assert.deepEqual(reopened.state.entries, [...range(1, 11, 1), ...range(12, 14, 2)])
  storage = reopened.storage

  // cutting at the first index of a segment leaves that segment empty, then refills it
  const firstOfLast = Number(/log-(\d+)/.exec(segmentFiles(fs).at(-1)!)![1])
  storage.append([entry(firstOfLast, 3)])
  assert.deepEqual(reopen(fs, storage, SMALL).state.entries.at(-1), entry(firstOfLast, 3))
})

test('a conflicting suffix inside the active segment is cut in place', () => {
  const fs = new MemoryFs()
  const {storage} = open(fs)
  storage.append(range(1, 10, 1))
  storage.append(range(8, 9, 2))
  storage.append(range(10, 12, 2))
  assert.deepEqual(reopen(fs, storage).state.entries, [...range(1, 7, 1), ...range(8, 12, 2)])
})

test('snapshot compaction deletes segments wholly at or below it; a reload returns only later entries', () => {
  const fs = new MemoryFs()
  const {storage} = open(fs, SMALL)
  storage.append(range(1, 30, 1))
  storage.sync()
  const snapshot = {lastIncludedIndex: 17, lastIncludedTerm: 1, data: {kv: {a: 1}}}
  storage.saveSnapshot(snapshot, false)
  const firstIndexes = segmentFiles(fs).map((n) => Number(/log-(\d+)/.exec(n)![1]))
  assert.ok(firstIndexes[0]! <= 18, 'the segment holding 18 is kept')
  assert.ok(firstIndexes.length < 2 || firstIndexes[1]! > 18, 'every segment wholly below 18 is gone')
  assert.deepEqual(
    fs.readdir(DIR).filter((n) => n.endsWith('.snap')),
    [snapshotFileName(17, 1)],
  )

  const {state, lines, storage: s2} = reopen(fs, storage, SMALL)
  assert.deepEqual(state.snapshot, snapshot)
  assert.deepEqual(state.entries, range(18, 30, 1))
  assert.deepEqual(lines, [])

  // a newer snapshot replaces the older file
  s2.append(range(31, 35, 2))
  s2.saveSnapshot({lastIncludedIndex: 32, lastIncludedTerm: 2, data: 'later'}, false)
  const r3 = reopen(fs, s2, SMALL)
  assert.deepEqual(
    fs.readdir(DIR).filter((n) => n.endsWith('.snap')),
    [snapshotFileName(32, 2)],
  )
  assert.deepEqual(r3.state.entries, range(33, 35, 2))
  // appending below the snapshot is a broken invariant
  assert.throws(() => r3.storage.append([entry(32, 2)]), InvariantError)
})

test('discardLog drops every stored entry; the next append starts a new segment', () => {
  for (const L of [5, 20, 50]) {
    const fs = new MemoryFs()
    const {storage} = open(fs, SMALL)
    storage.append(range(1, 20, 1))
    storage.sync()
    storage.saveSnapshot({lastIncludedIndex: L, lastIncludedTerm: 7, data: 'from leader'}, true)
    assert.deepEqual(segmentFiles(fs), [])
    let r = reopen(fs, storage, SMALL)
    assert.deepEqual(r.state.entries, [])
    assert.equal(r.state.snapshot?.lastIncludedIndex, L)
    r.storage.append(range(L + 1, L + 3, 7))
    assert.deepEqual(segmentFiles(fs), [segmentFileName(L + 1)])
    r = reopen(fs, r.storage, SMALL)
    assert.deepEqual(r.state.entries, range(L + 1, L + 3, 7))
    assert.throws(() => r.storage.append([entry(L + 5, 7)]), InvariantError, 'a gap is refused')
  }
})

test('hard state round trips; term and vote are durable at sync, commitIndex lazily', () => {
  const fs = new MemoryFs()
  let {storage} = open(fs)
  storage.append(range(1, 12, 1))
  storage.sync()
  storage.setHardState({currentTerm: 5, votedFor: 2, commitIndex: 3})
  storage.sync()
  storage.setHardState({currentTerm: 5, votedFor: 2, commitIndex: 9})
  storage.sync()
  const fsyncs = fs.stats.fsyncs
  storage.sync()
  assert.equal(fs.stats.fsyncs, fsyncs, 'nothing to do, nothing synced')
  fs.crash(new Prng(1))
  ;({storage} = open(fs))
  // the crash lost the lazily persisted commitIndex, never the term or vote
  const {state} = reopen(fs, storage)
  assert.deepEqual(state.hardState, {currentTerm: 5, votedFor: 2, commitIndex: 3})
  // a clean close persists commitIndex too
  const r = open(fs)
  r.storage.setHardState({currentTerm: 6, votedFor: 0, commitIndex: 4})
  r.storage.setHardState({currentTerm: 6, votedFor: 0, commitIndex: 11})
  assert.deepEqual(reopen(fs, r.storage).state.hardState, {currentTerm: 6, votedFor: 0, commitIndex: 11})
  assert.throws(() => open(fs).storage.setHardState({currentTerm: 5, votedFor: 0, commitIndex: 0}), InvariantError)
})

test('saveSnapshot is a sync point: entries, hard state and commitIndex before it survive a crash', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const fs = new MemoryFs()
    const {storage} = open(fs, SMALL)
    storage.append(range(1, 12, 1))
    storage.append(range(9, 10, 2)) // an unsynced truncation, too
    storage.setHardState({currentTerm: 2, votedFor: 1, commitIndex: 8})
    storage.saveSnapshot({lastIncludedIndex: 5, lastIncludedTerm: 1, data: 'five'}, false)
    fs.crash(new Prng(seed))
    const {state} = open(fs, SMALL)
    assert.deepEqual(state.hardState, {currentTerm: 2, votedFor: 1, commitIndex: 8})
    assert.deepEqual(state.entries, [...range(6, 8, 1), ...range(9, 10, 2)])
  }
})

/**
 * Issue #12, bug 1: a follower at term 3 holds the uncommitted 3@2 4@2 (durable); in one batch it
 * truncates them for 3@3 4@3 from the leader, learns commitIndex 4, and votes in term 4. The
 * process dies somewhere inside that sync, at every possible call, and the power fails with
 * every draw of what the disk kept. A commitIndex on disk must never cover entries that are not
 * the committed ones.
 */
function commitOverOldEntries(mutant?: StorageMutant): string[] {
  const bad: string[] = []
  for (let calls = 0; calls <= 12; calls++) {
    for (let seed = 1; seed <= 12; seed++) {
      const fs = new MemoryFs()
      const {storage} = open(fs, {mutant})
      storage.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)])
      storage.setHardState({currentTerm: 3, votedFor: 1, commitIndex: 2})
      storage.sync()
      storage.append([entry(3, 3, 'new-3'), entry(4, 3, 'new-4')])
      storage.setHardState({currentTerm: 4, votedFor: 5, commitIndex: 4})
      fs.armCrash(calls)
      try {
        storage.sync()
        fs.disarmCrash()
      } catch (err) {
        if (!(err instanceof SimulatedCrash)) throw err
      }
      fs.crash(new Prng(seed))
      const {state} = open(fs, {mutant})
      const c = state.hardState.commitIndex
      const covered = state.entries.filter((e) => e.index <= c && e.index >= 3)
      if (covered.some((e) => e.term !== 3))
        bad.push(`crash after ${calls} calls, seed ${seed}: commit ${c} over ${covered.map((e) => `${e.index}@${e.term}`)}`)
    }
  }
  return bad
}

test('commitIndex is never durable before the truncation and entries it points into (#12 bug 1)', () => {
  assert.deepEqual(commitOverOldEntries(), [])
  assert.ok(commitOverOldEntries('commit-before-log').length > 0, 'the broken ordering is caught by this test')
})

/**
 * Issue #12, bug 3: what load() reads back may be only in the page cache (the process was killed
 * before its fsync). The node acts on it — acknowledges those entries, repeats that vote — so a
 * power loss after the restart must not take it away.
 */
function lostAfterKill(mutant?: StorageMutant): string[] {
  const bad: string[] = []
  for (let calls = 0; calls <= 8; calls++) {
    for (let seed = 1; seed <= 12; seed++) {
      const fs = new MemoryFs()
      const first = open(fs, {mutant}).storage
      first.append(range(1, 3, 1))
      first.sync()
      // (a) entries written, not synced; (b) a vote whose sync dies after the rename.
      first.append(range(4, 6, 1))
      first.setHardState({currentTerm: 2, votedFor: 1, commitIndex: 0})
      fs.armCrash(calls)
      try {
        first.sync()
        fs.disarmCrash()
      } catch (err) {
        if (!(err instanceof SimulatedCrash)) throw err
      }
      fs.kill()
      const seen = open(fs, {mutant}).state
      fs.crash(new Prng(seed))
      const after = open(fs, {mutant}).state
      if (after.entries.length < seen.entries.length) bad.push(`calls ${calls}, seed ${seed}: entries ${seen.entries.length} -> ${after.entries.length}`)
      if (after.hardState.votedFor !== seen.hardState.votedFor || after.hardState.currentTerm !== seen.hardState.currentTerm) {
        bad.push(`calls ${calls}, seed ${seed}: vote ${JSON.stringify(seen.hardState)} -> ${JSON.stringify(after.hardState)}`)
      }
    }
  }
  return bad
}

test('what load() read back is durable before the node acts on it (#12 bug 3)', () => {
  assert.deepEqual(lostAfterKill(), [])
  const broken = lostAfterKill('trust-page-cache')
  assert.ok(broken.some((b) => b.includes('entries')) && broken.some((b) => b.includes('vote')), broken.join('\n'))
})

test('sync is one fsync for a batch; a new segment adds one directory fsync', () => {
  const fs = new MemoryFs()
  const {storage} = open(fs, {segmentBytesMax: 10_000})
  storage.append(range(1, 1, 1))
  storage.sync()
  const {appends} = fs.stats
  let {fsyncs, dirFsyncs} = fs.stats
  storage.append(range(2, 100, 1))
  assert.equal(fs.stats.appends, appends + 1, 'one write per append call')
  storage.sync()
  assert.equal(fs.stats.fsyncs, fsyncs + 1)
  assert.equal(fs.stats.dirFsyncs, dirFsyncs)
  ;({fsyncs, dirFsyncs} = fs.stats)
  storage.append(range(101, 400, 1)) // rolls over: the old segment is fsynced before the new one exists
  storage.sync()
  assert.ok(segmentFiles(fs).length > 1)
  assert.equal(fs.stats.dirFsyncs, dirFsyncs + 1)
})

test('a torn last record is cut off at every byte offset, and logged', () => {
  const fs = freshWith((s) => s.append(range(1, 5, 3, (i) => ({n: i, pad: 'p'.repeat(i * 3)}))), {})
  const path = `${DIR}/${segmentFileName(1)}`
  const full = fs.readFile(path).slice()
  const lastStart = recordOffsets(full).at(-1)!
  for (let cut = lastStart; cut < full.length; cut++) {
    fs.setFile(path, full.subarray(0, cut))
    const {state, lines, storage} = open(fs)
    assert.deepEqual(
      state.entries,
      range(1, 4, 3, (i) => ({n: i, pad: 'p'.repeat(i * 3)})),
      `cut at ${cut}`,
    )
    if (cut === lastStart) {
      assert.deepEqual(lines, [], 'a clean record boundary needs no repair')
    } else {
      assert.deepEqual(lines, [`torn tail repaired: ${path} at offset ${lastStart} (${cut - lastStart} bytes dropped)`])
    }
    assert.equal(fs.readFile(path).length, lastStart, 'the file was truncated')
    storage.append([entry(5, 4)])
    assert.deepEqual(reopen(fs, storage).state.entries.at(-1), entry(5, 4), `append after repair, cut at ${cut}`)
  }
})

test('a bad checksum in the final record with nothing after it is a torn tail', () => {
  const fs = freshWith((s) => s.append(range(1, 5, 1)), {})
  const path = `${DIR}/${segmentFileName(1)}`
  const last = recordOffsets(fs.readFile(path)).at(-1)!
  flipByte(fs, path, last + 10)
  const {state, lines} = open(fs)
  assert.deepEqual(state.entries, range(1, 4, 1))
  assert.match(lines[0]!, /^torn tail repaired: .*log-00000000000000000001\.seg at offset \d+ \(\d+ bytes dropped\)$/)
})

test('corruption in the middle of the last segment is an error naming the file and offset', () => {
  const fs = freshWith((s) => s.append(range(1, 10, 1)), {})
  const path = `${DIR}/${segmentFileName(1)}`
  const third = recordOffsets(fs.readFile(path))[2]!
  const pristine = fs.readFile(path).slice()
  for (const at of [third + 12 /* payload */, third + 5 /* crc */, third + 1 /* length */]) {
    fs.setFile(path, pristine)
    flipByte(fs, path, at)
    assert.throws(
      () => open(fs),
      (err: unknown) =>
        err instanceof StorageCorruptionError &&
        err.file === path &&
        err.offset === third &&
        err.message.includes(path) &&
        err.message.includes(`offset ${third}`),
    )
    assert.deepEqual([...fs.readFile(path)].length, pristine.length, 'nothing was cut')
  }
})

test('corruption in a segment that is not the last is an error, even in its final record', () => {
  const fs = freshWith((s) => s.append(range(1, 20, 1)))
  const [first] = segmentFiles(fs)
  const path = `${DIR}/${first}`
  const last = recordOffsets(fs.readFile(path)).at(-1)!
  flipByte(fs, path, last + 9)
  assert.throws(
    () => open(fs, SMALL),
    (err: unknown) => err instanceof StorageCorruptionError && err.file === path && err.offset === last,
  )
  // a truncated non-last segment is no torn tail either
  const fs2 = freshWith((s) => s.append(range(1, 20, 1)))
  const p2 = `${DIR}/${segmentFiles(fs2)[0]}`
  fs2.setFile(p2, fs2.readFile(p2).subarray(0, fs2.readFile(p2).length - 3))
  assert.throws(() => open(fs2, SMALL), StorageCorruptionError)
})

test('a missing segment (a gap in indexes) is an error', () => {
  const fs = freshWith((s) => s.append(range(1, 30, 1)))
  const names = segmentFiles(fs)
  fs.unlink(`${DIR}/${names[1]}`)
  assert.throws(
    () => open(fs, SMALL),
    (err: unknown) => err instanceof StorageCorruptionError && err.file === `${DIR}/${names[2]}` && /gap/.test(err.message),
  )
  const fs2 = freshWith((s) => s.append(range(1, 30, 1)))
  fs2.unlink(`${DIR}/${segmentFiles(fs2)[0]}`)
  assert.throws(() => open(fs2, SMALL), /entries 1\.\.\d+ are missing/)
})

test('an unreadable snapshot is an error when it is the only one, a logged fallback otherwise', () => {
  const fs = freshWith((s) => {
    s.append(range(1, 30, 1))
    s.saveSnapshot({lastIncludedIndex: 10, lastIncludedTerm: 1, data: 'ten'}, false)
  })
  const snap10 = `${DIR}/${snapshotFileName(10, 1)}`
  const good10 = fs.readFile(snap10).slice()
  flipByte(fs, snap10, 9)
  assert.throws(
    () => open(fs, SMALL),
    (err: unknown) => err instanceof StorageCorruptionError && err.file === snap10 && err.offset === 0,
  )

  // an older readable snapshot next to a damaged newer one (possible only after a crash in between)
  fs.setFile(snap10, good10)
  const segments = new Map(segmentFiles(fs).map((n) => [n, fs.readFile(`${DIR}/${n}`).slice()]))
  const {storage} = open(fs, SMALL)
  storage.saveSnapshot({lastIncludedIndex: 15, lastIncludedTerm: 1, data: 'fifteen'}, false)
  storage.close()
  const snap15 = `${DIR}/${snapshotFileName(15, 1)}`
  flipByte(fs, snap15, 20)
  fs.setFile(snap10, good10)
  // without the segments the newer snapshot compacted away, falling back leaves a gap
  assert.throws(() => open(fs, SMALL), /entries 11\.\.\d+ are missing/)
  // with them back, the older snapshot and the full log load
  fs.rename(`${snap15}.corrupt`, snap15)
  for (const [name, data] of segments) fs.setFile(`${DIR}/${name}`, data)
  const r = open(fs, SMALL)
  assert.equal(r.state.snapshot?.lastIncludedIndex, 10)
  assert.deepEqual(r.state.entries, range(11, 30, 1))
  assert.match(r.lines[0]!, /unreadable snapshot .*snapshot-0+15-0+1\.snap at offset 0 .*falling back/)
  assert.ok(fs.readdir(DIR).includes(`${snapshotFileName(15, 1)}.corrupt`))
})

test('a damaged hard-state file is an error', () => {
  const fs = freshWith((s) => {
    s.setHardState({currentTerm: 3, votedFor: 1, commitIndex: 0})
    s.sync()
  })
  flipByte(fs, `${DIR}/hardstate`, 9)
  assert.throws(
    () => open(fs),
    (err: unknown) => err instanceof StorageCorruptionError && err.file === `${DIR}/hardstate`,
  )
})

test('leftover temporary files and segments below the snapshot are removed on load, with a log line', () => {
  // The state a crash inside compaction can leave: the snapshot renamed in, the deletion of the
  // segments below it (front first) only partly durable.
  const fs = new MemoryFs()
  const {storage} = open(fs, SMALL)
  storage.append(range(1, 30, 1))
  storage.sync()
  const before = new Map(segmentFiles(fs).map((n) => [n, fs.readFile(`${DIR}/${n}`).slice()]))
  storage.saveSnapshot({lastIncludedIndex: 20, lastIncludedTerm: 1, data: null}, false)
  storage.close()
  const deleted = [...before.keys()].filter((n) => !segmentFiles(fs).includes(n))
  assert.ok(deleted.length >= 2)
  for (const name of deleted.slice(-2)) fs.setFile(`${DIR}/${name}`, before.get(name)!) // the last two unlinks undone
  fs.setFile(`${DIR}/hardstate.tmp`, new Uint8Array([1, 2, 3]))
  const {state, lines} = open(fs, SMALL)
  assert.deepEqual(state.entries, range(21, 30, 1))
  assert.deepEqual(
    fs.readdir(DIR).filter((n) => n.endsWith('.tmp') || deleted.includes(n)),
    [],
  )
  assert.equal(lines.length, 3, lines.join('\n'))
  assert.match(lines[0]!, /removing leftover temporary file: .*hardstate\.tmp/)
  assert.match(lines[1]!, /removing segment wholly covered by the snapshot at 20/)
})

test('a stored entry at the snapshot index with another term finishes an interrupted discard', () => {
  // The state a crash inside saveSnapshot(discardLog) can leave: the new snapshot renamed in, the
  // old segments not yet deleted.
  const fs = freshWith((s) => s.append(range(1, 30, 1)), {})
  const old = fs.readFile(`${DIR}/${segmentFileName(1)}`).slice()
  const {storage} = open(fs)
  storage.saveSnapshot({lastIncludedIndex: 12, lastIncludedTerm: 4, data: 'leader'}, true)
  storage.close()
  fs.setFile(`${DIR}/${segmentFileName(1)}`, old)
  const r = open(fs)
  assert.deepEqual(r.state.entries, [])
  assert.match(r.lines.join('\n'), /interrupted log discard/)
  assert.deepEqual(segmentFiles(fs), [])
})

test('misuse is a broken invariant', () => {
  const fs = new MemoryFs()
  const s = new SegmentLogStorage(fs, DIR, {log: () => {}})
  assert.throws(() => s.append([entry(1, 1)]), InvariantError, 'before load')
  s.load()
  assert.throws(() => s.append([entry(2, 1)]), InvariantError, 'gap')
  assert.throws(() => s.append([entry(1, 1), entry(3, 1)]), InvariantError, 'not contiguous')
  s.close()
  assert.throws(() => s.sync(), InvariantError, 'after close')
})

test('syncAsync: the log is durable only when the fsync off the loop completes; a crash before loses it; nothing else may run meanwhile', () => {
  const {fs, completions} = asyncSyncDisk()
  const {storage} = open(fs)
  storage.append(range(1, 3, 1))
  storage.sync()
  storage.append(range(4, 6, 1))
  const done: (Error | null)[] = []
  assert.equal(
    storage.syncAsync((err) => done.push(err)),
    true,
  )
  assert.equal(storage.syncInFlight, true)
  assert.throws(() => storage.append(range(7, 7, 1)), InvariantError)
  assert.throws(() => storage.sync(), InvariantError)
  assert.throws(() => storage.close(), InvariantError)
  // Power loss while the fsync is in flight: only entries 1..3 were durable.
  const lost = fs.clone()
  lost.crash(new Prng(1), {dataOps: 'none'})
  assert.deepEqual(open(lost).state.entries, range(1, 3, 1))
  assert.equal(completions.length, 1)
  completions[0]!()
  assert.deepEqual(done, [null])
  assert.equal(storage.syncInFlight, false)
  const after = fs.clone()
  after.crash(new Prng(1), {dataOps: 'none'})
  assert.deepEqual(open(after).state.entries, range(1, 6, 1))
  // Nothing written since the last sync: it completes at once and does not call back.
  assert.equal(
    storage.syncAsync(() => assert.fail('called back')),
    false,
  )
  storage.close()
})

test('syncAsync: a crash or kill while the fsync is in flight cancels it; the completion never lands', () => {
  for (const end of ['crash', 'kill'] as const) {
    const {fs, completions} = asyncSyncDisk()
    const {storage} = open(fs)
    storage.append(range(1, 2, 1))
    storage.sync()
    storage.append(range(3, 4, 1))
    let called = false
    assert.ok(storage.syncAsync(() => (called = true)))
    if (end === 'crash') fs.crash(new Prng(2), {dataOps: 'none'})
    else fs.kill()
    completions[0]!()
    assert.equal(called, false, end)
    const power = fs.clone()
    power.crash(new Prng(3), {dataOps: 'none'})
    assert.deepEqual(open(power).state.entries, range(1, 2, 1), `${end}: the cancelled fsync made nothing more durable`)
  }
})

test('syncAsync: after a failed fsync the storage refuses everything; close() only closes (fsyncgate)', () => {
  const fs = new MemoryFs()
  let fail: ((err: Error) => void) | null = null
  fs.fsyncAsync = (_fd, done) => (fail = done)
  const {storage} = open(fs)
  storage.append(range(1, 2, 1))
  storage.setHardState({currentTerm: 1, votedFor: 1, commitIndex: 2})
  const errors: (Error | null)[] = []
  assert.ok(storage.syncAsync((err) => errors.push(err)))
  fail!(new Error('EIO: i/o error'))
  assert.equal(errors[0]?.message, 'EIO: i/o error')
  assert.throws(() => storage.append(range(3, 3, 1)), /after a failed fsync/)
  assert.throws(() => storage.sync(), /after a failed fsync/)
  const fsyncs = fs.stats.fsyncs
  storage.close()
  assert.equal(fs.stats.fsyncs, fsyncs, 'close() after the failure claims nothing durable')
})
