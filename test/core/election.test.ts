// Leader election (Raft §5.2, §5.4.1; thesis §9.6 PreVote, §6.2 CheckQuorum): timeouts, one vote
// per term, the election restriction, split votes, PreVote against disruptive rejoiners, CheckQuorum
// step-down and the follower lease, and stale leaders giving way to a newer term.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Cluster, ELECTION_TICKS, HEARTBEAT_TICKS, is, logOf, requestVote, termsOf} from './harness.js'
import type {Message, RequestVoteResponse} from '../../src/core/types.js'

const E = ELECTION_TICKS

function voteResponses(msgs: Message[], to?: number): RequestVoteResponse[] {
  return msgs.filter((m): m is RequestVoteResponse => m.type === 'RequestVoteResponse' && (to === undefined || m.to === to))
}

describe('election', () => {
  test('a single node becomes leader after its election timeout, with a committed no-op of term 1', () => {
    const c = new Cluster([1])
    const n = c.node(1)
    c.tick(1, E - 1)
    assert.equal(n.status().role, 'follower', 'no election before electionTicks')
    assert.equal(n.status().term, 0)
    let ticks = E - 1
    while (n.status().role === 'follower' && ticks < 2 * E) {
      c.tick(1)
      ticks++
    }
    assert.equal(n.status().role, 'leader')
    assert.ok(ticks >= E && ticks < 2 * E, `became leader after ${ticks} ticks`)
    assert.equal(n.status().term, 1)
    assert.equal(n.status().votedFor, 1)
    assert.equal(n.status().leaderId, 1)
    const rd = c.process(1)!
    // The leader counts its own entry only once it is persisted: committed in the next Ready.
    assert.deepEqual(rd.hardState, {currentTerm: 1, votedFor: 1, commitIndex: 0})
    assert.deepEqual(rd.entries, [{term: 1, index: 1, type: 'noop'}])
    assert.deepEqual(rd.committedEntries, [])
    assert.deepEqual(rd.softState, {role: 'leader', leaderId: 1})
    const next = c.process(1)!
    assert.deepEqual(next.hardState, {currentTerm: 1, votedFor: 1, commitIndex: 1})
    assert.deepEqual(next.entries, [])
    assert.deepEqual(next.committedEntries, [{term: 1, index: 1, type: 'noop'}])
  })

  test('randomized election timeouts lie in [electionTicks, 2*electionTicks) and vary', () => {
    const seen = new Set<number>()
    for (let seed = 1; seed <= 100; seed++) {
      const c = new Cluster([1], {seed})
      const t = c.timeout(1)
      assert.ok(t >= E && t < 2 * E, `seed ${seed}: timed out after ${t} ticks`)
      seen.add(t)
    }
    assert.ok(seen.size >= E / 2, `only ${seen.size} distinct timeouts: ${[...seen]}`)

    // A node that cannot win keeps re-arming a fresh random timeout: every gap between its
    // successive PreVote rounds is again within [E, 2E).
    const c = new Cluster([1, 2, 3], {seed: 7})
    c.isolate(1)
    const rounds: number[] = []
    for (let t = 1; t <= 40 * E; t++) {
      c.tick(1)
      const rd = c.process(1)
      if (rd && rd.messages.some((m) => m.type === 'RequestVote' && m.preVote)) rounds.push(t)
    }
    assert.ok(rounds.length >= 20, `${rounds.length} campaigns`)
    assert.ok(rounds[0]! >= E && rounds[0]! < 2 * E)
    const gaps = rounds.slice(1).map((t, i) => t - rounds[i]!)
    for (const g of gaps) assert.ok(g >= E && g < 2 * E, `gap of ${g} ticks between campaigns`)
    assert.ok(new Set(gaps).size > 1, 'gaps should be random, not constant')
    assert.equal(c.node(1).status().term, 0, 'PreVote rounds never bump the term')
  })

  for (const size of [3, 5]) {
    test(`a ${size}-node cluster elects exactly one leader, and it stays leader`, () => {
      const ids = Array.from({length: size}, (_, i) => i + 1)
      for (let seed = 1; seed <= 5; seed++) {
        const c = new Cluster(ids, {seed})
        c.tickUntil(() => c.leaders().length > 0)
        const [leader, ...others] = c.leaders()
        assert.equal(others.length, 0, `seed ${seed}: more than one leader`)
        const term = leader!.status().term
        c.tickAll(3 * E)
        assert.deepEqual(
          c.leaders().map((n) => n.id),
          [leader!.id],
          `seed ${seed}: leadership moved`,
        )
        for (const id of ids) {
          const n = c.node(id)
          assert.equal(n.status().term, term, `seed ${seed}: node ${id} term`)
          assert.equal(n.status().leaderId, leader!.id, `seed ${seed}: node ${id} leaderId`)
          if (id !== leader!.id) assert.equal(n.status().role, 'follower')
          assert.deepEqual(logOf(n.log().entries()), logOf(leader!.log().entries()))
        }
        assert.deepEqual(c.violations, [])
      }
    })
  }

  test('a new leader appends a no-op of its own term, which commits the entries of earlier terms', () => {
    const initial = {currentTerm: 2, log: [1, 2], commitIndex: 1}
    const c = new Cluster([1, 2, 3], {initial: {1: initial, 2: initial, 3: initial}})
    const leader = c.elect(1)
    assert.equal(leader.status().term, 3)
    assert.deepEqual(leader.log().entryAt(3), {term: 3, index: 3, type: 'noop'})
    for (const id of [1, 2, 3]) {
      assert.deepEqual(termsOf(c.node(id).log().entries()), [1, 2, 3], `node ${id}`)
      assert.equal(c.node(id).status().commitIndex, 3, `node ${id}`)
    }
    // applied is volatile: a restarted node re-applies from its snapshot (here: from the start).
    assert.deepEqual(
      c.applied.get(2)!.map((e) => `${e.index}@${e.term}`),
      ['1@1', '2@2', '3@3'],
    )
  })
})

