// The liveness and durability verdicts of `raftctl check`, from hand-made records: a leader that
// stays during a partial partition passes and one that keeps changing fails; after the final heal
// a leader must come soon and every client must write; a lost acknowledged write fails durability
// while an unknown one may be there or not; and the exit code the verdicts add up to.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {extraCandidates, judgeDurability, readBackIndex, writeOnceOps} from '../../src/check/durability.js'
import type {OpRecord, StatusRecord} from '../../src/check/history.js'
import {judgeLiveness, windowClaim, type LivenessInput} from '../../src/check/liveness.js'
import type {FaultWindow} from '../../src/check/nemesis.js'
import {STALL_MS, type Fault} from '../../src/check/plan.js'
import {CHECK_EXIT, exitCodeOf} from '../../src/check/verdicts.js'
import {bridge, ring, tethered} from '../../src/sim/partitions.js'

const ids = [1, 2, 3, 4, 5]

/** Status samples every 200 ms in [from, to): the leader and term `at(t)` gives. */
function samples(from: number, to: number, at: (t: number) => [number | null, number]): StatusRecord['status'][] {
  const out: StatusRecord['status'][] = []
  for (let t = from; t < to; t += 200) {
    const [leader, term] = at(t)
    out.push({time: t, leader, term: leader === null ? null : term, nodes: ids.map(() => ({role: 'follower', term, commit: 1}))})
  }
  return out
}

let nextId = 0
function write(client: number, complete: number, status: OpRecord['status'] = 'ok', key = 'k'): OpRecord {
  return {id: ++nextId, client, process: client, op: 'put', key, value: `c${client}-${nextId}`, invoke: complete - 2, complete, status}
}

function partition(text: string, rules: Fault & {type: 'partition'} extends {rules: infer R} ? R : never): Fault {
  return {type: 'partition', fault: 'tethered', kind: 'tethered', rules, nodes: [], text}
}

function input(over: Partial<LivenessInput>): LivenessInput {
  return {
    nodeIds: ids,
    settleMs: 2400,
    statuses: samples(0, 20_000, () => [1, 3]),
    ops: [0, 1, 2, 3].flatMap((c) => [write(c, 5000), write(c, 16_000)]),
    windows: [],
    healedAt: 15_000,
    quiet: {from: 15_500, to: 17_500},
    clients: 4,
    ...over,
  }
}

test('claims: a partition with a fully connected majority keeps a leader; a ring promises nothing; a stall keeps writes going', () => {
  const w = (fault: Fault): FaultWindow => ({fault, from: 0, to: 6000})
  assert.equal(windowClaim(w(partition('t', tethered(ids, [1, 2, 3]).rules)), ids), 'stable-leader')
  assert.equal(windowClaim(w(partition('b', bridge(ids, 3).rules)), ids), 'stable-leader')
  assert.equal(windowClaim(w(partition('r', ring(ids).rules)), ids), null)
  assert.equal(windowClaim(w({type: 'slow-disk', fault: 'slow-disk', node: 1, leader: true, fsyncDelayMs: STALL_MS, text: 's'}), ids), 'progress')
  assert.equal(windowClaim(w({type: 'slow-disk', fault: 'slow-disk', node: 1, leader: true, fsyncDelayMs: 50, text: 's'}), ids), null)
  assert.equal(windowClaim(w({type: 'kill', fault: 'kill', node: 1, leader: true, text: 'k'}), ids), null)
})

