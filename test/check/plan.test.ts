// The nemesis plan of `raftctl check`: a seed replays the same schedule; every fault is a valid
// one for the cluster; leader isolations dominate the default kinds; partial topologies have the
// shape they are named for and are held long enough to judge liveness.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Prng} from '../../src/lib/prng.js'
import {
  BACKGROUND_KINDS,
  DEFAULT_FAULTS,
  FAULT_KINDS,
  FAULT_TEXT,
  FaultDeck,
  planBackground,
  planFault,
  planPartition,
  restMs,
  ringReach,
  settleMs,
  STALL_MS,
  type Fault,
  type FaultKind,
  type PlannedFault,
} from '../../src/check/plan.js'
import {bridge, fullyConnectedMajority, tethered} from '../../src/sim/partitions.js'
import {LinkFilter} from '../../src/transport/link-filter.js'

const ids = (n: number) => Array.from({length: n}, (_, i) => i + 1)

const decks = new WeakMap<Prng, FaultDeck>()

/** The next fault of a run with these kinds enabled (one deck per PRNG, as in a run). */
function plan(prng: Prng, kinds: readonly FaultKind[], nodeIds: number[], leader: number | null): PlannedFault {
  let deck = decks.get(prng)
  if (!deck) decks.set(prng, (deck = new FaultDeck(kinds)))
  return planFault(prng, deck.draw(prng), nodeIds, leader)
}

function schedule(seed: number, n: number, leader: number | null): string[] {
  const prng = new Prng(seed)
  const out: string[] = []
  for (let i = 0; i < 20; i++) {
    const p = plan(prng, FAULT_KINDS, ids(n), leader)
    out.push(`${restMs(prng)} ${p.holdMs} ${p.fault.text}`)
  }
  return out
}

test('a seed replays the same schedule; another seed gives another', () => {
  assert.deepEqual(schedule(42, 3, 1), schedule(42, 3, 1))
  assert.notDeepEqual(schedule(42, 3, 1), schedule(43, 3, 1))
})

test('only the enabled fault kinds are planned; rests are short; every kind is described', () => {
  const prng = new Prng(9)
  for (let i = 0; i < 500; i++) {
    const r = restMs(prng)
    assert.ok(r >= 200 && r <= 800, `rest ${r}`)
    assert.equal(plan(prng, ['pause'], ids(5), 2).fault.type, 'pause')
  }
  for (const k of FAULT_KINDS) assert.ok(FAULT_TEXT[k].length > 10, k)
  assert.deepEqual([...DEFAULT_FAULTS], ['partition', 'kill', 'pause', 'delay'])
})

test('a background delay is no step of its own: a light delay with jitter on every link, held for seconds', () => {
  assert.deepEqual([...BACKGROUND_KINDS], ['delay'])
  assert.equal(new FaultDeck(['delay']).empty, true)
  const prng = new Prng(4)
  for (let i = 0; i < 200; i++) {
    assert.notEqual(plan(prng, FAULT_KINDS, ids(5), 1).fault.fault, 'delay')
    const b = planBackground(prng, ids(5))
    assert.ok(b.holdMs >= 4000 && b.holdMs <= 10_000)
    assert.equal(b.fault.type, 'net')
    if (b.fault.type !== 'net') continue
    assert.equal(b.fault.links.length, 20)
    for (const l of b.fault.links) assert.ok(l.delayMs! >= 10 && l.delayMs! <= 40 && l.jitterMs === Math.round(l.delayMs! / 2))
  }
})

test('every planned fault targets nodes of the cluster; leader faults name the leader', () => {
  for (const n of [1, 3, 4, 5, 7]) {
    const prng = new Prng(n * 101)
    const kinds = new Set<string>()
    for (let i = 0; i < 600; i++) {
      const leader = prng.chance(0.8) ? prng.int(1, n) : null
      const f: Fault = plan(prng, FAULT_KINDS, ids(n), leader).fault
      kinds.add(f.type === 'partition' ? f.kind : f.fault)
      const inCluster = (id: number) => assert.ok(id >= 1 && id <= n, `node ${id} in ${f.text}`)
      switch (f.type) {
        case 'kill':
        case 'pause':
        case 'slow-disk':
        case 'member':
          inCluster(f.node)
          assert.equal(f.leader, f.node === leader)
          break
        case 'net':
          for (const l of f.links) {
            inCluster(l.from)
            inCluster(l.to)
            assert.notEqual(l.from, l.to)
          }
          assert.ok(f.links.length > 0 || n === 1)
          break
        case 'partition': {
          const seen = new Set<number>()
          for (const g of f.rules.groups) {
            for (const id of g) {
              inCluster(id)
              assert.ok(!seen.has(id), `node ${id} in two groups: ${f.text}`)
              seen.add(id)
            }
          }
          for (const c of f.rules.cuts ?? []) {
            inCluster(c.from)
            inCluster(c.to)
          }
          if (f.kind === 'isolate-leader') assert.deepEqual(f.rules.groups, [[leader]])
          if (f.kind === 'ring') assert.ok(n >= 4)
        }
      }
    }
    assert.ok(kinds.has('kill') && kinds.has('pause') && kinds.has('isolate'), [...kinds].join(','))
    if (n >= 3) for (const k of ['bridge', 'tethered', 'loss', 'duplicate', 'slow-disk', 'member']) assert.ok(kinds.has(k), `${k} never planned for ${n} nodes`)
  }
})

