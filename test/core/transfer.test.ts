// Leadership transfer (Raft thesis §3.10): the leader brings the target's log up to date, sends it
// TimeoutNow, and the target wins the next term at once (its RequestVote overrides the followers'
// lease); client proposals are refused meanwhile; a transfer that cannot finish times out.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Cluster, ELECTION_TICKS, HEARTBEAT_TICKS, is, logOf} from './harness.js'
import type {AppendEntriesResponse, Message} from '../../src/core/types.js'

const E = ELECTION_TICKS

describe('leadership transfer', () => {
  test('transferLeadership(to) makes `to` leader of the next term via TimeoutNow', () => {
    const c = new Cluster([1, 2, 3])
    const old = c.elect(1)
    const term = old.status().term
    assert.deepEqual(old.transferLeadership(2), {ok: true})
    const rd = c.process(1)!
    assert.deepEqual(
      rd.messages.filter(is.type('TimeoutNow')).map((m) => [m.to, m.term]),
      [[2, term]],
      'the target is caught up: TimeoutNow goes out at once',
    )
    c.stabilize()
    const n2 = c.node(2)
    assert.equal(n2.status().role, 'leader')
    assert.equal(n2.status().term, term + 1)
    assert.equal(old.status().role, 'follower')
    assert.equal(old.status().leaderId, 2)
    assert.equal(c.node(3).status().leaderId, 2)
    const votes = c.sentMessages((m) => m.type === 'RequestVote' && m.from === 2)
    assert.ok(
      votes.length > 0 && votes.every((m) => m.type === 'RequestVote' && m.transfer && !m.preVote),
      'a transfer campaign skips PreVote and is marked so voters in their lease still answer',
    )
    assert.deepEqual(c.violations, [])
  })

  test('proposals are refused during a transfer, and accepted again after it times out', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.isolate(2) // the target cannot answer: the transfer cannot finish
    assert.deepEqual(leader.transferLeadership(2), {ok: true})
    assert.deepEqual(leader.propose('x'), {ok: false, reason: 'transferring', leaderHint: 2})
    c.tickAll(E - 1)
    assert.deepEqual(leader.propose('x'), {ok: false, reason: 'transferring', leaderHint: 2})
    c.tickAll(1)
    assert.equal(leader.status().role, 'leader', 'node 3 keeps it in power')
    const r = leader.propose('x')
    assert.equal(r.ok, true, 'the transfer timed out after one election timeout')
    assert.ok(c.events.includes('1: leadership transfer to 2 timed out'))
  })

  test('a lagging target is caught up first; TimeoutNow follows its acknowledgement of the whole log', () => {
    const c = new Cluster([1, 2, 3])
    c.crash(3)
    const leader = c.elect(1)
    for (const d of ['a', 'b', 'c', 'd']) leader.propose(d)
    c.stabilize()
    c.restart(3) // far behind: an empty log
    const last = leader.log().lastIndex()
    assert.equal(c.node(3).log().lastIndex(), 0)

    assert.deepEqual(leader.transferLeadership(3), {ok: true})
    assert.equal(leader.propose('e').ok, false)
    c.tickUntil(() => c.node(3).status().role === 'leader', {max: E})

    const timeoutNow = c.sent.find((r) => r.message.type === 'TimeoutNow')!
    const caughtUp = c.sent.find(
      (r) => r.message.type === 'AppendEntriesResponse' && r.message.from === 3 && r.message.success && r.message.matchIndex === last,
    )!
    assert.ok(caughtUp && timeoutNow.seq > caughtUp.seq, 'TimeoutNow only after node 3 acknowledged index ' + last)
    assert.equal(c.sentMessages(is.type('TimeoutNow')).length, 1)
    assert.equal(c.node(3).status().term, leader.status().term)
    assert.equal(leader.status().role, 'follower')
    assert.deepEqual(logOf(c.node(3).log().entries()).slice(0, last), logOf(leader.log().entries()).slice(0, last))
    assert.deepEqual(c.violations, [])
  })

  test('a target whose AppendEntries were lost while replicating is caught up and takes over', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.isolate(3)
    leader.propose('a')
    leader.propose('b')
    c.stabilize()
    c.heal()
    assert.deepEqual(leader.transferLeadership(3), {ok: true})
    c.tickAll(E - 1)
    assert.equal(c.node(3).status().role, 'leader', 'node 3 should have been caught up and sent TimeoutNow')
  })

  test("a transfer started late in the leader's election period gets a full election timeout, then gives up", () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    leader.propose('a')
    c.stabilize()
    c.tickAll(E - 1) // the leader's CheckQuorum round is one tick from its end
    c.isolate(3) // the target cannot be caught up for now
    assert.deepEqual(leader.transferLeadership(3), {ok: true})
    c.tickAll(E - 1)
    assert.deepEqual(leader.propose('b'), {ok: false, reason: 'transferring', leaderHint: 3}, 'still transferring after E-1 ticks')
    c.tickAll(1)
    assert.equal(leader.status().role, 'leader')
    assert.equal(leader.propose('c').ok, true, 'the transfer timed out after E ticks and proposals are accepted again')
  })

  test('TimeoutNow overrides the lease: followers that just heard from the leader still vote', () => {
    const c = new Cluster([1, 2, 3, 4, 5])
    const old = c.elect(1)
    c.tickAll(HEARTBEAT_TICKS) // everyone is well inside its lease
    old.transferLeadership(4)
    c.stabilize()
    assert.equal(c.node(4).status().role, 'leader')
    const granted = c.sentMessages((m: Message) => m.type === 'RequestVoteResponse' && m.to === 4 && m.voteGranted).map((m) => m.from)
    assert.ok(granted.length >= 2, `votes from ${granted}`)
  })

  test('a transfer to itself or to an unknown node, or by a follower, is answered without effect', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    assert.deepEqual(leader.transferLeadership(1), {ok: true})
    assert.equal(leader.propose('still leading').ok, true)
    assert.equal(leader.transferLeadership(9).ok, false)
    assert.deepEqual(c.node(2).transferLeadership(3), {ok: false, reason: 'not-leader'})
    c.stabilize()
    assert.equal(c.sentMessages(is.type('TimeoutNow')).length, 0)
    const acks = c.sentMessages((m) => m.type === 'AppendEntriesResponse') as AppendEntriesResponse[]
    assert.ok(acks.every((m) => m.success))
  })
})
