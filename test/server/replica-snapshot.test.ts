// Snapshots taken step by step (the `defer` port): the replica keeps serving while a large state
// is encoded, compacts only when the encoding is done, drops the job if the leader's snapshot
// overtook it, and a crash in the middle loses nothing but the job.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import type {AppendEntries, Entry, InstallSnapshot, Message} from '../../src/core/types.js'
import {Prng} from '../../src/lib/prng.js'
import {formatNodeEvent} from '../../src/protocol/events.js'
import {Replica} from '../../src/server/replica.js'
import {MemoryFs} from '../../src/storage/memory-fs.js'
import {SegmentLogStorage} from '../../src/storage/segment-log.js'
import type {KvSnapshot} from '../../src/kv/state-machine.js'

const LEADER = 1
const TERM = 3

/** Follower 2 of a 3-node cluster, fed by hand-made AppendEntries from leader 1. */
function follower(fs: MemoryFs, deferred: (() => void)[]) {
  const lines: string[] = []
  const sent: Message[] = []
  const replica = new Replica(
    {id: 2, peers: [1, 2, 3], electionTicks: 10, heartbeatTicks: 2, prng: new Prng(1), snapshotEvery: 10, snapshotItemsPerStep: 3},
    {
      storage: new SegmentLogStorage(fs, '/n2', {log: (l) => lines.push(l)}),
      send: (m) => sent.push(m),
      log: (e) => lines.push(formatNodeEvent(e)),
      defer: (fn) => deferred.push(fn),
    },
  )
  return {replica, lines, sent}
}

function put(index: number, key: string, value: string): Entry {
  return {term: TERM, index, type: 'normal', data: {op: 'put', key, value, clientId: 'c', seq: index}}
}

/** Appends entries from..to (put k<i % 7> = v<i>, or `value(i)`) and commits them all. */
function feed(replica: Replica, from: number, to: number, value = (i: number) => `v${i}`): void {
  const entries: Entry[] = []
  for (let i = from; i <= to; i++) entries.push(put(i, `k${i % 7}`, value(i)))
  const m: AppendEntries = {
    type: 'AppendEntries',
    from: LEADER,
    to: 2,
    term: TERM,
    prevLogIndex: from - 1,
    prevLogTerm: from === 1 ? 0 : TERM,
    entries,
    leaderCommit: to,
    readSeq: 0,
  }
  replica.receive(m)
  replica.process()
}

function reload(fs: MemoryFs) {
  return new SegmentLogStorage(fs, '/n2', {log: () => {}}).load()
}

test('the log is compacted only once the stepwise encoding is done, at the index captured when it began', () => {
  const fs = new MemoryFs()
  const deferred: (() => void)[] = []
  const {replica, lines} = follower(fs, deferred)
  feed(replica, 1, 12)
  assert.equal(replica.status().appliedIndex, 12)
  assert.equal(deferred.length, 1, 'a snapshot job started')
  assert.equal(replica.status().snapshotIndex, 0, 'nothing compacted yet')

  // More entries arrive and apply while the job runs; they must not leak into the snapshot.
  deferred.shift()!()
  feed(replica, 13, 15)
  let steps = 1
  while (deferred.length > 0) {
    deferred.shift()!()
    steps++
  }
  assert.ok(steps >= 3, `${steps} steps`)
  assert.equal(replica.status().snapshotIndex, 12)
  assert.ok(
    lines.some((l) => /^snapshot taken at 12 \(term 3, 7 keys, .* encoded in \d+ steps\)$/.test(l)),
    lines.join('\n'),
  )

  const state = reload(fs)
  assert.equal(state.snapshot?.lastIncludedIndex, 12)
  const data = new Map((state.snapshot!.data as KvSnapshot).data)
  assert.equal(data.get('k5'), 'v12', 'the state at 12')
  assert.equal(data.get('k6'), 'v6', 'not v13: written after the capture')
  assert.deepEqual(
    state.entries.map((e) => e.index),
    [13, 14, 15],
  )
})

test('a crash in the middle of a snapshot job loses only the job', () => {
  const fs = new MemoryFs()
  const deferred: (() => void)[] = []
  const {replica} = follower(fs, deferred)
  feed(replica, 1, 12)
  deferred.shift()!() // one step, then the process dies
  fs.crash(new Prng(5), {tornProbability: 0})
  const state = reload(fs)
  assert.equal(state.snapshot, null)
  assert.deepEqual(
    state.entries.map((e) => e.index),
    Array.from({length: 12}, (_, i) => i + 1),
  )
})

test("a job overtaken by the leader's snapshot is dropped, and the leader's snapshot stays", () => {
  const fs = new MemoryFs()
  const deferred: (() => void)[] = []
  const {replica, lines} = follower(fs, deferred)
  feed(replica, 1, 12)
  assert.equal(deferred.length, 1)
  const leaderSnap: InstallSnapshot = {
    type: 'InstallSnapshot',
    from: LEADER,
    to: 2,
    term: TERM,
    snapshot: {lastIncludedIndex: 40, lastIncludedTerm: TERM, data: {data: [['k', 'from the leader']], sessions: []} satisfies KvSnapshot},
  }
  replica.receive(leaderSnap)
  replica.process()
  while (deferred.length > 0) deferred.shift()!()
  assert.ok(
    lines.some((l) => l.startsWith('snapshot at 12 dropped')),
    lines.join('\n'),
  )
  assert.equal(replica.status().snapshotIndex, 40)
  assert.equal(replica.kv.get('k'), 'from the leader')
  const state = reload(fs)
  assert.equal(state.snapshot?.lastIncludedIndex, 40)
  assert.deepEqual((state.snapshot!.data as KvSnapshot).data, [['k', 'from the leader']])
})

test('without a defer port the snapshot is taken at once (the same bytes)', () => {
  const fs = new MemoryFs()
  const replica = new Replica(
    {id: 2, peers: [1, 2, 3], electionTicks: 10, heartbeatTicks: 2, prng: new Prng(1), snapshotEvery: 10},
    {storage: new SegmentLogStorage(fs, '/n2', {log: () => {}}), send: () => {}, log: () => {}},
  )
  feed(replica, 1, 12)
  assert.equal(replica.status().snapshotIndex, 12)
  assert.equal(reload(fs).snapshot?.lastIncludedIndex, 12)
})

test('with a large state, the next snapshot waits until the new commands weigh half of the last one', () => {
  const deferred: (() => void)[] = []
  const {replica, lines} = follower(new MemoryFs(), deferred)
  const drain = () => {
    while (deferred.length > 0) deferred.shift()!()
  }
  const big = (i: number) => `${i}`.padEnd(1000, 'x')
  feed(replica, 1, 12, big) // 7 keys of 1,000 bytes: a ~7 KB snapshot at 12
  drain()
  assert.equal(replica.status().snapshotIndex, 12)
  // 20 small writes (more than snapshotEvery entries, ~1 KB in all): not worth rewriting 7 KB yet.
  feed(replica, 13, 32)
  drain()
  assert.equal(replica.status().snapshotIndex, 12, lines.join('\n'))
  // Large writes push the new commands past half of the last snapshot's size: due now.
  feed(replica, 33, 36, big)
  drain()
  assert.equal(replica.status().snapshotIndex, 36, lines.join('\n'))
})
