// The stepwise snapshot encoder must write exactly the record that the one-shot path writes, so
// that loading (and older files) need no second format.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Packr} from 'msgpackr'
import {SnapshotEncoder} from '../../src/storage/snapshot-encoder.js'
import {encodeRecord} from '../../src/storage/record.js'
import type {Snapshot} from '../../src/core/types.js'
import {Prng} from '../../src/lib/prng.js'

const packr = new Packr({useRecords: false})

function oneShot(s: Snapshot): Uint8Array {
  return encodeRecord(packr.pack({lastIncludedIndex: s.lastIncludedIndex, lastIncludedTerm: s.lastIncludedTerm, data: s.data}))
}

function joined(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat(chunks)
}

function kvSnapshot(keys: number, prng: Prng, valueBytes = 20): Snapshot {
  const data: [string, string][] = []
  for (let i = 0; i < keys; i++) data.push([`key-${i}-${'é'.repeat(prng.int(0, 3))}`, 'v'.repeat(prng.int(0, valueBytes))])
  const sessions = Array.from({length: prng.int(0, 40)}, (_, i) => [
    `client-${i}`,
    prng.int(1, 1e6),
    {ok: true, previous: i % 2 ? null : 'x'},
    prng.int(1, 1e9),
  ])
  return {lastIncludedIndex: prng.int(1, 2 ** 40), lastIncludedTerm: prng.int(1, 1e6), data: {data, sessions}}
}

test('stepwise encoding is byte-identical to the one-shot record, at every array size class', () => {
  const prng = new Prng(11)
  // 0, fixarray (<16), array16, array32 headers; itemsPerStep smaller and larger than the arrays.
  for (const keys of [0, 1, 15, 16, 100, 65535, 65536, 70000]) {
    for (const itemsPerStep of [1, 7, 2000]) {
      if (keys > 1000 && itemsPerStep < 2000) continue
      const snap = kvSnapshot(keys, prng)
      const enc = new SnapshotEncoder(snap, {itemsPerStep, crcBytesPerStep: 1000})
      let steps = 0
      while (!enc.step()) steps++
      const got = enc.encoded()
      const want = oneShot(snap)
      assert.equal(got.bytes, want.length)
      assert.ok(Buffer.from(joined(got.chunks)).equals(Buffer.from(want)), `${keys} keys, ${itemsPerStep} per step`)
      assert.ok(steps >= Math.floor(keys / itemsPerStep), `${keys} keys took ${steps} steps: not split`)
    }
  }
})

test('other snapshot data (a string, null, a nested object, big values) still matches', () => {
  for (const data of [
    'ten',
    null,
    {a: {b: [1, 2, 3]}, c: [[1], ['x']]},
    {
      data: [
        ['k', 'x'.repeat(1 << 20)],
        ['l', 'y'.repeat(1 << 20)],
      ],
      sessions: [],
    },
  ]) {
    const snap = {lastIncludedIndex: 12, lastIncludedTerm: 3, data}
    assert.ok(Buffer.from(joined(new SnapshotEncoder(snap).finish().chunks)).equals(Buffer.from(oneShot(snap))), JSON.stringify(data).slice(0, 40))
  }
})

test('a step does bounded work: large values end a step early', () => {
  const big = 'x'.repeat(1 << 20)
  const snap = {lastIncludedIndex: 1, lastIncludedTerm: 1, data: {data: Array.from({length: 20}, (_, i) => [`k${i}`, big]), sessions: []}}
  const enc = new SnapshotEncoder(snap)
  let steps = 0
  while (!enc.step()) steps++
  assert.ok(steps >= 5, `20 MiB in ${steps} steps`)
})
