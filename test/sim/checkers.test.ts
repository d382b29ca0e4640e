// The simulator's checkers judge what Raft promises, no more: found by the stronger simulator
// (issue #12), a leader elected in an older term than one that already committed more is legal.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {SafetyChecker} from '../../src/sim/checkers.js'
import type {ObservedNode} from '../../src/sim/checkers.js'
import type {Entry} from '../../src/core/types.js'

const entry = (index: number, term: number): Entry => ({index, term, type: 'normal', data: `${index}@${term}`})

/** Just what becameLeader() reads of a node. */
function leader(id: number, term: number, terms: Record<number, number>): ObservedNode {
  return {id, term, log: {snapshotIndex: 0, termAt: (i: number) => terms[i]}} as unknown as ObservedNode
}

test('leader completeness counts only entries committed in earlier terms', () => {
  const c = new SafetyChecker()
  // Entry 18@8 is committed by the leader of term 12 (and applied there).
  c.committed(12, 17, 18)
  c.entryApplied(3, entry(18, 8), 12)
  // A candidate of term 10, paused while later terms went on, wins its term without it: legal.
  c.becameLeader(leader(2, 10, {18: 9}))
  assert.equal(c.violation, null)
  assert.equal(c.staleTermLeaders, 1)
  // A leader of term 13 without it breaks the rule.
  c.becameLeader(leader(4, 13, {18: 9}))
  assert.equal(c.violation?.rule, 'leader completeness')
})

test('a node that applied an entry bounds the term it was committed in by its own term', () => {
  const c = new SafetyChecker()
  // Applied by a follower in term 5: committed in term 5 or earlier.
  c.entryApplied(1, entry(3, 4), 5)
  c.becameLeader(leader(2, 6, {3: 3}))
  assert.equal(c.violation?.rule, 'leader completeness')
})

test('replica states must be equal at a common applied index; applied never passes committed', () => {
  const c = new SafetyChecker()
  c.stateAt(1, 7, '{"data":[["x","a"]]}')
  c.stateAt(2, 7, '{"data":[["x","a"]]}')
  assert.equal(c.violation, null)
  c.stateAt(3, 7, '{"data":[["x","b"]]}')
  assert.equal(c.violation?.rule, 'replica states')
  const d = new SafetyChecker()
  d.appliedWithinCommit(1, 5, 5)
  assert.equal(d.violation, null)
  d.appliedWithinCommit(1, 6, 5)
  assert.equal(d.violation?.rule, 'applied <= committed')
})