describe('votes', () => {
  test('one vote per term: a follower that voted for A refuses B in that term and votes again in a later term', () => {
    const c = new Cluster([1, 2, 3])
    c.inject(requestVote(1, 3, 1, 0, 0))
    assert.deepEqual(
      voteResponses(c.process(3)!.messages).map((m) => [m.to, m.term, m.voteGranted]),
      [[1, 1, true]],
    )
    assert.equal(c.node(3).status().votedFor, 1)

    c.inject(requestVote(2, 3, 1, 0, 0))
    assert.deepEqual(
      voteResponses(c.process(3)!.messages).map((m) => [m.to, m.term, m.voteGranted]),
      [[2, 1, false]],
    )
    assert.equal(c.node(3).status().votedFor, 1, 'the vote of term 1 stays with node 1')

    c.inject(requestVote(1, 3, 1, 0, 0))
    assert.deepEqual(
      voteResponses(c.process(3)!.messages).map((m) => [m.to, m.voteGranted]),
      [[1, true]],
      'a retry from the same candidate is granted',
    )

    c.inject(requestVote(2, 3, 2, 0, 0))
    assert.deepEqual(
      voteResponses(c.process(3)!.messages).map((m) => [m.to, m.term, m.voteGranted]),
      [[2, 2, true]],
    )
    assert.equal(c.node(3).status().term, 2)
    assert.equal(c.node(3).status().votedFor, 2)
    assert.deepEqual(c.violations, [])
  })

  test('the double-vote mutant grants a second vote in the same term (the check above can fail)', () => {
    const c = new Cluster([1, 2, 3], {perNode: {3: {mutant: 'double-vote'}}})
    c.inject(requestVote(1, 3, 1, 0, 0))
    c.process(3)
    c.inject(requestVote(2, 3, 1, 0, 0))
    assert.deepEqual(
      voteResponses(c.process(3)!.messages).map((m) => [m.to, m.voteGranted]),
      [[2, true]],
    )
  })

  test('votedFor is in the hardState of the same Ready as the RequestVoteResponse that grants it', () => {
    const c = new Cluster([1, 2, 3])
    c.timeout(1)
    c.stabilize(is.vote)
    assert.equal(c.node(1).status().role, 'leader')
    for (const id of [2, 3]) {
      const rd = c.readies.get(id)!.find((r) => voteResponses(r.messages).some((m) => !m.preVote && m.voteGranted))
      assert.ok(rd, `node ${id} granted a vote`)
      assert.deepEqual(rd.hardState, {currentTerm: 1, votedFor: 1, commitIndex: 0}, `node ${id}`)
    }
    // And the candidate's own RequestVotes travel with its new term and self-vote.
    const rd1 = c.readies.get(1)!.find((r) => r.messages.some((m) => m.type === 'RequestVote' && !m.preVote))!
    assert.deepEqual(rd1.hardState, {currentTerm: 1, votedFor: 1, commitIndex: 0})
    assert.deepEqual(c.violations, [])
  })

  describe('the election restriction (§5.4.1): the voter holds [1@1, 2@2, 3@2]', () => {
    const cases: Array<[string, number, number, boolean]> = [
      ['a candidate with a shorter log of the same last term is refused', 2, 2, false],
      ['a candidate with a longer log but a lower last term is refused', 5, 1, false],
      ['a candidate whose log is exactly as up to date is granted', 3, 2, true],
      ['a candidate with a higher last term is granted even with a shorter log', 1, 3, true],
    ]
    for (const [name, lastLogIndex, lastLogTerm, granted] of cases) {
      test(name, () => {
        const c = new Cluster([1, 2, 3], {initial: {3: {currentTerm: 2, log: [1, 2, 2]}}})
        c.inject(requestVote(1, 3, 3, lastLogIndex, lastLogTerm))
        const [resp] = voteResponses(c.process(3)!.messages)
        assert.equal(resp!.voteGranted, granted)
        assert.equal(c.node(3).status().term, 3, 'the voter adopts the newer term either way')
        assert.equal(c.node(3).status().votedFor, granted ? 1 : 0)
      })
    }

    test('the vote-without-log-check mutant grants the shorter log (the check above can fail)', () => {
      const c = new Cluster([1, 2, 3], {initial: {3: {currentTerm: 2, log: [1, 2, 2]}}, perNode: {3: {mutant: 'vote-without-log-check'}}})
      c.inject(requestVote(1, 3, 3, 2, 2))
      assert.equal(voteResponses(c.process(3)!.messages)[0]!.voteGranted, true)
    })

    test('in a real election the node with the shorter log cannot win', () => {
      const c = new Cluster([1, 2, 3], {
        initial: {1: {currentTerm: 2, log: [1, 2]}, 2: {currentTerm: 2, log: [1, 2, 2]}, 3: {currentTerm: 2, log: [1, 2, 2]}},
      })
      c.timeout(1)
      c.stabilize()
      assert.notEqual(c.node(1).status().role, 'leader')
      assert.equal(c.node(1).status().term, 2, 'its PreVote failed, so no term was spent')
      c.elect(2)
      assert.equal(c.node(2).status().term, 3)
      assert.deepEqual(termsOf(c.node(1).log().entries()), [1, 2, 2, 3])
    })
  })
})

