// The nemesis plan of `raftctl check`: a seed replays the same schedule; every fault is a valid
// one for the cluster; a majorities ring gives each node exactly its two neighbours.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Prng} from '../../src/lib/prng.js'
import {FAULT_KINDS, nextDelayMs, planFault, planPartition, ringReach, type Fault} from '../../src/check/plan.js'

const ids = (n: number) => Array.from({length: n}, (_, i) => i + 1)

function schedule(seed: number, n: number, leader: number | null): string[] {
  const prng = new Prng(seed)
  const out: string[] = []
  for (let i = 0; i < 20; i++) out.push(`${nextDelayMs(prng)} ${planFault(prng, FAULT_KINDS, ids(n), leader).text}`)
  return out
}

test('a seed replays the same schedule; another seed gives another', () => {
  assert.deepEqual(schedule(42, 3, 1), schedule(42, 3, 1))
  assert.notDeepEqual(schedule(42, 3, 1), schedule(43, 3, 1))
})

test('delays are 1-3 s and only the enabled fault kinds are planned', () => {
  const prng = new Prng(9)
  for (let i = 0; i < 500; i++) {
    const d = nextDelayMs(prng)
    assert.ok(d >= 1000 && d <= 3000, `delay ${d}`)
    const f = planFault(prng, ['pause'], ids(5), 2)
    assert.equal(f.type, 'pause')
  }
})

test('every planned fault targets nodes of the cluster; leader faults name the leader', () => {
  for (const n of [1, 3, 4, 5, 7]) {
    const prng = new Prng(n * 101)
    const kinds = new Set<string>()
    for (let i = 0; i < 400; i++) {
      const leader = prng.chance(0.8) ? prng.int(1, n) : null
      const f: Fault = planFault(prng, FAULT_KINDS, ids(n), leader)
      kinds.add(f.type === 'partition' ? f.kind : f.type)
      if (f.type !== 'partition') {
        assert.ok(f.node >= 1 && f.node <= n)
        assert.equal(f.leader, f.node === leader)
        continue
      }
      const seen = new Set<number>()
      for (const g of f.rules.groups) for (const id of g) {
        assert.ok(id >= 1 && id <= n, `node ${id} in ${f.text}`)
        assert.ok(!seen.has(id), `node ${id} in two groups: ${f.text}`)
        seen.add(id)
      }
      if (f.kind === 'isolate-leader') assert.deepEqual(f.rules.groups, [[leader]])
      if (f.kind === 'ring') assert.ok(n >= 4)
    }
    assert.ok(kinds.has('kill') && kinds.has('pause') && kinds.has('isolate'), [...kinds].join(','))
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
  }
})
