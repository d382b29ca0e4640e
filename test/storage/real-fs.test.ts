// The same round trip on real files in a temporary directory: append across segments, truncate a
// conflicting suffix, hard state, snapshot compaction, torn tail repair; removed afterwards.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {RealFs} from '../../src/storage/real-fs.js'
import {segmentFileName} from '../../src/storage/segment-log.js'
import {open, range, reopen} from './helpers.js'

test('real files: append, truncate, hard state, snapshot and torn-tail repair survive reopening', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-storage-'))
  try {
    const dir = path.join(tmp, 'node1', 'log')
    const realFs = new RealFs()
    const opts = {segmentBytesMax: 300}
    let r = open(realFs, opts, dir)
    assert.deepEqual(r.state.entries, [])
    r.storage.append(range(1, 40, 1))
    r.storage.append(range(25, 30, 2)) // cut a conflicting suffix across segments
    r.storage.setHardState({currentTerm: 2, votedFor: 1, commitIndex: 24})
    r.storage.sync()
    r = reopen(realFs, r.storage, opts, dir)
    assert.deepEqual(r.state.entries, [...range(1, 24, 1), ...range(25, 30, 2)])
    assert.deepEqual(r.state.hardState, {currentTerm: 2, votedFor: 1, commitIndex: 24})

    r.storage.saveSnapshot({lastIncludedIndex: 20, lastIncludedTerm: 1, data: {keys: ['a', 'b']}}, false)
    r = reopen(realFs, r.storage, opts, dir)
    assert.deepEqual(r.state.snapshot, {lastIncludedIndex: 20, lastIncludedTerm: 1, data: {keys: ['a', 'b']}})
    assert.deepEqual(r.state.entries, [...range(21, 24, 1), ...range(25, 30, 2)])
    r.storage.close()

    // tear the last record of the last segment
    const segments = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort()
    assert.ok(segments.length > 1 && !segments.includes(segmentFileName(1)), 'compaction removed the first segments')
    const last = path.join(dir, segments.at(-1)!)
    const size = fs.statSync(last).size
    fs.truncateSync(last, size - 3)
    r = open(realFs, opts, dir)
    assert.deepEqual(r.state.entries, [...range(21, 24, 1), ...range(25, 29, 2)])
    assert.match(r.lines[0]!, /^torn tail repaired: .*\.seg at offset \d+ \(\d+ bytes dropped\)$/)
    r.storage.append(range(30, 31, 2))
    r = reopen(realFs, r.storage, opts, dir)
    assert.deepEqual(r.state.entries.at(-1), range(31, 31, 2)[0])
    assert.deepEqual(r.lines, [])
    r.storage.close()
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')),
      [],
    )
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true})
  }
})
