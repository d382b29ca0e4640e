// Log replication (Raft §5.3, §5.4.2): commitment by a majority, followers learning commitIndex,
// pipelining and batching, the paper's Figure 7 (follower logs repaired with conflict hints) and
// Figure 8 (no commitment of older-term entries by counting), and conflict truncation.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {Cluster, ELECTION_TICKS, HEARTBEAT_TICKS, is, logOf, termsOf, type NodeSpec} from './harness.js'
import type {AppendEntries, AppendEntriesResponse, Message} from '../../src/core/types.js'

const E = ELECTION_TICKS

const appendsTo =
  (to: number) =>
  (m: Message): m is AppendEntries =>
    m.type === 'AppendEntries' && m.to === to
const withEntries = (msgs: Message[], to: number): AppendEntries[] => msgs.filter(appendsTo(to)).filter((m) => m.entries.length > 0)

describe('log replication', () => {
  test('a proposal commits once a majority holds it; followers then learn the commitIndex', () => {
    const c = new Cluster([1, 2, 3, 4, 5])
    const leader = c.elect(1)
    const before = leader.status().commitIndex
    const r = leader.propose('x')
    assert.ok(r.ok)
    assert.equal(r.index, before + 1)

    c.collect() // the leader sends AppendEntries [x] to 2..5
    c.deliver(is.to(2))
    c.collect()
    c.deliver(is.to(1))
    assert.equal(leader.status().commitIndex, before, 'leader + node 2 are 2 of 5: not committed')
    assert.equal(leader.followerProgress(2)!.matchIndex, r.index)

    c.deliver(is.to(3))
    c.collect()
    c.deliver(is.to(1))
    assert.equal(leader.status().commitIndex, r.index, 'leader + nodes 2, 3 are a majority')
    assert.equal(c.node(2).status().commitIndex, before, 'followers have not heard of it yet')

    const rd = c.process(1)!
    assert.deepEqual(
      rd.committedEntries.map((e) => e.data),
      ['x'],
    )
    assert.ok(rd.messages.filter(is.type('AppendEntries')).every((m) => (m as AppendEntries).leaderCommit <= r.index))

    c.dropPending(is.to(4)) // node 4 lost its copy of x
    c.stabilize()
    for (const id of [2, 3]) {
      assert.equal(c.node(id).status().commitIndex, r.index, `node ${id} learned it from the commit broadcast`)
      assert.deepEqual(
        c.applied
          .get(id)!
          .map((e) => e.data)
          .filter(Boolean),
        ['x'],
        `node ${id}`,
      )
    }
    assert.equal(c.node(5).log().lastIndex(), r.index, 'node 5 holds x')
    assert.equal(c.node(5).status().commitIndex, before, 'but was acknowledged after the commit: it learns at the next heartbeat')
    assert.equal(c.node(4).status().commitIndex, before, 'node 4 is never told a commitIndex past what it holds')
    c.tickAll(HEARTBEAT_TICKS, [1])
    assert.equal(c.node(5).status().commitIndex, r.index)
    leader.propose('y')
    c.stabilize()
    assert.deepEqual(
      c.applied
        .get(4)!
        .map((e) => e.data)
        .filter(Boolean),
      ['x', 'y'],
      'node 4 is repaired by the next append',
    )
    assert.deepEqual(c.violations, [])
  })

  test('pipelining: with maxInflight 2 at most 2 AppendEntries are un-acknowledged to a replicating follower', () => {
    const c = new Cluster([1, 2, 3], {config: {maxInflight: 2}})
    const leader = c.elect(1)
    assert.equal(leader.followerProgress(2)!.state, 'replicate')
    const perReady: number[] = []
    for (let k = 1; k <= 5; k++) {
      leader.propose(`p${k}`)
      perReady.push(withEntries(c.process(1)!.messages, 2).length)
    }
    assert.deepEqual(perReady, [1, 1, 0, 0, 0], 'two appends go out, then the window is full')
    const unacked = withEntries(c.pending, 2)
    assert.deepEqual(
      unacked.map((m) => m.entries.map((e) => e.data)),
      [['p1'], ['p2']],
    )

    // One acknowledgement frees one slot: everything not yet sent goes in one message.
    c.deliver((m) => m === unacked[0])
    c.process(2)
    c.deliver(is.to(1))
    const next = withEntries(c.process(1)!.messages, 2)
    assert.deepEqual(
      next.map((m) => m.entries.map((e) => e.data)),
      [['p3', 'p4', 'p5']],
    )

    c.stabilize()
    assert.deepEqual(
      c
        .node(2)
        .log()
        .entries()
        .map((e) => e.data)
        .filter(Boolean),
      ['p1', 'p2', 'p3', 'p4', 'p5'],
    )
    assert.deepEqual(c.violations, [])
  })

  test('batching: proposals made before one ready() travel in one AppendEntries per follower', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    for (const d of ['a', 'b', 'c']) leader.propose(d)
    const rd = c.process(1)!
    for (const id of [2, 3]) {
      const appends = withEntries(rd.messages, id)
      assert.equal(appends.length, 1, `node ${id}`)
      assert.deepEqual(
        appends[0]!.entries.map((e) => e.data),
        ['a', 'b', 'c'],
      )
    }
    assert.deepEqual(
      rd.entries.map((e) => e.data),
      ['a', 'b', 'c'],
      'persisted in the same Ready',
    )
  })

  test('batching respects maxEntriesPerAppend', () => {
    const c = new Cluster([1, 2, 3], {config: {maxEntriesPerAppend: 2}})
    const leader = c.elect(1)
    for (const d of ['a', 'b', 'c', 'd', 'e']) leader.propose(d)
    const appends = withEntries(c.process(1)!.messages, 2)
    assert.deepEqual(
      appends.map((m) => m.entries.map((e) => e.data)),
      [['a', 'b'], ['c', 'd'], ['e']],
    )
    c.stabilize()
    assert.deepEqual(
      c
        .node(2)
        .log()
        .entries()
        .map((e) => e.data)
        .filter(Boolean),
      ['a', 'b', 'c', 'd', 'e'],
    )
  })

  test('a follower whose AppendEntries were lost catches up without new proposals after the partition heals', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    c.isolate(3)
    leader.propose('w1')
    leader.propose('w2')
    c.stabilize()
    c.heal()
    c.tickAll(5 * E)
    assert.deepEqual(logOf(c.node(3).log().entries()), logOf(leader.log().entries()))
    assert.equal(c.node(3).status().commitIndex, leader.status().commitIndex)
  })
})

