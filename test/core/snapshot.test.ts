// Snapshots (Raft §7): compaction drops the covered entries; a follower that needs compacted entries
// gets InstallSnapshot, restores it from its Ready, and replication resumes after the snapshot
// index; a node restarted from snapshot + entries has the right log bounds and replays only what
// follows the snapshot.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Cluster, ELECTION_TICKS, is, logOf} from './harness.js'
import {InvariantError} from '../../src/lib/assert.js'
import type {InstallSnapshot} from '../../src/core/types.js'

const E = ELECTION_TICKS

describe('snapshots', () => {
  test('compact(index, data) drops the entries up to index and keeps the rest', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    for (const d of ['a', 'b', 'c', 'd', 'e']) leader.propose(d)
    c.stabilize()
    assert.equal(leader.status().appliedIndex, 6)
    const term = leader.status().term

    const snap = c.compact(1, 4, {kv: 'state after 4'})
    assert.deepEqual(
      snap,
      {
        lastIncludedIndex: 4,
        lastIncludedTerm: term,
        data: {kv: 'state after 4'},
        config: {voters: [1, 2, 3], outgoing: [], learners: []},
      },
      'the snapshot carries the configuration in force at its index',
    )
    assert.equal(leader.log().firstIndex(), 5)
    assert.equal(leader.log().lastIndex(), 6)
    assert.deepEqual(
      leader
        .log()
        .entries()
        .map((e) => e.data),
      ['d', 'e'],
    )
    assert.equal(leader.log().termAt(4), term, 'the snapshot remembers the term of its last entry')
    assert.equal(leader.log().termAt(3), undefined, 'compacted away')
    assert.equal(leader.log().entryAt(4), undefined)
    assert.deepEqual(
      {lastIncludedIndex: leader.log().snapshotIndex, lastIncludedTerm: leader.log().snapshotTerm},
      {lastIncludedIndex: 4, lastIncludedTerm: term},
    )

    assert.throws(() => leader.compact(4, null), InvariantError, 'not past the snapshot')
    assert.throws(() => leader.compact(7, null), InvariantError, 'past appliedIndex')

    // Replication of new entries carries on from the compacted log.
    leader.propose('f')
    c.stabilize()
    assert.deepEqual(
      c
        .node(2)
        .log()
        .entries()
        .map((e) => e.data)
        .slice(-3),
      ['d', 'e', 'f'],
    )
    assert.deepEqual(c.violations, [])
  })

  test('a follower far behind receives InstallSnapshot, its log restarts after the snapshot, replication resumes', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    leader.propose('a')
    c.stabilize()
    c.crash(3)
    for (let i = 0; i < 20; i++) leader.propose(`w${i}`)
    c.stabilize()
    const snapIndex = leader.status().commitIndex
    assert.equal(snapIndex, 22)
    c.compact(1, snapIndex, 'kv@22')
    c.compact(2, snapIndex, 'kv@22')

    c.restart(3)
    assert.equal(c.node(3).log().lastIndex(), 2, 'node 3 missed 20 entries')
    leader.propose('after')
    c.tickUntil(() => c.node(3).status().commitIndex === leader.status().commitIndex, {max: E})

    const installs = c.sentMessages(is.type('InstallSnapshot')) as InstallSnapshot[]
    assert.deepEqual(
      installs.map((m) => [m.from, m.to, m.snapshot.lastIncludedIndex, m.snapshot.data]),
      [[1, 3, 22, 'kv@22']],
    )
    assert.deepEqual(
      c.restoredSnapshots.get(3)!.map((s) => s.lastIncludedIndex),
      [22],
      'ready().snapshot on node 3',
    )
    const n3 = c.node(3)
    assert.deepEqual(
      {lastIncludedIndex: n3.log().snapshotIndex, lastIncludedTerm: n3.log().snapshotTerm},
      {lastIncludedIndex: 22, lastIncludedTerm: leader.status().term},
    )
    assert.equal(n3.log().firstIndex(), 23)
    assert.deepEqual(logOf(n3.log().entries()), logOf(leader.log().entries(23)))
    assert.deepEqual(
      n3
        .log()
        .entries()
        .map((e) => e.data),
      ['after'],
    )
    assert.equal(n3.status().commitIndex, 23)
    assert.deepEqual(
      c.applied.get(3)!.map((e) => e.data),
      [undefined, 'a', 'after'],
      'it applied the snapshot, not w0..w19',
    )
    assert.equal(c.storage.get(3)!.snapshot?.lastIncludedIndex, 22)
    assert.deepEqual(logOf(c.storage.get(3)!.entries), logOf(n3.log().entries()))
    assert.equal(leader.followerProgress(3)!.state, 'replicate')
    assert.equal(leader.followerProgress(3)!.matchIndex, 23)

    leader.propose('later')
    c.stabilize()
    assert.deepEqual(
      n3
        .log()
        .entries()
        .map((e) => e.data),
      ['after', 'later'],
      'plain appends from here on',
    )
    assert.equal(c.sentMessages(is.type('InstallSnapshot')).length, 1)
    assert.deepEqual(c.violations, [])
  })

  test('a lost InstallSnapshot is sent again after two election timeouts', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.crash(3)
    for (let i = 0; i < 5; i++) leader.propose(`w${i}`)
    c.stabilize()
    c.compact(1, leader.status().commitIndex, 'kv')
    c.restart(3)
    const undrop = c.dropIf(is.type('InstallSnapshot'))
    leader.propose('after')
    c.stabilize()
    undrop()
    assert.equal(c.sent.filter((r) => r.message.type === 'InstallSnapshot' && r.dropped).length, 1)
    assert.equal(leader.followerProgress(3)!.state, 'snapshot')
    const ticks = c.tickUntil(() => c.node(3).status().commitIndex === leader.status().commitIndex, {max: 3 * E})
    assert.ok(ticks >= 2 * E - 1 && ticks <= 2 * E + 1, `resent after ${ticks} ticks`)
    assert.equal(c.sentMessages(is.type('InstallSnapshot')).length, 2)
    assert.deepEqual(
      c
        .node(3)
        .log()
        .entries()
        .map((e) => e.data),
      ['after'],
    )
  })

  test('a node restarted from a snapshot and entries has the right lastIndex, terms and replay point', () => {
    const c = new Cluster([1, 2, 3], {
      initial: {
        1: {
          currentTerm: 4,
          votedFor: 2,
          commitIndex: 12,
          snapshot: {lastIncludedIndex: 10, lastIncludedTerm: 3, data: 'kv@10'},
          // Storage may still hold entries the snapshot covers; they are skipped.
          log: [
            {term: 3, index: 9, type: 'normal', data: 'old'},
            {term: 3, index: 10, type: 'normal', data: 'old'},
            {term: 3, index: 11, type: 'normal', data: 'x'},
            {term: 4, index: 12, type: 'normal', data: 'y'},
            {term: 4, index: 13, type: 'normal', data: 'z'},
          ],
        },
      },
    })
    const n = c.node(1)
    assert.equal(n.log().firstIndex(), 11)
    assert.equal(n.log().lastIndex(), 13)
    assert.equal(n.log().lastTerm(), 4)
    assert.equal(n.log().termAt(10), 3)
    assert.equal(n.log().termAt(9), undefined)
    assert.equal(n.status().commitIndex, 12)
    assert.equal(n.status().appliedIndex, 10)
    assert.deepEqual(n.hardState(), {currentTerm: 4, votedFor: 2, commitIndex: 12})
    assert.deepEqual(
      c.process(1)!.committedEntries.map((e) => e.data),
      ['x', 'y'],
      'replays only after the snapshot',
    )

    // Campaigning, it advertises the log it really has.
    c.timeout(1)
    c.collect()
    const rv = c.pending.find((m) => m.type === 'RequestVote')!
    assert.ok(rv.type === 'RequestVote' && rv.lastLogIndex === 13 && rv.lastLogTerm === 4)
  })

  test('a node with only a snapshot (no entries) reports the snapshot as its last entry', () => {
    const c = new Cluster([1, 2, 3], {
      initial: {2: {currentTerm: 3, commitIndex: 0, snapshot: {lastIncludedIndex: 7, lastIncludedTerm: 3, data: 's'}}},
    })
    const n = c.node(2)
    assert.equal(n.log().lastIndex(), 7)
    assert.equal(n.log().lastTerm(), 3)
    assert.equal(n.status().commitIndex, 7, 'commitIndex is never behind the snapshot')
    assert.deepEqual(n.log().entries(), [])
  })

  test('a leader restarted after compaction keeps its snapshot and log, and leads again', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    for (const d of ['a', 'b', 'c']) leader.propose(d)
    c.stabilize()
    c.compact(1, 3, 'kv@3')
    const before = logOf(leader.log().entries())
    c.crash(1)
    const n = c.restart(1)
    assert.deepEqual({lastIncludedIndex: n.log().snapshotIndex, lastIncludedTerm: n.log().snapshotTerm}, {lastIncludedIndex: 3, lastIncludedTerm: 1})
    assert.deepEqual(logOf(n.log().entries()), before)
    assert.equal(n.log().lastIndex(), 4)
    c.tickUntil(() => c.leaders().length === 1, {max: 6 * E})
    c.tickAll(2 * E)
    const [l] = c.leaders()
    for (const id of [1, 2, 3]) assert.equal(c.node(id).status().commitIndex, l!.log().lastIndex(), `node ${id}`)
    assert.deepEqual(c.violations, [])
  })
})
