// The replicated key-value state machine: results of put/get/del/cas, exactly-once sessions,
// deterministic session eviction, and snapshots that carry the sessions.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {KvStateMachine, isKvCommand, type KvCommand} from '../../src/kv/state-machine.js'

const put = (key: string, value: string, clientId = 'c', seq = 1): KvCommand => ({op: 'put', key, value, clientId, seq})

test('put, get, del and cas report what SPEC.md promises', () => {
  const kv = new KvStateMachine()
  assert.deepEqual(kv.apply(put('k', 'a', 'c', 1), 1), {result: {status: 'ok', previous: null}, index: 1})
  assert.equal(kv.get('k'), 'a')
  assert.deepEqual(kv.apply(put('k', 'b', 'c', 2), 2).result, {status: 'ok', previous: 'a'})
  assert.deepEqual(kv.apply({op: 'cas', key: 'k', expected: 'x', value: 'y', clientId: 'c', seq: 3}, 3).result, {status: 'mismatch', current: 'b'})
  assert.equal(kv.get('k'), 'b')
  assert.deepEqual(kv.apply({op: 'cas', key: 'k', expected: 'b', value: 'c', clientId: 'c', seq: 4}, 4).result, {status: 'ok', previous: 'b'})
  assert.deepEqual(kv.apply({op: 'cas', key: 'none', expected: 'b', value: 'c', clientId: 'c', seq: 5}, 5).result, {status: 'not-found'})
  assert.deepEqual(kv.apply({op: 'del', key: 'k', clientId: 'c', seq: 6}, 6).result, {status: 'ok', previous: 'c'})
  assert.deepEqual(kv.apply({op: 'del', key: 'k', clientId: 'c', seq: 7}, 7).result, {status: 'not-found'})
  assert.equal(kv.get('k'), null)
})

test('a retried write (same client id and seq) takes effect once and gets its first outcome and index', () => {
  const kv = new KvStateMachine()
  const effects: number[] = []
  kv.onEffect = (_cmd, index) => effects.push(index)
  kv.apply(put('k', 'a', 'c1', 1), 10)
  kv.apply(put('k', 'b', 'c2', 1), 11)
  // c1's retry of seq 1 arrives at a new leader as a new log entry (index 12).
  assert.deepEqual(kv.apply(put('k', 'a', 'c1', 1), 12), {result: {status: 'ok', previous: null}, index: 10})
  assert.equal(kv.get('k'), 'b', 'the retry did not overwrite the later write')
  assert.deepEqual(effects, [10, 11])
  // A stale duplicate of an older request is refused, not applied.
  kv.apply(put('k', 'c', 'c1', 2), 13)
  assert.deepEqual(kv.apply(put('k', 'a', 'c1', 1), 14).result, {status: 'session-expired'})
  assert.equal(kv.get('k'), 'c')
})

test('sessions are evicted by log order, the same way on every replica, and evicted clients are refused', () => {
  const a = new KvStateMachine(2)
  const b = new KvStateMachine(2)
  for (const kv of [a, b]) {
    kv.apply(put('k', '1', 'x', 1), 1)
    kv.apply(put('k', '2', 'y', 1), 2)
    kv.apply(put('k', '3', 'x', 2), 3) // x is now the most recent
    kv.apply(put('k', '4', 'z', 1), 4) // evicts y (oldest last write)
  }
  assert.deepEqual(a.snapshot(), b.snapshot())
  assert.equal(a.sessionCount(), 2)
  assert.deepEqual(a.apply(put('k', '5', 'y', 2), 5).result, {status: 'session-expired'}, 'y may be retrying: refuse')
  assert.deepEqual(a.apply(put('k', '5', 'x', 3), 6).result, {status: 'ok', previous: '4'})
})

test('a snapshot restores the data and the sessions (a retry after restore is still deduplicated)', () => {
  const kv = new KvStateMachine()
  kv.apply(put('k', 'a', 'c1', 1), 1)
  kv.apply(put('j', 'b', 'c2', 1), 2)
  const copy = new KvStateMachine()
  copy.restore(structuredClone(kv.snapshot()))
  assert.equal(copy.get('k'), 'a')
  assert.equal(copy.get('j'), 'b')
  assert.deepEqual(copy.apply(put('k', 'a', 'c1', 1), 3), {result: {status: 'ok', previous: null}, index: 1})
  assert.equal(copy.sessionCount(), 2)
})

test('commands read back from disk or the wire are shape-checked', () => {
  assert.equal(isKvCommand(put('k', 'v')), true)
  assert.equal(isKvCommand({op: 'cas', key: 'k', expected: 'a', value: 'b', clientId: 'c', seq: 1}), true)
  for (const bad of [null, 1, {}, {op: 'put', key: 'k', clientId: 'c', seq: 1}, {op: 'drop', key: 'k', clientId: 'c', seq: 1}, {op: 'del', key: 1, clientId: 'c', seq: 1}, {op: 'del', key: 'k', clientId: 'c', seq: 1.5}]) {
    assert.equal(isKvCommand(bad), false, JSON.stringify(bad))
  }
})