describe('Figure 7: a leader of term 8 repairs every follower log', () => {
  // Raft paper, Figure 7. Indexes 1..12; the leader holds 1 1 1 4 4 5 5 6 6 6.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
  const followers: Record<string, {id: number; log: number[]; term: number; conflictingTerms: number}> = {
    a: {id: 2, log: [1, 1, 1, 4, 4, 5, 5, 6, 6], term: 6, conflictingTerms: 0},
    b: {id: 3, log: [1, 1, 1, 4], term: 4, conflictingTerms: 0},
    c: {id: 4, log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], term: 6, conflictingTerms: 1},
    d: {id: 5, log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], term: 7, conflictingTerms: 1},
    e: {id: 6, log: [1, 1, 1, 4, 4, 4, 4], term: 4, conflictingTerms: 1},
    f: {id: 7, log: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], term: 3, conflictingTerms: 2},
  }

  function figure7() {
    const initial: Record<number, NodeSpec> = {1: {currentTerm: 7, log: leaderLog}}
    for (const f of Object.values(followers)) initial[f.id] = {currentTerm: f.term, log: f.log}
    const c = new Cluster([1, 2, 3, 4, 5, 6, 7], {initial})
    // (c) and (d) refuse the leader (their logs are more up to date); a, b, e, f elect it.
    const leader = c.elect(1)
    return {c, leader}
  }

  test('after stabilize every follower log equals the leader log, with the no-op of term 8 committed', () => {
    const {c, leader} = figure7()
    assert.equal(leader.status().term, 8)
    assert.deepEqual(termsOf(leader.log().entries()), [...leaderLog, 8])
    assert.equal(leader.status().commitIndex, 11)
    for (const [name, f] of Object.entries(followers)) {
      const n = c.node(f.id)
      assert.deepEqual(logOf(n.log().entries()), logOf(leader.log().entries()), `follower (${name})`)
      assert.deepEqual(logOf(c.storage.get(f.id)!.entries), logOf(leader.log().entries()), `follower (${name}) storage`)
      assert.equal(n.status().term, 8, `follower (${name})`)
      assert.equal(n.status().commitIndex, 11, `follower (${name})`)
    }
    assert.deepEqual(c.violations, [])
  })

  test('the conflict hints keep the rejections per follower at most (distinct conflicting terms + 1)', () => {
    const {c} = figure7()
    const rejections = (id: number) => c.sentMessages((m) => m.type === 'AppendEntriesResponse' && m.from === id && !m.success).length
    const counts: Record<string, number> = {}
    for (const [name, f] of Object.entries(followers)) {
      counts[name] = rejections(f.id)
      assert.ok(counts[name]! <= f.conflictingTerms + 1, `follower (${name}): ${counts[name]} rejections`)
    }
    // Backtracking one index per rejection would have cost (f) 7 and (e) 3 rejections.
    assert.ok(counts['f']! <= 3 && counts['e']! <= 2, JSON.stringify(counts))
  })

  test("follower (f)'s extra entries of terms 2 and 3 are removed, from memory and from storage", () => {
    const {c} = figure7()
    const f = c.node(followers['f']!.id)
    assert.deepEqual(termsOf(f.log().entries()), [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8])
    assert.ok(
      !f
        .log()
        .entries()
        .some((e) => e.term === 2 || e.term === 3),
    )
    assert.ok(!c.storage.get(f.id)!.entries.some((e) => e.term === 2 || e.term === 3))
    // Storage truncated from the first conflicting index: the Ready that fixed it started at 4.
    const fix = c.readies.get(f.id)!.find((rd) => rd.entries.length > 0)!
    assert.equal(fix.entries[0]!.index, 4)
  })
})

