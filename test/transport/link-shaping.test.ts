// Link faults: the filter stores and validates them per direction, and a faulty link loses,
// delivers once or twice, each copy after the link's delay varied by its jitter.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {describeRules, LinkFilter} from '../../src/transport/link-filter.js'
import {shapeMessage} from '../../src/transport/link-shaping.js'
import {Prng} from '../../src/lib/prng.js'

test('link faults are kept per direction, shown in the rules and the description, and partition nothing', () => {
  const f = new LinkFilter({
    groups: [],
    links: [
      {from: 1, to: 2, delayMs: 100, jitterMs: 20},
      {from: 2, to: 1, loss: 0.1, duplicate: 0.05},
    ],
  })
  assert.equal(f.partitioned, true)
  assert.ok(f.allows(1, 2) && f.allows(2, 1))
  assert.deepEqual(f.linkFault(1, 2), {from: 1, to: 2, delayMs: 100, jitterMs: 20})
  assert.equal(f.linkFault(1, 3), undefined)
  assert.deepEqual(f.rules(), {
    groups: [],
    links: [
      {from: 1, to: 2, delayMs: 100, jitterMs: 20},
      {from: 2, to: 1, loss: 0.1, duplicate: 0.05},
    ],
  })
  assert.equal(describeRules(f.rules()), 'links 1>2: delay 100ms±20ms; 2>1: loss 10%, duplicate 5%')
  // Entries that do nothing are dropped; bad ones are refused and the old rules stay.
  f.set({groups: [[1]], links: [{from: 3, to: 1, delayMs: 0}]})
  assert.deepEqual(f.rules(), {groups: [[1]]})
  assert.throws(() => f.set({groups: [], links: [{from: 1, to: 2, loss: 1.5}]}), /loss must be a share/)
  assert.throws(() => f.set({groups: [], links: [{from: 1, to: 1, delayMs: 5}]}), /link to itself/)
  assert.throws(
    () =>
      f.set({
        groups: [],
        links: [
          {from: 1, to: 2, delayMs: 5},
          {from: 1, to: 2, loss: 0.5},
        ],
      }),
    /two fault entries/,
  )
  assert.throws(() => f.set({groups: [], links: [{from: 1, to: 2, delayMs: -1}]}), /delayMs must be/)
  assert.deepEqual(f.rules(), {groups: [[1]]})
})

test('a faulty link: the share lost and duplicated, delays within delay ± jitter', () => {
  const prng = new Prng(3)
  const random = () => prng.next()
  let lost = 0
  let twice = 0
  const n = 20_000
  for (let i = 0; i < n; i++) {
    const copies = shapeMessage({from: 1, to: 2, delayMs: 50, jitterMs: 20, loss: 0.2, duplicate: 0.1}, random)
    if (copies.length === 0) lost++
    if (copies.length === 2) twice++
    for (const d of copies) assert.ok(d >= 30 && d <= 70, `delay ${d}`)
  }
  assert.ok(Math.abs(lost / n - 0.2) < 0.02, `lost ${lost}`)
  assert.ok(Math.abs(twice / (n - lost) - 0.1) < 0.02, `duplicated ${twice}`)
  // No delay: at once; jitter larger than the delay never goes below zero.
  assert.deepEqual(shapeMessage({from: 1, to: 2, duplicate: 1}, random), [0, 0])
  for (let i = 0; i < 100; i++) assert.ok(shapeMessage({from: 1, to: 2, delayMs: 5, jitterMs: 50}, random)[0]! >= 0)
})