test('the deck: every kind enabled comes within its first round, in the proportions of the weights', () => {
  const prng = new Prng(11)
  const deck = new FaultDeck(FAULT_KINDS)
  const first = Array.from({length: 16}, () => deck.draw(prng))
  assert.deepEqual(new Set(first), new Set(FAULT_KINDS.filter((k) => k !== 'delay')))
  assert.equal(first.filter((k) => k === 'partition').length, 6)
  const d = new FaultDeck(DEFAULT_FAULTS)
  const ten = Array.from({length: 10}, () => d.draw(prng))
  assert.deepEqual([...ten].sort(), ['kill', 'kill', 'partition', 'partition', 'partition', 'partition', 'partition', 'partition', 'pause', 'pause'])
})

test('with the default kinds and a known leader, about a third of all faults isolate the leader', () => {
  const prng = new Prng(5)
  let isolations = 0
  const runs = 3000
  for (let i = 0; i < runs; i++) {
    const f = plan(prng, DEFAULT_FAULTS, ids(5), 3).fault
    if (f.type === 'partition' && f.kind === 'isolate-leader') isolations++
  }
  assert.ok(isolations / runs > 0.33 && isolations / runs < 0.5, `${isolations} of ${runs}`)
})

test('partial topologies are held past the settling time; a stall holds the disk until undone', () => {
  const prng = new Prng(77)
  const settle = settleMs(300)
  assert.equal(settle, 2400)
  for (let i = 0; i < 300; i++) {
    const p = plan(prng, ['bridge', 'tethered', 'one-way', 'slow-disk'], ids(5), 2)
    if (p.fault.type === 'partition') assert.ok(p.holdMs >= settle + 1000, `${p.fault.text} held ${p.holdMs} ms`)
    if (p.fault.type === 'slow-disk' && p.fault.fsyncDelayMs === STALL_MS) assert.ok(p.holdMs >= settle + 1000)
  }
})

test('a majorities ring: each node hears its nearest neighbours, so each sees a majority, no two the same', () => {
  assert.equal(ringReach(4), 1)
  assert.equal(ringReach(5), 1)
  for (const n of [4, 5, 6, 7, 9]) {
    const prng = new Prng(n)
    let f = planPartition(prng, ids(n), null)
    for (let i = 0; f.kind !== 'ring' && i < 100; i++) f = planPartition(prng, ids(n), null)
    assert.equal(f.kind, 'ring')
    assert.deepEqual(f.rules.groups, [])
    const cut = new Set((f.rules.cuts ?? []).map((c) => `${c.from}>${c.to}`))
    const views = new Set<string>()
    for (const a of ids(n)) {
      const hears = ids(n).filter((b) => b !== a && !cut.has(`${b}>${a}`))
      assert.equal(hears.length, 2 * ringReach(n), `node ${a} hears ${hears.join(',')} in ${f.text}`)
      for (const b of hears) assert.ok(!cut.has(`${a}>${b}`), 'cuts are symmetric')
      assert.ok(hears.length + 1 > n / 2, `node ${a} sees a majority`)
      views.add([a, ...hears].sort().join(','))
    }
    assert.equal(views.size, n, 'no two nodes see the same majority')
    assert.equal(
      fullyConnectedMajority(ids(n), (a, b) => !cut.has(`${a}>${b}`)),
      null,
      `${f.text} has no fully connected majority`,
    )
  }
})

test('a bridge: two halves that hear each other only through one node, which hears everybody', () => {
  const b = bridge(ids(5), 3)
  assert.deepEqual(b.sides, [
    [1, 2],
    [4, 5],
  ])
  assert.equal(b.text, 'bridge 1,2 <3> 4,5')
  const f = new LinkFilter(b.rules)
  for (const x of [1, 2, 4, 5]) assert.ok(f.allows(3, x) && f.allows(x, 3))
  for (const [x, y] of [
    [1, 4],
    [1, 5],
    [2, 4],
    [2, 5],
  ] as const)
    assert.ok(!f.allows(x, y) && !f.allows(y, x))
  assert.ok(f.allows(1, 2) && f.allows(4, 5))
  assert.deepEqual(
    fullyConnectedMajority(ids(5), (x, y) => f.allows(x, y)),
    [1, 2, 3],
  )
})

test('tethered: a fully connected majority; every other node hears one member only, a different one each', () => {
  const t = tethered(ids(5), [1, 2, 3])
  assert.deepEqual(t.tethered, [4, 5])
  assert.deepEqual(
    [...t.tethers],
    [
      [4, 1],
      [5, 2],
    ],
  )
  assert.equal(t.text, 'tethered: 1,2,3 fully connected; only 4-1 5-2')
  const f = new LinkFilter(t.rules)
  const hears = (x: number) => ids(5).filter((y) => y !== x && f.allows(y, x))
  assert.deepEqual(hears(4), [1])
  assert.deepEqual(hears(5), [2])
  assert.deepEqual(hears(1), [2, 3, 4])
  assert.deepEqual(hears(3), [1, 2])
  for (const x of ids(5)) for (const y of hears(x)) assert.ok(f.allows(x, y), 'links kept both ways')
  assert.deepEqual(
    fullyConnectedMajority(ids(5), (x, y) => f.allows(x, y)),
    [1, 2, 3],
  )
  // No leader can reach both tethered nodes: each tethered node's only neighbour is its own tether.
  for (const leader of ids(5)) assert.ok(!(f.allows(leader, 4) && f.allows(leader, 5)))
  // As planned: the leader stays in the majority, and no node outside hears it.
  const prng = new Prng(8)
  for (let i = 0; i < 50; i++) {
    const leader = prng.int(1, 5)
    const p = plan(prng, ['tethered'], ids(5), leader).fault
    assert.ok(p.type === 'partition' && p.kind === 'tethered')
    if (p.type !== 'partition') continue
    const g = new LinkFilter(p.rules)
    assert.equal(p.nodes.length, 2)
    for (const x of p.nodes) assert.ok(x !== leader && !g.allows(leader, x), `${p.text}: node ${x} hears leader ${leader}`)
  }
})
