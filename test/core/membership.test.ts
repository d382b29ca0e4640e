// Membership changes (Raft §6, thesis ch. 4, etcd's ConfChangeV2): learners, single-server
// changes, joint consensus for more, and the rules that keep them safe: one change in flight, a
// new leader's own-term commit first, no campaign with a committed but unapplied change.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Cluster, ELECTION_TICKS, is} from './harness.js'
import type {ConfChange} from '../../src/core/membership.js'
import type {Entry} from '../../src/core/types.js'

const E = ELECTION_TICKS
const addLearner = (node: number): ConfChange => ({ops: [{type: 'add-learner', node}]})
const addVoter = (node: number): ConfChange => ({ops: [{type: 'add-voter', node}]})
const remove = (node: number): ConfChange => ({ops: [{type: 'remove', node}]})

/** Proposes `cc` on the leader and runs the cluster until it is applied everywhere it can be. */
function change(c: Cluster, leaderId: number, cc: ConfChange): number {
  const r = c.node(leaderId).proposeConfChange(cc)
  assert.ok(r.ok, `refused: ${r.ok ? '' : r.reason}`)
  c.stabilize()
  return r.index
}

describe('membership', () => {
  test('a learner receives the log but never votes, campaigns or counts toward a quorum', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.addNode(4)
    change(c, 1, addLearner(4))
    assert.deepEqual(leader.status().membership, {voters: [1, 2, 3], outgoing: [], learners: [4]})
    leader.propose('x')
    c.stabilize()
    assert.equal(c.node(4).log().lastIndex(), leader.log().lastIndex(), 'the learner holds the log')
    assert.deepEqual(c.node(4).status().membership.learners, [4], 'and knows it is a learner')
    // With two voters down, leader + learner are not a quorum: nothing commits.
    c.crash(2)
    c.crash(3)
    const before = leader.status().commitIndex
    leader.propose('y')
    c.tickAll(3)
    assert.equal(leader.status().commitIndex, before)
    // A learner never campaigns, whatever happens to the leader.
    c.crash(1)
    c.tickAll(5 * E, [4])
    assert.equal(c.sentMessages((m) => m.from === 4 && m.type === 'RequestVote').length, 0)
    assert.deepEqual(c.violations, [])
  })

  test('a learner promoted to voter counts; the leader replicates and commits with it', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.addNode(4)
    change(c, 1, addLearner(4))
    change(c, 1, addVoter(4))
    assert.deepEqual(leader.status().membership.voters, [1, 2, 3, 4])
    // 4 voters: quorum 3. With 2 and 3 down, leader + 4 are not enough; with 3 down they and 2 are.
    c.crash(3)
    const before = leader.status().commitIndex
    leader.propose('z')
    c.stabilize()
    assert.equal(leader.status().commitIndex, before + 1, 'leader, 2 and 4 are 3 of 4')
    assert.deepEqual(c.violations, [])
  })

  test('one change at a time; a new leader proposes none before what its log held is applied', () => {
    // (Without PreVote and CheckQuorum, so that node 2 can take over by its timeout alone.)
    const d = new Cluster([1, 2, 3], {config: {preVote: false, checkQuorum: false}})
    d.elect(1)
    d.addNode(4)
    // Leader 1's last entry reaches node 2 only, uncommitted; then 1 dies and 2 takes over.
    d.node(1).propose('x')
    d.collect()
    d.deliver(is.to(2))
    d.dropPending()
    d.crash(1)
    d.timeout(2)
    d.stabilize(is.vote)
    const fresh = d.node(2)
    assert.equal(fresh.status().role, 'leader')
    const early = fresh.proposeConfChange(addLearner(4))
    assert.ok(!early.ok && /in progress/.test(early.reason), 'x, from the last term, is not applied: no change yet')
    d.stabilize()
    assert.equal(fresh.proposeConfChange(addLearner(4)).ok, true, 'once its no-op committed (and x with it), it may')
    const second = fresh.proposeConfChange(addVoter(4))
    assert.ok(!second.ok && /in progress/.test(second.reason), 'the first is not applied yet')
    d.stabilize()
    const third = fresh.proposeConfChange(addVoter(4))
    assert.ok(third.ok, `once it is, the next may go (${third.ok ? '' : third.reason})`)
    assert.deepEqual(d.violations, [])
  })

  test('removing a follower: its campaigns are ignored, nobody changes term for them', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    const term = leader.status().term
    change(c, 1, remove(3))
    assert.deepEqual(leader.status().membership.voters, [1, 2])
    // Node 3, removed (and told so), later cut off: it keeps timing out, and nobody listens.
    c.isolate(3)
    c.tickAll(4 * E)
    c.heal()
    c.tickAll(4 * E)
    assert.equal(leader.status().role, 'leader')
    assert.equal(leader.status().term, term)
    assert.deepEqual(c.violations, [])
  })

  test('removing the leader: it leads until the change is applied, then hands over and steps down', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    change(c, 1, remove(1))
    assert.equal(leader.status().role, 'follower')
    assert.ok(c.events.some((e) => e.startsWith('1: removed from the configuration')))
    c.tickUntil(() => c.leaders().length === 1 && c.leaders()[0]!.id !== 1)
    const next = c.leaders()[0]!
    assert.deepEqual(next.status().membership.voters, [2, 3])
    assert.ok(c.sentMessages(is.type('TimeoutNow')).length > 0, 'a caught-up voter was told to take over at once')
    assert.deepEqual(c.violations, [])
  })

  test('replacing a voter goes through a joint configuration: both majorities, then the new one', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.addNode(4)
    change(c, 1, addLearner(4))
    const r = leader.proposeConfChange({
      ops: [
        {type: 'add-voter', node: 4},
        {type: 'remove', node: 3},
      ],
    })
    assert.ok(r.ok)
    // Apply the joint entry only: deliver until the leader has applied it, then look.
    let sawJoint = false
    for (let i = 0; i < 50 && !sawJoint; i++) {
      c.collect()
      c.deliver()
      sawJoint = leader.status().membership.outgoing.length > 0
    }
    assert.ok(sawJoint, 'the joint configuration was in force')
    assert.deepEqual(leader.status().membership, {voters: [1, 2, 4], outgoing: [1, 2, 3], learners: []})
    c.stabilize()
    assert.deepEqual(leader.status().membership, {voters: [1, 2, 4], outgoing: [], learners: []}, 'left it at once')
    const configs = leader
      .log()
      .entries()
      .filter((e: Entry) => e.type === 'config')
      .map((e: Entry) => e.data)
    assert.deepEqual(configs.at(-1), {ops: [], leaveJoint: true})
    assert.deepEqual(c.violations, [])
  })

  test('while joint, commitment needs a majority of each half', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.addNode(4)
    c.addNode(5)
    change(c, 1, addLearner(4))
    change(c, 1, addLearner(5))
    // Swap 2 and 3 for 4 and 5: C_old {1,2,3}, C_new {1,4,5}. Hold the leader in the joint state
    // by keeping the old half away: then nothing commits, though 1, 4 and 5 are all up.
    c.cut(1, 2)
    c.cut(1, 3)
    const r = leader.proposeConfChange({
      ops: [
        {type: 'add-voter', node: 4},
        {type: 'add-voter', node: 5},
        {type: 'remove', node: 2},
        {type: 'remove', node: 3},
      ],
    })
    assert.ok(r.ok)
    c.stabilize()
    assert.equal(leader.status().commitIndex < r.index, true, 'the joint entry needs a majority of {1,2,3} too')
    c.heal()
    c.tickUntil(() => leader.status().membership.outgoing.length === 0 && leader.status().membership.voters.includes(4))
    assert.deepEqual(leader.status().membership, {voters: [1, 4, 5], outgoing: [], learners: []})
    assert.deepEqual(c.violations, [])
  })

  test('a change that would leave no quorum among the nodes heard from lately is refused, unless forced', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.tickAll(2)
    c.addNode(4)
    c.crash(3)
    c.tickAll(E + 1, [1, 2])
    // {1,2,3,4} needs 3 of 4: only 1 and 2 are up (4 was never heard from).
    const r = leader.proposeConfChange(addVoter(4))
    assert.ok(!r.ok && /quorum/.test(r.reason), r.ok ? '' : r.reason)
    assert.equal(leader.proposeConfChange(addVoter(4), {force: true}).ok, true)
  })

  test('a node whose log holds a committed but unapplied change does not campaign', () => {
    // Restarted with entries up to a committed configuration change it has not applied yet.
    const log: Entry[] = [
      {index: 1, term: 1, type: 'noop'},
      {index: 2, term: 1, type: 'config', data: addLearner(4)},
    ]
    const c = new Cluster([1, 2, 3], {initial: {2: {currentTerm: 1, commitIndex: 2, log}}})
    const n = c.node(2)
    assert.equal(n.status().appliedIndex, 0)
    assert.deepEqual(n.campaignNow(), {ok: false, reason: 'a committed configuration change is not applied yet'})
    for (let t = 0; t < 3 * E; t++) n.tick()
    assert.equal(n.status().role, 'follower', 'its election timeout passed: still no campaign')
    // Once applied (its Ready handed out and advanced), it campaigns under the new configuration.
    c.process(2)
    assert.deepEqual(n.status().membership.learners, [4])
    assert.equal(n.campaignNow().ok, true)
  })

  test('a snapshot carries the configuration: a follower restored from it knows the members', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.addNode(4)
    c.crash(3)
    change(c, 1, addLearner(4))
    for (const d of ['a', 'b', 'c']) leader.propose(d)
    c.stabilize()
    c.compact(1, leader.status().appliedIndex, 'state')
    assert.deepEqual(leader.log().entries().length, 0)
    c.restart(3)
    c.tickUntil(() => c.node(3).status().membership.learners.includes(4))
    assert.ok(c.restoredSnapshots.get(3)!.length > 0)
    assert.deepEqual(c.node(3).status().membership, {voters: [1, 2, 3], outgoing: [], learners: [4]})
  })

  test('a node that may not campaign forgets its leader after an election timeout without it (no stale hints)', () => {
    const c = new Cluster([1, 2, 3])
    c.elect(1)
    c.addNode(4)
    change(c, 1, addLearner(4))
    assert.equal(c.node(4).status().leaderId, 1, 'a learner hearing the leader names it')
    // Node 4 is removed while cut off, so it never applies its removal: nobody talks to it again.
    c.isolate(4)
    change(c, 1, remove(4))
    assert.equal(c.node(4).status().leaderId, 1)
    c.tick(4, 2 * E + 1)
    c.stabilize()
    assert.equal(c.node(4).status().leaderId, 0, 'it no longer sends clients to node 1')
    assert.equal(c.node(4).status().role, 'follower', 'and it did not campaign')
  })
})
