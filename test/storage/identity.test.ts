// A data directory knows which node of which cluster it belongs to: an empty one (a lost or wiped
// disk), another cluster's or another node's is refused, so that such a node never votes or counts
// toward a quorum as if it held the log it once acknowledged (issue #18).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryFs} from '../../src/storage/memory-fs.js'
import {StorageIdentityError} from '../../src/storage/errors.js'
import {readIdentity, writeIdentity} from '../../src/storage/identity.js'
import {SegmentLogStorage} from '../../src/storage/segment-log.js'
import {Prng} from '../../src/lib/prng.js'
import {range} from './helpers.js'

const ME = {clusterId: 'c0ffee', nodeId: 3}
const open = (fs: MemoryFs, dir: string, lines: string[] = []) => new SegmentLogStorage(fs, dir, {identity: ME, log: (l) => lines.push(l)}).load()

function refusal(fn: () => unknown): StorageIdentityError {
  try {
    fn()
  } catch (err) {
    if (err instanceof StorageIdentityError) return err
    throw err
  }
  return assert.fail('expected a StorageIdentityError')
}

test('a directory created with its identity loads; the identity survives a power loss once written', () => {
  const fs = new MemoryFs()
  writeIdentity(fs, '/d', ME)
  fs.crash(new Prng(1))
  assert.deepEqual(readIdentity(fs, '/d'), ME)
  const s = new SegmentLogStorage(fs, '/d', {identity: ME})
  s.load()
  s.append(range(1, 3, 1))
  s.close()
  assert.equal(open(fs, '/d').entries.length, 3)
})

test('an empty or missing directory (a wiped disk) is refused, saying why', () => {
  const fs = new MemoryFs()
  const e = refusal(() => open(fs, '/gone'))
  assert.equal(e.reason, 'missing')
  assert.match(e.message, /holds no data of node 3: its disk was lost or wiped/)
})

test("another cluster's directory, or another node's, is refused", () => {
  const fs = new MemoryFs()
  writeIdentity(fs, '/other-cluster', {clusterId: 'beef', nodeId: 3})
  writeIdentity(fs, '/other-node', {clusterId: 'c0ffee', nodeId: 2})
  assert.equal(refusal(() => open(fs, '/other-cluster')).reason, 'foreign')
  const swapped = refusal(() => open(fs, '/other-node'))
  assert.equal(swapped.reason, 'other-node')
  assert.match(swapped.message, /holds the data of node 2, not of node 3/)
})

test('a damaged identity file is refused; a directory with Raft state but no identity (older raftctl) is adopted', () => {
  const fs = new MemoryFs()
  fs.mkdirp('/damaged')
  fs.setFile('/damaged/identity', new Uint8Array([1, 2, 3]))
  assert.match(refusal(() => open(fs, '/damaged')).message, /identity file .* is damaged/)
  const legacy = new SegmentLogStorage(fs, '/legacy', {})
  legacy.load()
  legacy.append(range(1, 2, 1))
  legacy.close()
  const lines: string[] = []
  assert.equal(open(fs, '/legacy', lines).entries.length, 2)
  assert.match(lines.join('\n'), /predates identities: it is now node 3 of cluster c0ffee/)
  assert.deepEqual(readIdentity(fs, '/legacy'), ME)
})
