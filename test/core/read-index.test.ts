// ReadIndex (Raft thesis §6.4): a leader serves a linearizable read point only after a quorum has
// acknowledged a heartbeat round sent after the request, and only once it has committed an entry of
// its own term; a stale leader never answers; followers refuse with a leader hint.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Cluster, ELECTION_TICKS, is} from './harness.js'
import type {AppendEntries} from '../../src/core/types.js'

const E = ELECTION_TICKS

describe('ReadIndex', () => {
  test('a leader answers only after a heartbeat round acknowledged by a quorum', () => {
    const c = new Cluster([1, 2, 3, 4, 5])
    const leader = c.elect(1)
    leader.propose('w')
    c.stabilize()
    const commit = leader.status().commitIndex
    assert.equal(commit, 2)

    assert.deepEqual(leader.readIndex('r1'), {ok: true})
    const rd = c.process(1)!
    assert.deepEqual(rd.readStates, [])
    const round = rd.messages.filter(is.type('AppendEntries')) as AppendEntries[]
    assert.deepEqual(
      round.map((m) => m.to),
      [2, 3, 4, 5],
      'one heartbeat per follower',
    )
    const seq = round[0]!.readSeq
    assert.ok(seq > 0 && round.every((m) => m.readSeq === seq))

    c.deliver(is.to(2))
    c.process(2)
    c.deliver(is.to(1))
    assert.deepEqual(c.process(1)?.readStates ?? [], [], 'leader + 1 ack is 2 of 5')

    c.deliver(is.to(3))
    c.process(3)
    c.deliver(is.to(1))
    assert.deepEqual(c.process(1)!.readStates, [{ctx: 'r1', index: commit}], 'leader + 2 acks is a quorum')
    c.stabilize()
    assert.deepEqual(c.readStates.get(1), [{ctx: 'r1', index: commit}], 'answered exactly once')
  })

  test('answers to heartbeats sent before the request do not confirm it', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.tick(1, 2) // a regular heartbeat round, still in flight
    c.collect()
    leader.readIndex('r')
    c.collect() // the read round's heartbeats
    // Deliver only the old heartbeats and their answers.
    const old = c.pending.filter((m) => m.type === 'AppendEntries' && m.readSeq === 0)
    assert.equal(old.length, 2)
    c.deliver((m) => old.includes(m))
    c.collect()
    c.deliver(is.to(1))
    assert.deepEqual(c.process(1)?.readStates ?? [], [])
    c.stabilize()
    assert.deepEqual(c.readStates.get(1), [{ctx: 'r', index: 1}])
  })

  test('a new leader defers a read until an entry of its own term is committed', () => {
    // The previous leader committed 2@1 and told node 2; node 1 only knows commitIndex 1.
    const c = new Cluster([1, 2, 3], {
      initial: {
        1: {currentTerm: 1, log: [1, 1], commitIndex: 1},
        2: {currentTerm: 1, log: [1, 1], commitIndex: 2},
        3: {currentTerm: 1, log: [1, 1], commitIndex: 1},
      },
    })
    c.timeout(1)
    c.stabilize(is.vote)
    const leader = c.node(1)
    assert.equal(leader.status().role, 'leader')
    assert.equal(leader.status().commitIndex, 1, 'a read point of 1 would miss the committed write 2@1')

    assert.deepEqual(leader.readIndex('r'), {ok: true})
    assert.equal(c.process(1), null, 'no ReadState and no read round yet')
    assert.ok(c.pending.every((m) => m.type !== 'AppendEntries' || m.readSeq === 0))

    c.stabilize()
    assert.equal(leader.status().commitIndex, 3, 'the no-op 3@2 committed')
    assert.deepEqual(c.readStates.get(1), [{ctx: 'r', index: 3}])
    const answered = c.readies.get(1)!.find((r) => r.readStates.length > 0)!
    const committedBefore = c.readies.get(1)!.slice(0, c.readies.get(1)!.indexOf(answered) + 1)
    assert.ok(
      committedBefore.some((r) => r.committedEntries.some((e) => e.index === 3)),
      'only after the no-op commits',
    )
  })

  test('a partitioned (stale) leader never produces a ReadState', () => {
    // Without CheckQuorum the cut-off leader keeps believing it leads; ReadIndex must not trust that.
    const c = new Cluster([1, 2, 3], {config: {checkQuorum: false}})
    const old = c.elect(1)
    c.isolate(1)
    assert.deepEqual(old.readIndex('stale'), {ok: true})
    c.tickUntil(() => c.leaders().some((n) => n.id !== 1), {max: 4 * E})
    const fresh = c.leaders().find((n) => n.id !== 1)!
    fresh.propose('newer write')
    c.tickAll(2 * E)
    assert.equal(old.status().role, 'leader', 'it still thinks it leads')
    assert.deepEqual(old.readIndex('stale-2'), {ok: true})
    c.tickAll(2 * E)
    assert.deepEqual(c.readStates.get(1), [])

    c.heal()
    c.tickAll(2 * E)
    assert.equal(old.status().role, 'follower')
    assert.equal(old.status().leaderId, fresh.id)
    assert.deepEqual(c.readStates.get(1), [], 'not even after it rejoins')
    assert.deepEqual(fresh.readIndex('ok'), {ok: true})
    c.stabilize()
    assert.deepEqual(c.readStates.get(fresh.id), [{ctx: 'ok', index: fresh.status().commitIndex}])
  })

  test("a follower's readIndex is refused with the leader hint", () => {
    const c = new Cluster([1, 2, 3])
    assert.deepEqual(c.node(2).readIndex('x'), {ok: false, reason: 'not-leader', leaderHint: 0}, 'no leader known yet')
    c.elect(1)
    assert.deepEqual(c.node(2).readIndex('x'), {ok: false, reason: 'not-leader', leaderHint: 1})
    assert.equal(c.process(2), null, 'and nothing is sent')
  })

  test('a single-node leader answers at once with its commitIndex', () => {
    const c = new Cluster([1])
    const n = c.elect(1)
    n.propose('a')
    c.stabilize()
    n.readIndex('r')
    assert.deepEqual(c.process(1)!.readStates, [{ctx: 'r', index: 2}])
  })
})