describe('Figure 8: an entry of an older term is not committed by counting replicas', () => {
  // Five servers. (a)/(b) happened before the test starts: S1 led term 2 and put 2@2 on S2; S5 led
  // term 3 (votes of S3, S4) and wrote 2@3 only locally. Now (c): S5 is down and S1 leads term 4.
  // CheckQuorum leases are off (the figure predates them); S1 sends one entry per AppendEntries.
  function figure8(mutant?: 'commit-old-term') {
    const c = new Cluster([1, 2, 3, 4, 5], {
      config: {checkQuorum: false},
      perNode: {1: {maxEntriesPerAppend: 1, ...(mutant ? {mutant} : {})}},
      initial: {
        1: {currentTerm: 3, log: [1, 2], commitIndex: 1},
        2: {currentTerm: 3, log: [1, 2], commitIndex: 1},
        3: {currentTerm: 3, votedFor: 5, log: [1], commitIndex: 1},
        4: {currentTerm: 3, votedFor: 5, log: [1], commitIndex: 1},
        5: {currentTerm: 3, votedFor: 5, log: [1, 3], commitIndex: 1},
      },
    })
    c.crash(5)
    c.timeout(1)
    c.stabilize(is.vote)
    const s1 = c.node(1)
    assert.equal(s1.status().role, 'leader')
    assert.equal(s1.status().term, 4)
    // (c) S1 replicates 2@2 to S3, but once S3 holds it, S1's entry of term 4 gets lost on the way
    // there; S4 is unreachable.
    c.cut(1, 4)
    const s3HasOldEntry = () => c.node(3).log().termAt(2) === 2
    c.dropIf((m) => m.type === 'AppendEntries' && m.to === 3 && m.entries.some((e) => e.term === 4) && s3HasOldEntry())
    c.stabilize()
    return {c, s1}
  }

  function assertNotCommittedByCounting(c: Cluster, s1: ReturnType<Cluster['node']>): void {
    const holders = [1, 2, 3, 4, 5].filter((id) => c.node(id).log().termAt(2) === 2)
    assert.deepEqual(holders, [1, 2, 3], '2@2 is on a majority')
    assert.equal(s1.followerProgress(3)!.matchIndex, 2, 'and S1 knows it')
    assert.deepEqual(
      [1, 2, 3, 4, 5].filter((id) => c.node(id).log().termAt(3) === 4),
      [1, 2],
      '3@4 is on a minority',
    )
    assert.equal(s1.status().commitIndex, 1, 'S1 must not commit 2@2 by counting')
    assert.ok([1, 2, 3].every((id) => c.node(id).status().commitIndex === 1))
  }

  test('(c) 2@2 on a majority stays uncommitted; (d) S5 may then overwrite it, and nobody applied it', () => {
    const {c, s1} = figure8()
    assertNotCommittedByCounting(c, s1)

    // (d) S1 crashes; S5 comes back and is elected by S3 and S4 (its last term 3 beats their 2 and 1).
    c.heal()
    c.crash(1)
    c.restart(5)
    c.tickUntil(() => c.node(5).status().role === 'leader', {only: [5]})
    const s5 = c.node(5)
    assert.equal(s5.status().term, 5)
    c.stabilize()
    for (const id of [2, 3, 4, 5]) assert.deepEqual(termsOf(c.node(id).log().entries()), [1, 3, 5], `S${id}`)
    assert.equal(s5.status().commitIndex, 3)
    for (const id of [2, 3, 4, 5]) {
      assert.ok(!c.applied.get(id)!.some((e) => e.index === 2 && e.term === 2), `S${id} never applied 2@2`)
    }
    assert.deepEqual(c.violations, [])
  })

  test('the commit-old-term mutant commits 2@2 by counting (the test above can fail)', () => {
    const {c, s1} = figure8('commit-old-term')
    assert.throws(() => assertNotCommittedByCounting(c, s1), {name: 'AssertionError'})
    assert.equal(s1.status().commitIndex, 2)
  })

  test('(e) once S1 commits an entry of term 4 on a majority, 2@2 commits with it and S5 cannot win', () => {
    const {c, s1} = figure8()
    c.heal()
    c.cut(1, 4)
    s1.propose('x')
    c.stabilize()
    assert.deepEqual(termsOf(c.node(3).log().entries()), [1, 2, 4, 4])
    assert.equal(s1.status().commitIndex, 4)
    assert.deepEqual(
      c.applied.get(1)!.map((e) => `${e.index}@${e.term}`),
      ['1@1', '2@2', '3@4', '4@4'],
    )

    c.heal()
    c.crash(1)
    c.restart(5)
    c.tickAll(6 * E, [5])
    assert.notEqual(c.node(5).status().role, 'leader', 'S2 and S3 refuse a log that ends in term 3')
    assert.deepEqual(termsOf(c.node(3).log().entries()), [1, 2, 4, 4], 'the committed entries survive')
    assert.deepEqual(c.violations, [])
  })
})