describe('split vote', () => {
  test('two candidates of the same term split the votes; a later term resolves it', () => {
    const c = new Cluster([1, 2, 3, 4])
    c.timeout(1)
    c.timeout(2)
    // Node 3 hears only node 1's RequestVote, node 4 only node 2's.
    const unblock = c.dropIf((m) => m.type === 'RequestVote' && !m.preVote && ((m.from === 1 && m.to === 4) || (m.from === 2 && m.to === 3)))
    c.stabilize()
    unblock()
    for (const id of [1, 2]) {
      assert.equal(c.node(id).status().role, 'candidate', `node ${id}`)
      assert.equal(c.node(id).status().term, 1, `node ${id}`)
      assert.equal(c.node(id).status().votedFor, id)
    }
    assert.equal(c.node(3).status().votedFor, 1)
    assert.equal(c.node(4).status().votedFor, 2)
    assert.deepEqual(c.leaders(), [], 'nobody has 3 of 4 votes')

    // Only node 1's timer runs out: it campaigns again, in term 2, and wins.
    c.tickUntil(() => c.leaders().length > 0, {only: [1]})
    assert.deepEqual(
      c.leaders().map((n) => n.id),
      [1],
    )
    for (const id of [1, 2, 3, 4]) {
      assert.equal(c.node(id).status().term, 2, `node ${id}`)
      assert.equal(c.node(id).status().leaderId, 1, `node ${id}`)
    }
    assert.deepEqual(c.violations, [])
  })
})

/**
 * A 3-node cluster led by node 1; node 3 is partitioned for ten election timeouts while the others
 * keep working (two writes commit), then the partition heals.
 */
function partitionedFollowerRejoins(preVote: boolean) {
  const c = new Cluster([1, 2, 3], {config: {preVote}})
  c.elect(1)
  const termBefore = c.node(1).status().term
  c.isolate(3)
  c.node(1).propose('w1')
  c.node(1).propose('w2')
  c.tickAll(10 * E)
  const termOf3WhileIsolated = c.node(3).status().term
  const leaderDuringPartition = c.leaders().map((n) => n.id)
  c.heal()
  c.tickAll(3 * E)
  return {c, termBefore, termOf3WhileIsolated, leaderDuringPartition}
}