test('during a tethered partition: a leader that stays passes, one that keeps changing fails', () => {
  const fault = partition('tethered: 1,2,3 fully connected; only 4-1 5-2', tethered(ids, [1, 2, 3]).rules)
  const windows: FaultWindow[] = [{fault, from: 2000, to: 8000}]
  const ops = [...input({}).ops, write(0, 6000)]
  const stable = judgeLiveness(input({windows, ops, statuses: samples(0, 20_000, (t) => (t < 3000 ? [4, 3] : [1, 4]))}))
  assert.equal(stable.result, 'pass', stable.text)
  assert.equal(stable.windowsJudged, 1)
  // Livelock: a new leader and term every 600 ms (what PreVote and CheckQuorum off do).
  const churn = judgeLiveness(
    input({windows, ops, statuses: samples(0, 20_000, (t) => (t >= 2000 && t < 8000 ? [1 + (Math.floor(t / 600) % 3), 4 + Math.floor(t / 600)] : [1, 30]))}),
  )
  assert.equal(churn.result, 'fail')
  assert.match(churn.text, /^during tethered: 1,2,3 fully connected; only 4-1 5-2: the leader did not stay: \d+ leader\(s\), terms \d+\.\.\d+/)
  assert.deepEqual([churn.problems[0]!.from, churn.problems[0]!.to], [4400, 8000])
  // No write after it settled fails too; a window too short to settle is not judged.
  const idle = judgeLiveness(input({windows, ops: [0, 1, 2, 3].map((c) => write(c, 16_000))}))
  assert.match(idle.text, /no write completed in the 3600 ms after it settled/)
  assert.equal(judgeLiveness(input({windows: [{fault, from: 2000, to: 4000}]})).windowsJudged, 0)
})

test('after the final heal: a leader within the settling time, the same until the end, every client writing', () => {
  assert.equal(judgeLiveness(input({})).result, 'pass')
  const late = judgeLiveness(input({statuses: samples(0, 20_000, (t) => (t < 18_000 && t > 10_000 ? [null, 3] : [1, 3]))}))
  assert.equal(late.result, 'fail')
  assert.equal(late.text, 'after the final heal: no leader within 2400 ms')
  const changes = judgeLiveness(input({statuses: samples(0, 20_000, (t) => (t < 16_000 ? [1, 3] : [2, 4]))}))
  assert.equal(changes.text, 'after the final heal: the leader changed 1 time(s) after the first one was elected')
  const lazy = judgeLiveness(input({ops: [0, 2].map((c) => write(c, 16_000))}))
  assert.equal(lazy.text, 'after the final heal: client(s) 1, 3 completed no write in the quiet period')
  assert.equal(judgeLiveness(input({quiet: null, healedAt: null})).result, 'n/a')
})

