// Regression tests for the core bugs of issue #12: each scenario failed before its fix.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {RaftNode} from '../../src/core/raft.js'
import {Prng} from '../../src/lib/prng.js'
import type {AppendEntries, Entry, InstallSnapshot, InstallSnapshotResponse} from '../../src/core/types.js'
import {Cluster, ELECTION_TICKS, is, makeLog} from './harness.js'

const E = ELECTION_TICKS

describe('issue #12 regressions (core)', () => {
  test('ready() never hands out entries past commitIndex while an installed snapshot is pending (bug 2)', () => {
    // A follower far behind (more than maxApplyBatch) steps an InstallSnapshot and, in the same
    // batch, an older pipelined AppendEntries that spans it and reaches past what is committed.
    const f = new RaftNode(
      {id: 2, peers: [1, 2, 3], electionTicks: E, heartbeatTicks: 2, prng: new Prng(1), maxApplyBatch: 4},
      {
        hardState: {currentTerm: 1, votedFor: 0, commitIndex: 0},
        snapshot: null,
        entries: [],
      },
    )
    const snap: InstallSnapshot = {type: 'InstallSnapshot', from: 1, to: 2, term: 1, snapshot: {lastIncludedIndex: 20, lastIncludedTerm: 1, data: 'state@20'}}
    const entries: Entry[] = makeLog(Array(30).fill(1), 11) // 11..40
    const append: AppendEntries = {
      type: 'AppendEntries',
      from: 1,
      to: 2,
      term: 1,
      prevLogIndex: 10,
      prevLogTerm: 1,
      entries,
      leaderCommit: 20,
      readSeq: 0,
    }
    f.step(snap)
    f.step(append)
    assert.equal(f.status().commitIndex, 20)
    for (let round = 0; round < 20 && f.hasReady(); round++) {
      const rd = f.ready()
      for (const e of rd.committedEntries)
        assert.ok(e.index <= f.status().commitIndex, `entry ${e.index} handed out for applying, commitIndex ${f.status().commitIndex}`)
      if (round === 0) assert.ok(rd.snapshot, 'the snapshot comes first')
      f.advance(rd)
      assert.ok(f.status().appliedIndex <= f.status().commitIndex, `applied ${f.status().appliedIndex} > commit ${f.status().commitIndex}`)
    }
    assert.equal(f.status().appliedIndex, 20)
  })

  test('a transfer whose target is caught up by a snapshot sends TimeoutNow (bug 5)', () => {
    const c = new Cluster([1, 2, 3])
    c.crash(3)
    const leader = c.elect(1)
    for (const d of ['a', 'b', 'c', 'd']) leader.propose(d)
    c.stabilize()
    c.compact(1, leader.status().commitIndex, 'state')
    c.restart(3) // empty log: it needs the snapshot
    assert.deepEqual(leader.transferLeadership(3), {ok: true})
    // Within the transfer's timeout (one election timeout), heartbeats find the target behind.
    c.tickUntil(() => c.node(3).status().role === 'leader', {max: E - 1})
    assert.ok(c.sentMessages(is.type('InstallSnapshot')).length > 0, 'the target was caught up by a snapshot')
    assert.ok(c.sentMessages(is.type('TimeoutNow')).length > 0, 'TimeoutNow followed')
    assert.equal(c.node(3).status().role, 'leader')
    assert.deepEqual(c.violations, [])
  })

  test('a stale or duplicate InstallSnapshotResponse does not reset a replicating follower to probe (bug 5)', () => {
    const c = new Cluster([1, 2, 3])
    c.crash(3)
    const leader = c.elect(1)
    for (const d of ['a', 'b', 'c', 'd']) leader.propose(d)
    c.stabilize()
    c.compact(1, leader.status().commitIndex, 'state')
    c.restart(3)
    c.tickAll(2)
    c.stabilize()
    const responses = c.sentMessages((m) => m.type === 'InstallSnapshotResponse' && m.from === 3) as InstallSnapshotResponse[]
    assert.ok(responses.length > 0)
    leader.propose('e')
    c.stabilize()
    assert.equal(leader.followerProgress(3)?.state, 'replicate')
    // The same answer again (a duplicate, or one delayed past later AppendEntries).
    c.inject({...responses[0]!})
    assert.equal(leader.followerProgress(3)?.state, 'replicate', 'still replicating')
    assert.equal(leader.followerProgress(3)?.matchIndex, leader.log().lastIndex())
  })
})
