// Persistence ordering (the Ready contract): whatever a message depends on — a term, a vote, the
// entries an answer acknowledges — is in the same Ready as the message, so a driver that persists
// before sending never sends ahead of its disk. Checked on hand-picked Readies and, through the
// harness's checker, on every Ready of randomized runs with partitions, reordering, crashes,
// restarts and compaction (which also check election safety and state machine safety).
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Cluster, ELECTION_TICKS, MemStorage, is, logOf, orderingViolations} from './harness.js'
import {RaftNode} from '../../src/core/raft.js'
import {Prng} from '../../src/lib/prng.js'
import type {Ready} from '../../src/core/types.js'

const E = ELECTION_TICKS

describe('persistence ordering', () => {
  test('the checker flags a granted vote whose hardState is not in the Ready (the checks can fail)', () => {
    const st = new MemStorage({hardState: {currentTerm: 1, votedFor: 0, commitIndex: 0}, snapshot: null, entries: []})
    const node = new RaftNode({id: 3, peers: [1, 2, 3], electionTicks: 10, heartbeatTicks: 2, prng: new Prng(1)}, st)
    const rd: Ready = {
      softState: {role: 'follower', leaderId: 0},
      hardState: null,
      entries: [],
      snapshot: null,
      messages: [
        {type: 'RequestVoteResponse', from: 3, to: 1, term: 1, voteGranted: true, preVote: false},
        {type: 'AppendEntriesResponse', from: 3, to: 1, term: 1, success: true, matchIndex: 4, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, readSeq: 0},
      ],
      committedEntries: [],
      readStates: [],
    }
    st.persist(rd)
    const v = orderingViolations(3, rd, st, node)
    assert.equal(v.length, 2, v.join('\n'))
    assert.match(v[0]!, /stored vote is 0/)
    assert.match(v[1]!, /storage ends at 0/)
  })

  test('an AppendEntriesResponse acknowledging entries is in the Ready that carries those entries', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    const r = leader.propose('x')
    assert.ok(r.ok)
    c.collect()
    c.deliver(is.to(2))
    const rd = c.process(2)!
    assert.deepEqual(
      rd.entries.map((e) => [e.index, e.data]),
      [[r.index, 'x']],
    )
    const ack = rd.messages.find((m) => m.type === 'AppendEntriesResponse')
    assert.ok(ack && ack.type === 'AppendEntriesResponse' && ack.success && ack.matchIndex === r.index)
  })

  test('a follower that learns a newer term from an AppendEntries persists it with its answer', () => {
    const c = new Cluster([1, 2, 3], {initial: {3: {currentTerm: 0}}})
    c.crash(3)
    c.elect(1)
    c.restart(3)
    c.tick(1, 2)
    c.collect()
    c.deliver(is.to(3))
    const rd = c.process(3)!
    assert.deepEqual(rd.hardState, {currentTerm: 1, votedFor: 0, commitIndex: rd.hardState!.commitIndex})
    assert.ok(rd.messages.some((m) => m.type === 'AppendEntriesResponse' && m.term === 1))
  })

  test('a truncating follower acknowledges only after the Ready that rewrites its storage', () => {
    const c = new Cluster([1, 2, 3], {
      initial: {
        1: {currentTerm: 3, log: [1, 3], commitIndex: 1},
        2: {currentTerm: 3, log: [1, 3], commitIndex: 1},
        3: {currentTerm: 2, log: [1, 2, 2], commitIndex: 1},
      },
    })
    c.elect(1)
    const rd = c.readies.get(3)!.find((r) => r.messages.some((m) => m.type === 'AppendEntriesResponse' && m.success && m.matchIndex >= 2))!
    assert.equal(rd.entries[0]!.index, 2)
    assert.deepEqual(c.violations, [])
  })

  for (const seed of [1, 2, 4, 7]) {
    test(`randomized run ${seed}: partitions, reordering, loss, crashes and compaction never break the contract`, () => {
      const rng = new Prng(seed)
      const ids = [1, 2, 3, 4, 5]
      const c = new Cluster(ids, {seed, config: {maxEntriesPerAppend: 3, maxInflight: 4}})
      let proposed = 0
      for (let step = 0; step < 300; step++) {
        const live = ids.filter((id) => !c.down.has(id))
        const roll = rng.next()
        if (roll < 0.02 && c.down.size < 2) c.crash(rng.pick(live))
        else if (roll < 0.06 && c.down.size > 0) c.restart(rng.pick([...c.down]))
        else if (roll < 0.09) c.isolate(rng.pick(ids))
        else if (roll < 0.14) c.heal()
        else if (roll < 0.18) {
          const id = rng.pick(live)
          const n = c.node(id)
          if (n.status().appliedIndex > n.log().snapshotIndex) c.compact(id, n.status().appliedIndex, `kv@${n.status().appliedIndex}`)
        }
        for (const l of c.leaders()) if (rng.chance(0.3)) l.propose(`v${proposed++}`)
        for (const id of live) c.node(id).tick()
        c.collect()
        // Deliver a random part of what is in flight, lose a little, keep the rest for later.
        c.dropPending(() => rng.chance(0.03))
        c.deliver(() => rng.chance(0.7))
      }
      // Heal everything; a proposal after healing lets every follower be repaired.
      c.heal()
      for (const id of [...c.down]) c.restart(id)
      c.tickUntil(() => c.leaders().length === 1, {max: 20 * E})
      c.leaders()[0]!.propose('final')
      c.tickAll(4 * E)
      const [leader] = c.leaders()
      assert.ok(leader, 'a leader at the end')
      for (const id of ids) {
        const n = c.node(id)
        assert.equal(n.status().commitIndex, leader.status().commitIndex, `node ${id} commitIndex`)
        const from = Math.max(n.log().firstIndex(), leader.log().firstIndex())
        assert.deepEqual(logOf(n.log().entries(from)), logOf(leader.log().entries(from)), `node ${id} log`)
      }
      assert.deepEqual(c.violations, [])
      assert.ok(proposed > 10, `${proposed} proposals`)
      assert.ok(leader.status().commitIndex > 10, `commitIndex ${leader.status().commitIndex}`)
    })
  }
})