test('durability: acknowledged writes must be read back; unknown ones may be there or not; failed ones must not', () => {
  const once = (k: string) => k.startsWith('t/once/')
  const ops = [
    write(0, 10, 'ok', 't/once/a'),
    write(0, 11, 'ok', 't/once/b'),
    write(1, 12, 'indeterminate', 't/once/c'),
    write(1, 13, 'indeterminate', 't/once/d'),
    write(2, 14, 'failed', 't/once/e'),
    write(2, 15, 'ok', 't/k0'),
  ]
  const writes = writeOnceOps(ops, once)
  assert.deepEqual(
    writes.map((w) => w.key),
    ['t/once/a', 't/once/b', 't/once/c', 't/once/d', 't/once/e'],
  )
  const value = (k: string) => ops.find((o) => o.key === k)!.value as string
  const all = judgeDurability(writes, [
    {key: 't/once/a', value: value('t/once/a')},
    {key: 't/once/b', value: value('t/once/b')},
    {key: 't/once/c', value: value('t/once/c')},
    {key: 't/once/d', value: null},
    {key: 't/once/e', value: null},
  ])
  assert.equal(all.result, 'pass', all.text)
  assert.deepEqual([all.acknowledged, all.verified, all.unknownPresent, all.unknownAbsent], [2, 2, 1, 1])
  const lost = judgeDurability(writes, [
    {key: 't/once/a', value: value('t/once/a')},
    {key: 't/once/b', value: null},
    {key: 't/once/e', value: value('t/once/e')},
    {key: 't/once/c', error: 'no leader'},
  ])
  assert.equal(lost.result, 'fail')
  assert.match(lost.text, /^1 of 2 acknowledged write\(s\) lost \(e\.g\. #\d+ t\/once\/b=c0-\d+, read back absent\); 1 write\(s\) that failed are there/)
  assert.equal(judgeDurability(writes, null).result, 'n/a')
  assert.equal(
    judgeDurability(
      writes,
      writes.map((w) => ({key: w.key, error: 'no leader'})),
    ).result,
    'n/a',
  )
})

test('durability on every node: each holds every acknowledged write, none a write the cluster does not', () => {
  const once = (k: string) => k.startsWith('t/once/')
  const ops = [
    write(0, 10, 'ok', 't/once/a'),
    write(0, 11, 'ok', 't/once/b'),
    write(1, 12, 'indeterminate', 't/once/c'),
    write(1, 13, 'indeterminate', 't/once/d'),
    write(2, 14, 'failed', 't/once/e'),
  ]
  const writes = writeOnceOps(ops, once)
  const value = (k: string) => ops.find((o) => o.key === k)!.value as string
  const cluster = [
    {key: 't/once/a', value: value('t/once/a'), index: 40},
    {key: 't/once/b', value: value('t/once/b'), index: 41},
    {key: 't/once/c', value: value('t/once/c'), index: 41},
    {key: 't/once/d', value: null, index: 42},
    {key: 't/once/e', value: null, index: 42},
  ]
  assert.equal(readBackIndex(cluster), 42)
  const agrees = {node: 1, values: new Map<string, string | null>(cluster.map((r) => [r.key, r.value]))}
  const ok = judgeDurability(writes, cluster, '', [agrees, {node: 2, values: null, why: 'applied only 3 of 42'}])
  assert.equal(ok.result, 'pass', ok.text)
  assert.deepEqual([ok.nodesChecked, ok.nodesUnchecked], [1, 1])
  assert.match(ok.text, /on 1 of 2 node\(s\) \(node 2: applied only 3 of 42\)/)
  // Node 3 kept entries of its own: it lacks an acknowledged write and holds an unknown one the
  // cluster does not; node 4 holds a write that failed.
  const diverged = {node: 3, values: new Map(agrees.values).set('t/once/b', null).set('t/once/d', value('t/once/d'))}
  const phantom = {node: 4, values: new Map(agrees.values).set('t/once/e', value('t/once/e'))}
  assert.deepEqual(extraCandidates(writes, cluster, [agrees, diverged, phantom]), ['t/once/d', 't/once/e'])
  const bad = judgeDurability(writes, cluster, '', [agrees, diverged, phantom], [{key: 't/once/d', value: null}])
  assert.equal(bad.result, 'fail')
  assert.deepEqual(
    bad.divergent.map((d) => [d.node, d.key, d.what]),
    [
      [3, 't/once/b', 'missing'],
      [3, 't/once/d', 'extra'],
      [4, 't/once/e', 'extra'],
    ],
  )
  assert.match(
    bad.text,
    /^replicas disagree: node 3 lacks 1 acknowledged write\(s\) \(e\.g\. #\d+ t\/once\/b=c0-\d+\), node 3 holds 1 write\(s\) the cluster does not/,
  )
  // An unknown write that committed after the read-back read it: the leader has it now too.
  const late = judgeDurability(
    writes,
    cluster,
    '',
    [agrees, {node: 5, values: new Map(agrees.values).set('t/once/d', value('t/once/d'))}],
    [{key: 't/once/d', value: value('t/once/d')}],
  )
  assert.equal(late.result, 'pass', late.text)
})

test('the exit code: lost writes, then not linearizable, then not live, then undecided', () => {
  const live = {result: 'pass', text: '', windowsJudged: 0, problems: []} as const
  const dead = {...live, result: 'fail'} as const
  const durable = judgeDurability([], [])
  const lost = {...durable, result: 'fail'} as const
  assert.equal(exitCodeOf('linearizable', live, durable), 0)
  assert.equal(exitCodeOf('undecided', live, durable), CHECK_EXIT.undecided)
  assert.equal(exitCodeOf('undecided', dead, durable), CHECK_EXIT.notLive)
  assert.equal(exitCodeOf('not-linearizable', dead, durable), CHECK_EXIT.notLinearizable)
  assert.equal(exitCodeOf('not-linearizable', dead, lost), CHECK_EXIT.notDurable)
  assert.deepEqual(CHECK_EXIT, {notLinearizable: 6, undecided: 7, notDurable: 8, notLive: 9})
})