describe('PreVote', () => {
  test('a partitioned follower that times out repeatedly keeps its term and does not disrupt the leader on rejoin', () => {
    const {c, termBefore, termOf3WhileIsolated, leaderDuringPartition} = partitionedFollowerRejoins(true)
    assert.deepEqual(leaderDuringPartition, [1])
    const campaigns = c.sentMessages((m) => m.from === 3 && m.type === 'RequestVote')
    assert.ok(campaigns.length >= 10, `node 3 tried PreVote rounds (${campaigns.length} messages)`)
    assert.ok(
      campaigns.every((m) => m.type === 'RequestVote' && m.preVote),
      'but never a real election',
    )
    assert.equal(termOf3WhileIsolated, termBefore)
    assert.equal(c.node(1).status().role, 'leader', 'still leader after the rejoin')
    assert.equal(c.node(1).status().term, termBefore, "the leader's term did not move")
    assert.equal(c.node(3).status().role, 'follower')
    assert.equal(c.node(3).status().leaderId, 1)
    assert.ok(!c.events.some((e) => e.startsWith('1: stepped down')))
    assert.deepEqual(c.violations, [])
  })

  test('without PreVote the same rejoin bumps the term and deposes the leader (the test above can fail)', () => {
    const {c, termBefore, termOf3WhileIsolated} = partitionedFollowerRejoins(false)
    assert.ok(termOf3WhileIsolated >= termBefore + 5, `isolated node reached term ${termOf3WhileIsolated}`)
    assert.ok(
      c.events.some((e) => e.startsWith('1: stepped down')),
      'node 1 was deposed',
    )
    assert.ok(c.node(1).status().term > termBefore, 'the cluster term moved')
    assert.deepEqual(c.violations, [])
  })
})

describe('CheckQuorum', () => {
  test('a leader cut off from the majority steps down within 2 election timeouts; the majority elects a newer leader', () => {
    const ids = [1, 2, 3, 4, 5]
    const c = new Cluster(ids)
    c.elect(1)
    c.tickAll(E)
    const term = c.node(1).status().term
    c.isolate(1)
    const ticks = c.tickUntil(() => c.node(1).status().role !== 'leader', {max: 2 * E})
    assert.ok(ticks <= 2 * E, `stepped down after ${ticks} ticks`)
    assert.equal(c.node(1).status().role, 'follower')
    assert.equal(c.node(1).status().term, term, 'stepping down does not change the term')

    c.tickUntil(() => c.leaders().some((n) => n.id !== 1), {max: 4 * E})
    const [newLeader] = c.leaders()
    assert.notEqual(newLeader!.id, 1)
    assert.ok(newLeader!.status().term > term)
    const newTerm = newLeader!.status().term

    c.heal()
    c.tickAll(2 * E)
    assert.deepEqual(
      c.leaders().map((n) => n.id),
      [newLeader!.id],
      'after heal the old leader follows',
    )
    assert.equal(c.node(1).status().leaderId, newLeader!.id)
    assert.equal(c.node(1).status().term, newTerm, 'and the term does not move')
    assert.deepEqual(c.violations, [])
  })

  test('without CheckQuorum the cut-off leader stays leader indefinitely (the test above can fail)', () => {
    const c = new Cluster([1, 2, 3, 4, 5], {config: {checkQuorum: false}})
    c.elect(1)
    c.isolate(1)
    c.tickAll(5 * E)
    assert.equal(c.node(1).status().role, 'leader')
  })

  test('a follower that heard from the leader recently ignores a RequestVote of a higher term (lease)', () => {
    const c = new Cluster([1, 2, 3])
    c.elect(1)
    const term = c.node(1).status().term
    const n2 = c.node(2)
    const disruptor = () => requestVote(3, 2, term + 1, n2.log().lastIndex(), n2.log().lastTerm())

    c.inject(disruptor())
    assert.equal(c.process(2), null, 'no answer, no state change')
    assert.equal(n2.status().term, term)
    assert.equal(n2.status().votedFor, 1)
    assert.equal(n2.status().leaderId, 1)

    c.tick(2, E) // an election timeout without hearing from the leader: the lease is over
    c.inject(disruptor())
    assert.equal(n2.status().term, term + 1)
    assert.deepEqual(
      voteResponses(c.process(2)!.messages).map((m) => [m.to, m.term, m.voteGranted]),
      [[3, term + 1, true]],
    )
  })
})

