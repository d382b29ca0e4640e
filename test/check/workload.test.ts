// The workload of `raftctl check`: values are never written twice, readers only read, a cas
// expects a value someone saw, and each client outcome is recorded as ok, failed or indeterminate.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {UnavailableError, type ClusterClient} from '../../src/client/cluster-client.js'
import {Prng} from '../../src/lib/prng.js'
import {isReader, KnownValues, OpGenerator, perform, PROBE_WRITE_ONCE_EVERY, ProbeGenerator, runClientLoop} from '../../src/check/workload.js'
import type {OpRecord} from '../../src/check/history.js'

test('written values are unique across clients; a cas expects the latest value seen', () => {
  const known = new KnownValues()
  const gens = [0, 1, 2].map((c) => new OpGenerator(new Prng(c + 1), c, ['a', 'b'], known))
  const values = new Set<string>()
  let cas = 0
  for (let i = 0; i < 3000; i++) {
    const g = gens[i % 3]!
    const p = g.next()
    if (p.type === 'get') continue
    assert.ok(!values.has(p.value!), `value ${p.value} written twice`)
    values.add(p.value!)
    if (p.type === 'cas') {
      cas++
      assert.equal(p.expected, known.get(p.key))
    }
    // Pretend every write succeeded, so later cas ops have something to expect.
    known.observe({id: i, client: g.client, process: g.client, op: p.type, key: p.key, value: p.value, invoke: i, complete: i, status: 'ok'})
  }
  assert.ok(cas > 100, `only ${cas} cas ops`)
})

test('no cas before any value is known; readers only read', () => {
  const known = new KnownValues()
  const g = new OpGenerator(new Prng(5), 0, ['k'], known)
  for (let i = 0; i < 200; i++) assert.notEqual(g.next().type, 'cas')
  const reader = new OpGenerator(new Prng(5), 1, ['k'], known, true)
  for (let i = 0; i < 200; i++) assert.equal(reader.next().type, 'get')
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => isReader(i, 4)),
    [false, true, false, true],
  )
  assert.equal(isReader(0, 1), false)
})

/** A stand-in for ClusterClient answering from a script. */
function fakeClient(script: {get?: () => unknown; put?: () => unknown; cas?: () => unknown}): ClusterClient {
  const run = async (f?: () => unknown) => {
    const r = f?.()
    if (r instanceof Error) throw r
    return r
  }
  return {
    lastLeader: 2,
    get: () => run(script.get),
    put: () => run(script.put),
    cas: () => run(script.cas),
  } as unknown as ClusterClient
}

test('leader probes: readers start each claim on their own key; a writer starts each claim with a write-once key', () => {
  let epoch = 1
  const regs = ['t/k0', 't/k1', 't/k2']
  const reader = new ProbeGenerator(7, regs, 'reader', 4, () => epoch)
  assert.deepEqual(
    [reader.next(), reader.next()].map((o) => o.key),
    ['t/k1', 't/k2'],
  )
  epoch = 2
  assert.equal(reader.next().key, 't/k1')
  const writer = new ProbeGenerator(9, regs, 'writer', 0, () => epoch, 't/once/')
  const ops = Array.from({length: 2 * PROBE_WRITE_ONCE_EVERY}, () => writer.next())
  assert.deepEqual(
    ops.map((o) => o.key.startsWith('t/once/')),
    ops.map((_, i) => i % PROBE_WRITE_ONCE_EVERY === 0),
  )
  for (const o of ops.filter((x) => x.key.startsWith('t/once/'))) assert.equal(o.key, `t/once/${o.value}`)
  assert.equal(new Set(ops.map((o) => o.value)).size, ops.length)
  epoch = 3
  assert.ok(writer.next().key.startsWith('t/once/'), 'a new claim starts with a write-once key')
  assert.ok(new ProbeGenerator(9, regs, 'writer').next().key.startsWith('t/k'), 'no prefix: registers only')
})

test('outcomes: a timed-out write is indeterminate, a timed-out read failed, a refused cas failed with what it saw', async () => {
  const timeout = (write: boolean) => () => new UnavailableError('no leader', write)
  assert.deepEqual(await perform(fakeClient({get: () => ({value: 'v', index: 3})}), {type: 'get', key: 'k'}, 100), {status: 'ok', value: 'v'})
  assert.deepEqual(await perform(fakeClient({get: () => ({value: null, index: 3})}), {type: 'get', key: 'k'}, 100), {status: 'ok', value: null})
  assert.deepEqual(await perform(fakeClient({get: timeout(false)}), {type: 'get', key: 'k'}, 100), {status: 'failed', error: 'unavailable'})
  assert.deepEqual(await perform(fakeClient({put: timeout(true)}), {type: 'put', key: 'k', value: 'v'}, 100), {
    status: 'indeterminate',
    error: 'timeout',
  })
  assert.deepEqual(await perform(fakeClient({put: () => ({result: {status: 'ok', previous: null}, index: 4})}), {type: 'put', key: 'k', value: 'v'}, 100), {
    status: 'ok',
  })
  const cas = {type: 'cas' as const, key: 'k', expected: 'a', value: 'b'}
  assert.deepEqual(await perform(fakeClient({cas: () => ({result: {status: 'mismatch', current: 'z'}, index: 5})}), cas, 100), {
    status: 'failed',
    error: 'mismatch',
    current: 'z',
  })
  assert.deepEqual(await perform(fakeClient({cas: () => ({result: {status: 'not-found'}, index: 5})}), cas, 100), {status: 'failed', error: 'not-found'})
  assert.deepEqual(await perform(fakeClient({cas: () => ({result: {status: 'session-expired'}, index: 5})}), cas, 100), {
    status: 'indeterminate',
    error: 'session-expired',
  })
  assert.deepEqual(await perform(fakeClient({cas: timeout(true)}), cas, 100), {status: 'indeterminate', error: 'timeout'})
})

test('a client loop records each operation once, with invoke before complete, until told to stop', async () => {
  const records: OpRecord[] = []
  let now = 0
  let id = 0
  let puts = 0
  // Every third write times out: the client then carries on as a new process (index + stride).
  const client = fakeClient({
    get: () => ({value: null, index: 1}),
    put: () => (++puts % 3 === 0 ? new UnavailableError('no leader', true) : {result: {status: 'ok', previous: null}, index: 2}),
  })
  await runClientLoop({
    index: 3,
    stride: 4,
    client,
    generator: new OpGenerator(new Prng(1), 3, ['k'], new KnownValues()),
    opTimeoutMs: 100,
    clock: () => (now += 1.5),
    nextId: () => ++id,
    stopping: () => records.length >= 30,
    record: (r) => records.push(r),
  })
  assert.equal(records.length, 30)
  assert.deepEqual(
    records.map((r) => r.id),
    Array.from({length: 30}, (_, i) => i + 1),
  )
  let proc = 3
  for (const r of records) {
    assert.equal(r.client, 3)
    assert.equal(r.process, proc)
    assert.ok(r.invoke < r.complete)
    if (r.status === 'indeterminate') {
      assert.equal(r.op, 'put')
      assert.equal(r.node, undefined)
      proc += 4
    } else {
      assert.equal(r.status, 'ok')
      assert.equal(r.node, 2)
    }
  }
  assert.ok(proc > 3, 'some write timed out')
})
