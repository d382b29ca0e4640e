// The replicated key-value state machine: results of put/get/del/cas, exactly-once sessions
// registered through the log, deterministic session eviction, snapshots that carry the sessions,
// and the legacy rules for logs written before sessions were registered.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {KvStateMachine, isKvCommand, type KvApplied, type KvCommand} from '../../src/kv/state-machine.js'

const put = (key: string, value: string, session: number, seq: number): KvCommand => ({op: 'put', key, value, session, seq})
const REGISTER: KvCommand = {op: 'register'}

function write(applied: KvApplied) {
  assert.equal(applied.kind, 'write')
  return applied as KvApplied & {kind: 'write'}
}

/** Registers a session at `index` and returns its id. */
function register(kv: KvStateMachine, index: number): number {
  const r = kv.apply(REGISTER, index)
  assert.deepEqual(r, {kind: 'registered', session: index})
  return index
}

test('put, get, del and cas report what SPEC.md promises', () => {
  const kv = new KvStateMachine()
  const s = register(kv, 1)
  assert.deepEqual(kv.apply(put('k', 'a', s, 1), 2), {kind: 'write', result: {status: 'ok', previous: null}, index: 2})
  assert.equal(kv.get('k'), 'a')
  assert.deepEqual(write(kv.apply(put('k', 'b', s, 2), 3)).result, {status: 'ok', previous: 'a'})
  assert.deepEqual(write(kv.apply({op: 'cas', key: 'k', expected: 'x', value: 'y', session: s, seq: 3}, 4)).result, {status: 'mismatch', current: 'b'})
  assert.equal(kv.get('k'), 'b')
  assert.deepEqual(write(kv.apply({op: 'cas', key: 'k', expected: 'b', value: 'c', session: s, seq: 4}, 5)).result, {status: 'ok', previous: 'b'})
  assert.deepEqual(write(kv.apply({op: 'cas', key: 'none', expected: 'b', value: 'c', session: s, seq: 5}, 6)).result, {status: 'not-found'})
  assert.deepEqual(write(kv.apply({op: 'del', key: 'k', session: s, seq: 6}, 7)).result, {status: 'ok', previous: 'c'})
  assert.deepEqual(write(kv.apply({op: 'del', key: 'k', session: s, seq: 7}, 8)).result, {status: 'not-found'})
  assert.equal(kv.get('k'), null)
})

test('a retried write (same session and seq) takes effect once and gets its first outcome and index', () => {
  const kv = new KvStateMachine()
  const effects: number[] = []
  kv.onEffect = (_cmd, index) => effects.push(index)
  const c1 = register(kv, 1)
  const c2 = register(kv, 2)
  kv.apply(put('k', 'a', c1, 1), 10)
  kv.apply(put('k', 'b', c2, 1), 11)
  // c1's retry of seq 1 arrives at a new leader as a new log entry (index 12).
  assert.deepEqual(kv.apply(put('k', 'a', c1, 1), 12), {kind: 'write', result: {status: 'ok', previous: null}, index: 10})
  assert.equal(kv.get('k'), 'b', 'the retry did not overwrite the later write')
  assert.deepEqual(effects, [10, 11])
  // A stale duplicate of an older request is refused, not applied.
  kv.apply(put('k', 'c', c1, 2), 13)
  assert.deepEqual(write(kv.apply(put('k', 'a', c1, 1), 14)).result, {status: 'session-expired'})
  assert.equal(kv.get('k'), 'c')
})

test('a write for a session that was never registered is refused, whatever its seq', () => {
  const kv = new KvStateMachine()
  assert.deepEqual(write(kv.apply(put('k', 'a', 99, 1), 5)).result, {status: 'session-expired'})
  assert.deepEqual(write(kv.apply(put('k', 'a', 99, 2), 6)).result, {status: 'session-expired'})
  assert.equal(kv.get('k'), null)
  assert.equal(kv.sessionCount(), 0, 'no session was created by a write')
})

test('sessions are evicted least recently used first, by log order, the same way on every replica', () => {
  const a = new KvStateMachine(2)
  const b = new KvStateMachine(2)
  for (const kv of [a, b]) {
    register(kv, 1) // x
    register(kv, 2) // y
    kv.apply(put('k', '1', 1, 1), 3) // x is now the most recent
    register(kv, 4) // z: evicts y
  }
  assert.deepEqual(a.snapshot(), b.snapshot())
  assert.equal(a.sessionCount(), 2)
  assert.deepEqual(write(a.apply(put('k', '5', 2, 1), 5)).result, {status: 'session-expired'}, 'y was evicted: refuse')
  assert.deepEqual(write(a.apply(put('k', '5', 1, 2), 6)).result, {status: 'ok', previous: '1'})
})

