import {test} from 'node:test'
import assert from 'node:assert/strict'
import {LinkFilter} from '../../src/transport/link-filter.js'

const pairs = (n: number): Array<[number, number]> => {
  const out: Array<[number, number]> = []
  for (let a = 1; a <= n; a++) for (let b = 1; b <= n; b++) if (a !== b) out.push([a, b])
  return out
}

test('no rules: everybody reaches everybody, all in group 1', () => {
  const f = new LinkFilter()
  for (const [a, b] of pairs(5)) assert.ok(f.allows(a, b))
  assert.equal(f.groupOf(4), 1)
  assert.equal(f.partitioned, false)
})

test('partition 1,2 3,4,5: only same-group links pass, both ways', () => {
  const f = new LinkFilter({
    groups: [
      [1, 2],
      [3, 4, 5],
    ],
  })
  for (const [a, b] of pairs(5)) assert.equal(f.allows(a, b), a <= 2 === b <= 2, `${a}->${b}`)
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((id) => f.groupOf(id)),
    [1, 1, 2, 2, 2],
  )
})

test('nodes not named form one more group together', () => {
  const f = new LinkFilter({groups: [[1, 2]]})
  assert.ok(f.allows(3, 4) && f.allows(4, 5))
  assert.ok(!f.allows(1, 3) && !f.allows(5, 2))
  assert.equal(f.groupOf(5), 2)
})

test('isolate cuts one node off; a node always reaches itself; heal restores everything', () => {
  const f = new LinkFilter()
  f.isolate(3)
  for (const [a, b] of pairs(5)) assert.equal(f.allows(a, b), a !== 3 && b !== 3)
  assert.ok(f.allows(3, 3))
  f.heal()
  for (const [a, b] of pairs(5)) assert.ok(f.allows(a, b))
  assert.deepEqual(f.rules(), {groups: []})
})

test('one-way cuts drop a single direction', () => {
  const f = new LinkFilter({groups: [], cuts: [{from: 1, to: 2}]})
  assert.equal(f.allows(1, 2), false)
  assert.equal(f.allows(2, 1), true)
  assert.equal(f.partitioned, true)
  assert.deepEqual(f.rules(), {groups: [], cuts: [{from: 1, to: 2}]})
})

test('bad rules are refused and the old rules stay', () => {
  const f = new LinkFilter({groups: [[1], [2]]})
  assert.throws(
    () =>
      f.set({
        groups: [
          [1, 2],
          [2, 3],
        ],
      }),
    /node 2 is in more than one group/,
  )
  assert.throws(() => f.set({groups: [[0]]}), /not a node id/)
  assert.equal(f.allows(1, 2), false)
  // rules() is a copy: mutating it changes nothing.
  f.rules().groups[0]!.push(2)
  assert.equal(f.allows(1, 2), false)
})