describe('stale leader', () => {
  /** Node 1 leads term T, is partitioned with two uncommitted writes; {2, 3} elect a leader of T+1. */
  function deposedLeader() {
    const c = new Cluster([1, 2, 3])
    c.elect(1)
    const oldTerm = c.node(1).status().term
    c.isolate(1)
    assert.equal(c.node(1).propose('lost-1').ok, true)
    assert.equal(c.node(1).propose('lost-2').ok, true)
    c.stabilize()
    c.tickUntil(() => c.leaders().some((n) => n.id !== 1), {only: [2, 3]})
    const newLeader = c.leaders().find((n) => n.id !== 1)!
    assert.equal(newLeader.status().term, oldTerm + 1)
    newLeader.propose('new-1')
    c.stabilize()
    assert.equal(c.node(1).status().role, 'leader', 'node 1 does not know yet')
    return {c, oldTerm, newLeader}
  }

  function assertCaughtUp(c: Cluster, leaderId: number): void {
    const old = c.node(1)
    const leader = c.node(leaderId)
    assert.deepEqual(logOf(old.log().entries()), logOf(leader.log().entries()))
    assert.ok(
      !old
        .log()
        .entries()
        .some((e) => String(e.data).startsWith('lost')),
      'uncommitted entries of the old term are gone',
    )
    assert.deepEqual(logOf(c.storage.get(1)!.entries), logOf(leader.log().entries()), 'from its storage too')
    assert.ok(!c.applied.get(1)!.some((e) => String(e.data).startsWith('lost')), 'and were never applied')
    assert.ok(c.applied.get(1)!.some((e) => e.data === 'new-1'))
    assert.deepEqual(c.violations, [])
  }

  test('an old leader that gets an AppendEntriesResponse of a higher term steps down', () => {
    const {c, oldTerm, newLeader} = deposedLeader()
    c.heal()
    c.dropIf((m) => m.from === newLeader.id && m.to === 1) // it learns only from the answers to its own appends
    assert.equal(c.node(1).propose('lost-3').ok, true)
    c.stabilize()
    const old = c.node(1)
    assert.equal(old.status().role, 'follower')
    assert.equal(old.status().term, oldTerm + 1)
    assert.equal(old.status().leaderId, 0, 'it learned the term, not who leads it')
    assert.equal(old.propose('x').ok, false)

    c.heal()
    c.tickAll(HEARTBEAT_TICKS)
    assert.equal(old.status().leaderId, newLeader.id)
    assertCaughtUp(c, newLeader.id)
  })

  test('an old leader that gets an AppendEntries of a higher term becomes follower and its log is replaced', () => {
    const {c, oldTerm, newLeader} = deposedLeader()
    c.heal()
    c.tickAll(HEARTBEAT_TICKS, [newLeader.id])
    const old = c.node(1)
    assert.equal(old.status().role, 'follower')
    assert.equal(old.status().term, oldTerm + 1)
    assert.equal(old.status().leaderId, newLeader.id)
    assertCaughtUp(c, newLeader.id)
  })
})

describe('campaignNow (raftctl start asks one node of a fresh cluster to campaign)', () => {
  test('a follower with no leader campaigns at once, through PreVote, and wins without any tick', () => {
    const c = new Cluster([1, 2, 3], {seed: 3})
    assert.deepEqual(c.node(2).campaignNow(), {ok: true})
    assert.equal(c.node(2).status().role, 'pre-candidate')
    assert.equal(c.node(2).status().term, 0, 'PreVote first: no term spent yet')
    c.stabilize()
    assert.equal(c.node(2).status().role, 'leader')
    assert.equal(c.node(2).status().term, 1)
    for (const id of [1, 3]) assert.equal(c.node(id).status().leaderId, 2)
  })

  test('refused by a leader and by a node that knows a leader; a healthy leader is never disturbed', () => {
    const c = new Cluster([1, 2, 3], {seed: 4})
    const leader = c.elect(1)
    const term = leader.status().term
    assert.equal(leader.campaignNow().ok, false)
    const r = c.node(3).campaignNow()
    assert.equal(r.ok, false)
    assert.match((r as {reason: string}).reason, /leader 1 is known/)
    c.stabilize()
    assert.equal(c.node(1).status().role, 'leader')
    assert.equal(c.node(1).status().term, term)
    assert.equal(c.sentMessages(is.type('RequestVote')).filter((m) => m.term > term).length, 0)
  })

  test('a node whose log is behind loses its PreVote without spending a term, and another node is elected by timeout', () => {
    const c = new Cluster([1, 2, 3], {seed: 5, initial: {1: {currentTerm: 1, log: [1]}, 2: {currentTerm: 2, log: [1, 2]}, 3: {currentTerm: 2, log: [1, 2]}}})
    assert.equal(c.node(1).campaignNow().ok, true)
    c.stabilize()
    assert.notEqual(c.node(1).status().role, 'leader')
    assert.equal(c.node(2).status().term, 2, "the rejected PreVote left the others' terms alone")
    c.tickUntil(() => c.leaders().length === 1)
    assert.notEqual(c.leaders()[0]!.id, 1)
  })
})