test('issue #12 bug 4: a seq 1 retried after its session was evicted is not applied twice', () => {
  const kv = new KvStateMachine(1)
  const effects: string[] = []
  kv.onEffect = (cmd, index) => effects.push(`${cmd.seq}@${index}`)
  const s = register(kv, 1)
  kv.apply(put('k', 'first', s, 1), 2) // took effect; the reply was lost
  register(kv, 3) // another client: s is evicted
  kv.apply(put('k', 'later', 3, 1), 4)
  // The retry of (s, 1) reaches a new leader.
  assert.deepEqual(write(kv.apply(put('k', 'first', s, 1), 5)).result, {status: 'session-expired'})
  assert.equal(kv.get('k'), 'later', 'the retry did not take effect a second time')
  assert.deepEqual(effects, ['1@2', '1@4'])
})

test('issue #12 bug 4: a client whose write was lost, or whose session was evicted, writes again under a new session', () => {
  const kv = new KvStateMachine(1)
  const s = register(kv, 1)
  // seq 1 was lost (never reached the log); seq 2 reaches it: that is still this session's write.
  assert.deepEqual(write(kv.apply(put('k', 'two', s, 2), 2)).result, {status: 'ok', previous: null})
  register(kv, 3) // s evicted
  assert.deepEqual(write(kv.apply(put('k', 'three', s, 3), 4)).result, {status: 'session-expired'})
  // The client registers again and carries on.
  const s2 = register(kv, 5)
  assert.deepEqual(write(kv.apply(put('k', 'three', s2, 1), 6)).result, {status: 'ok', previous: 'two'})
})

test('the implicit-sessions mutant has the old bug: a client whose seq 1 was lost is refused forever', () => {
  const kv = new KvStateMachine(10, true)
  assert.deepEqual(write(kv.apply(put('k', 'two', 7, 2), 1)).result, {status: 'session-expired'})
  assert.deepEqual(write(kv.apply(put('k', 'three', 7, 3), 2)).result, {status: 'session-expired'})
})

test('a snapshot restores the data and the sessions (a retry after restore is still deduplicated)', () => {
  const kv = new KvStateMachine()
  const c1 = register(kv, 1)
  const c2 = register(kv, 2)
  kv.apply(put('k', 'a', c1, 1), 3)
  kv.apply(put('j', 'b', c2, 1), 4)
  const copy = new KvStateMachine()
  copy.restore(structuredClone(kv.snapshot()))
  assert.equal(copy.get('k'), 'a')
  assert.equal(copy.get('j'), 'b')
  assert.deepEqual(copy.apply(put('k', 'a', c1, 1), 5), {kind: 'write', result: {status: 'ok', previous: null}, index: 3})
  assert.equal(copy.sessionCount(), 2)
  assert.equal(copy.fingerprint(), kv.fingerprint())
})

test('legacy entries (a string client id, before sessions were registered) replay with the rules of their time', () => {
  const kv = new KvStateMachine()
  const legacy = (value: string, seq: number): KvCommand => ({op: 'put', key: 'k', value, clientId: 'old', seq})
  assert.deepEqual(write(kv.apply(legacy('a', 1), 1)).result, {status: 'ok', previous: null})
  assert.deepEqual(kv.apply(legacy('a', 1), 2), {kind: 'write', result: {status: 'ok', previous: null}, index: 1})
  assert.deepEqual(write(kv.apply(legacy('b', 2), 3)).result, {status: 'ok', previous: 'a'})
  assert.deepEqual(write(kv.apply({op: 'put', key: 'k', value: 'x', clientId: 'new', seq: 2}, 4)).result, {status: 'session-expired'})
  // An old snapshot (4-tuple sessions) restores too.
  const old = {data: [['k', 'b']], sessions: [['old', 2, {status: 'ok', previous: 'a'}, 3]]} as never
  const restored = new KvStateMachine()
  restored.restore(old)
  assert.deepEqual(restored.apply(legacy('b', 2), 9), {kind: 'write', result: {status: 'ok', previous: 'a'}, index: 3})
})

test('commands read back from disk or the wire are shape-checked', () => {
  assert.equal(isKvCommand(put('k', 'v', 1, 1)), true)
  assert.equal(isKvCommand(REGISTER), true)
  assert.equal(isKvCommand({op: 'cas', key: 'k', expected: 'a', value: 'b', session: 1, seq: 1}), true)
  assert.equal(isKvCommand({op: 'put', key: 'k', value: 'v', clientId: 'legacy', seq: 1}), true)
  for (const bad of [
    null,
    1,
    {},
    {op: 'put', key: 'k', session: 1, seq: 1},
    {op: 'drop', key: 'k', session: 1, seq: 1},
    {op: 'del', key: 1, session: 1, seq: 1},
    {op: 'del', key: 'k', session: 1, seq: 1.5},
    {op: 'del', key: 'k', seq: 1},
  ]) {
    assert.equal(isKvCommand(bad), false, JSON.stringify(bad))
  }
})