describe('conflict truncation', () => {
  // Node 3 holds entries of term 2 that its leader never committed; nodes 1 and 2 moved on to term 3.
  function conflict(mutant?: 'no-truncate-conflict') {
    const c = new Cluster([1, 2, 3], {
      perNode: mutant ? {3: {mutant}} : {},
      initial: {
        1: {currentTerm: 3, log: [1, 3], commitIndex: 1},
        2: {currentTerm: 3, log: [1, 3], commitIndex: 1},
        3: {currentTerm: 2, log: [1, 2, 2, 2], commitIndex: 1},
      },
    })
    const leader = c.elect(1)
    leader.propose('x')
    c.stabilize()
    return {c, leader}
  }

  function assertFollowerMatches(c: Cluster, leader: ReturnType<Cluster['node']>): void {
    assert.deepEqual(logOf(c.node(3).log().entries()), logOf(leader.log().entries()))
    assert.deepEqual(logOf(c.storage.get(3)!.entries), logOf(leader.log().entries()))
  }

  test('a follower with a conflicting suffix truncates it, and its Ready starts at the conflict index', () => {
    const {c, leader} = conflict()
    assert.deepEqual(termsOf(leader.log().entries()), [1, 3, 4, 4])
    assertFollowerMatches(c, leader)
    const first = c.readies.get(3)!.find((rd) => rd.entries.length > 0)!
    assert.equal(first.entries[0]!.index, 2, 'storage must cut from index 2 on')
    assert.equal(first.entries[0]!.term, 3)
    const rejection = c.sentMessages((m) => m.type === 'AppendEntriesResponse' && m.from === 3 && !m.success)
    assert.deepEqual(
      rejection.map((m) => [(m as AppendEntriesResponse).conflictIndex, (m as AppendEntriesResponse).conflictTerm]),
      [[2, 2]],
      'one rejection, hinting at the first index of term 2',
    )
    assert.deepEqual(c.violations, [])
  })

  test('the no-truncate-conflict mutant leaves the follower log different (the test above can fail)', () => {
    const {c, leader} = conflict('no-truncate-conflict')
    assert.throws(() => assertFollowerMatches(c, leader), {name: 'AssertionError'})
    assert.deepEqual(termsOf(c.node(3).log().entries()), [1, 2, 2, 2], 'it kept every entry of term 2')
    assert.ok(
      c.violations.some((v) => v.startsWith('state machine safety')),
      c.violations.join('\n'),
    )
  })

  test('an AppendEntries that overlaps what the follower holds does not truncate matching entries', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    leader.propose('a')
    leader.propose('b')
    c.collect()
    const appends = c.pending.filter(appendsTo(2))
    c.stabilize()
    const before = logOf(c.node(2).log().entries())
    c.inject({...appends[0]!}) // a duplicate, delivered late
    c.stabilize()
    assert.deepEqual(logOf(c.node(2).log().entries()), before)
    assert.deepEqual(c.violations, [])
    c.tickAll(HEARTBEAT_TICKS)
  })
})

