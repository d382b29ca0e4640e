// Which nodes, as leader, could not hear a quorum within an election timeout over the link delays
// `raftctl net` set (the warning `net delay` prints).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {slowQuorumRoundTrips} from '../../src/cluster/network.js'
import type {LinkFault} from '../../src/transport/link-filter.js'

const all = (ids: number[], f: Omit<LinkFault, 'from' | 'to'>): LinkFault[] =>
  ids.flatMap((a) => ids.filter((b) => b !== a).map((b) => ({from: a, to: b, ...f})))
const rules = (links: LinkFault[]) => ({groups: [], links})

test('every link slow both ways: every node, with its round trip; below the timeout: none', () => {
  assert.deepEqual(slowQuorumRoundTrips(rules(all([1, 2, 3], {delayMs: 150})), [1, 2, 3], 300), [
    {node: 1, roundTripMs: 300},
    {node: 2, roundTripMs: 300},
    {node: 3, roundTripMs: 300},
  ])
  assert.deepEqual(slowQuorumRoundTrips(rules(all([1, 2, 3], {delayMs: 149})), [1, 2, 3], 300), [])
  assert.deepEqual(slowQuorumRoundTrips(null, [1, 2, 3], 300), [])
})

test('jitter counts at its worst, and each direction counts once', () => {
  assert.equal(slowQuorumRoundTrips(rules(all([1, 2, 3], {delayMs: 100, jitterMs: 50})), [1, 2, 3], 300).length, 3)
  // One slow direction alone: 1>2 takes 200 ms, 2>1 nothing: a 200 ms round trip.
  assert.deepEqual(slowQuorumRoundTrips(rules([{from: 1, to: 2, delayMs: 200}]), [1, 2], 300), [])
  assert.deepEqual(
    slowQuorumRoundTrips(
      rules([
        {from: 1, to: 2, delayMs: 200},
        {from: 2, to: 1, delayMs: 100},
      ]),
      [1, 2],
      300,
    ),
    [
      {node: 1, roundTripMs: 300},
      {node: 2, roundTripMs: 300},
    ],
  )
})

test('a slow link a node can do without costs it nothing: only a node short of a quorum of fast peers is named', () => {
  // 5 nodes, node 1's links slow: it hears no quorum in time; the others still hear two peers.
  const slow1 = [2, 3, 4, 5].flatMap((b) => [
    {from: 1, to: b, delayMs: 200},
    {from: b, to: 1, delayMs: 200},
  ])
  assert.deepEqual(slowQuorumRoundTrips(rules(slow1), [1, 2, 3, 4, 5], 300), [{node: 1, roundTripMs: 400}])
  // 3 nodes, the link 1-2 slow both ways: each still has one fast peer (node 3), which is enough.
  assert.deepEqual(
    slowQuorumRoundTrips(
      rules([
        {from: 1, to: 2, delayMs: 200},
        {from: 2, to: 1, delayMs: 200},
      ]),
      [1, 2, 3],
      300,
    ),
    [],
  )
  // A single node needs no one.
  assert.deepEqual(slowQuorumRoundTrips(null, [1], 300), [])
})