describe('the leader writes its log in parallel with replicating it (Raft thesis 10.2.1)', () => {
  test('its own entries count toward commitment only once its driver persisted them', () => {
    const c = new Cluster([1, 2, 3])
    const leader = c.elect(1)
    const before = leader.status().commitIndex
    assert.ok(leader.propose('x').ok)
    // The driver takes the Ready and sends its AppendEntries before its own fsync is done.
    const rd = leader.ready()
    const appends = rd.messages.filter((m): m is AppendEntries => m.type === 'AppendEntries' && m.entries.length > 0)
    assert.equal(appends.length, 2)
    for (const m of appends) c.inject(m)
    c.collect() // the followers persist and acknowledge (the leader's Ready is still out)
    const acks = c.pending.filter((m) => m.type === 'AppendEntriesResponse' && m.to === 1)
    c.deliver(is.to(1))
    assert.ok(acks.length > 0)
    // Two followers hold x durably: a majority of three without the leader.
    assert.equal(leader.status().commitIndex, before + 1, 'two durable followers of three commit x')

    // With one follower only, the leader's unsynced copy must not make the majority.
    assert.ok(leader.propose('y').ok)
    leader.advance(rd)
    const rd2 = leader.ready()
    const toTwo = rd2.messages.filter((m): m is AppendEntries => m.type === 'AppendEntries' && m.to === 2 && m.entries.length > 0)
    assert.equal(toTwo.length, 1)
    c.inject(toTwo[0]!)
    c.process(2)
    c.deliver(is.to(1))
    assert.equal(leader.status().commitIndex, before + 1, 'node 2 and an unsynced leader are not a durable majority')
    leader.advance(rd2) // the driver's fsync completed
    assert.equal(leader.status().commitIndex, before + 2, 'once persisted, the leader counts itself')
    // ...and tells the followers in its next Ready.
    const rd3 = leader.ready()
    assert.ok(rd3.messages.some((m) => m.type === 'AppendEntries' && m.leaderCommit === before + 2))
  })
})
