// The history of `raftctl check`: records become the checker's register history (failed reads
// left out, timed-out writes optional), the NDJSON file reads back as written, and hand-made
// histories in the recorded form get the verdict they should.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {countOps, HistoryWriter, parseHistory, toCheckerHistory, type OpRecord} from '../../src/check/history.js'
import {mergeByTime, nemesisAround} from '../../src/check/run.js'
import {checkLinearizable} from '../../src/linearizability/index.js'

let nextId = 0
function op(client: number, o: Partial<OpRecord> & Pick<OpRecord, 'op' | 'invoke' | 'complete' | 'status'>): OpRecord {
  return {id: ++nextId, client, process: client, key: 'k', ...o}
}

test('records map to checker ops: failed reads are left out, timed-out writes become unknown', () => {
  const history = toCheckerHistory([
    op(0, {op: 'put', value: 'a', invoke: 0, complete: 5, status: 'ok'}),
    op(1, {op: 'get', invoke: 1, complete: 1500, status: 'failed', error: 'unavailable'}),
    op(1, {op: 'get', value: 'a', invoke: 6, complete: 7, status: 'ok'}),
    op(1, {op: 'get', value: null, invoke: 0, complete: 1, status: 'ok'}),
    op(2, {op: 'put', value: 'b', invoke: 8, complete: 1508, status: 'indeterminate', error: 'timeout'}),
    op(3, {op: 'cas', expected: 'x', value: 'c', invoke: 9, complete: 10, status: 'failed', error: 'mismatch', current: 'a'}),
    op(3, {op: 'cas', expected: 'a', value: 'd', invoke: 11, complete: 12, status: 'failed', error: 'not-found'}),
    op(3, {op: 'cas', expected: 'a', value: 'e', invoke: 13, complete: 14, status: 'ok'}),
  ])
  assert.deepEqual(
    history.map((h) => [h.op.type, h.result.status]),
    [
      ['put', 'ok'],
      ['get', 'ok'],
      ['get', 'ok'],
      ['put', 'unknown'],
      ['cas', 'mismatch'],
      ['cas', 'not-found'],
      ['cas', 'ok'],
    ],
  )
  assert.deepEqual(history[1]!.result, {status: 'ok', value: 'a'})
  assert.deepEqual(history[2]!.result, {status: 'ok', value: null})
  assert.deepEqual(history[4]!.result, {status: 'mismatch', current: 'a'})
  assert.deepEqual(history[4]!.op, {type: 'cas', key: 'k', expected: 'x', value: 'c'})
})

test('counts ops per type and outcome', () => {
  const c = countOps([
    op(0, {op: 'get', invoke: 0, complete: 1, status: 'ok', value: null}),
    op(0, {op: 'get', invoke: 1, complete: 2, status: 'failed'}),
    op(0, {op: 'put', value: 'v', invoke: 2, complete: 3, status: 'indeterminate'}),
    op(0, {op: 'cas', value: 'w', expected: 'v', invoke: 3, complete: 4, status: 'failed', error: 'mismatch', current: 'u'}),
  ])
  // A cas refused with mismatch answered (it is not a failure): it counts as refused.
  assert.deepEqual(c, {
    get: {ok: 1, refused: 0, failed: 1, indeterminate: 0},
    put: {ok: 0, refused: 0, failed: 0, indeterminate: 1},
    cas: {ok: 0, refused: 1, failed: 0, indeterminate: 0},
  })
})

test('a stale read after a completed write is a violation; the excerpt names it', () => {
  // c0 writes b (ok), then c1 reads the older a: the register went back in time.
  const records = [
    op(0, {op: 'put', value: 'a', invoke: 0, complete: 10, status: 'ok'}),
    op(0, {op: 'put', value: 'b', invoke: 20, complete: 30, status: 'ok'}),
    op(1, {op: 'get', value: 'a', invoke: 31, complete: 32, status: 'ok'}),
  ]
  const r = checkLinearizable(toCheckerHistory(records))
  assert.equal(r.ok, false)
  if (r.ok) return
  assert.match(r.reason, /^not linearizable: /)
  assert.ok(r.excerpt.some((h) => h.id === records[2]!.id))
})

test('a timed-out write may take effect after the client gave up, or never', () => {
  const late = [
    op(0, {op: 'put', value: 'a', invoke: 0, complete: 10, status: 'ok'}),
    op(1, {op: 'put', value: 'b', invoke: 20, complete: 170, status: 'indeterminate', error: 'timeout'}),
    op(2, {op: 'get', value: 'a', invoke: 200, complete: 201, status: 'ok'}),
    // b committed long after its client stopped waiting.
    op(2, {op: 'get', value: 'b', invoke: 900, complete: 901, status: 'ok'}),
  ]
  assert.equal(checkLinearizable(toCheckerHistory(late)).ok, true)
  const never = late.slice(0, 3)
  assert.equal(checkLinearizable(toCheckerHistory(never)).ok, true)
  // But a failed read constrains nothing, and a refused cas is a real observation.
  const refused = [
    op(0, {op: 'put', value: 'a', invoke: 0, complete: 10, status: 'ok'}),
    op(1, {op: 'cas', expected: 'z', value: 'c', invoke: 20, complete: 30, status: 'failed', error: 'mismatch', current: 'q'}),
  ]
  assert.equal(checkLinearizable(toCheckerHistory(refused)).ok, false)
})

test('the NDJSON history reads back; an existing file is never overwritten', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftctl-history-'))
  try {
    const path = join(dir, 'check.ndjson')
    const w = new HistoryWriter(path)
    const a = op(0, {op: 'put', value: 'a', invoke: 0.5, complete: 10.25, status: 'ok', node: 2})
    w.write({meta: {version: 1, seed: 7}})
    w.write(a)
    w.write({nemesis: 'partition', time: 12, took: 3, nodes: [2], kind: 'isolate-leader', groups: [[2]], text: 'isolate leader 2 (2 | 1,3)'})
    w.write({verdict: 'linearizable', checkedOps: 1})
    await w.close()
    const text = readFileSync(path, 'utf8')
    assert.equal(text.split('\n').filter(Boolean).length, 4)
    const parsed = parseHistory(text)
    assert.deepEqual(parsed.ops, [a])
    assert.equal(parsed.nemesis[0]!.nemesis, 'partition')
    assert.deepEqual(parsed.meta, {version: 1, seed: 7})
    assert.throws(() => new HistoryWriter(path), /EEXIST/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('a version 1 history (read/write/cas) reads back in the one vocabulary: get/put/cas', () => {
  const lines = [
    {meta: {version: 1}},
    {id: 1, client: 0, process: 0, op: 'write', key: 'k', value: 'a', invoke: 0, complete: 1, status: 'ok'},
    {id: 2, client: 1, process: 1, op: 'read', key: 'k', value: 'a', invoke: 2, complete: 3, status: 'ok'},
    {id: 3, client: 0, process: 0, op: 'cas', key: 'k', expected: 'a', value: 'b', invoke: 4, complete: 5, status: 'ok'},
  ]
  const parsed = parseHistory(lines.map((l) => JSON.stringify(l)).join('\n'))
  assert.deepEqual(
    parsed.ops.map((o) => o.op),
    ['put', 'get', 'cas'],
  )
  assert.deepEqual(countOps(parsed.ops).get.ok, 1)
})

test('the violation excerpt shows the nemesis action that set the scene and those during it', () => {
  const records = [
    op(0, {op: 'put', value: 'b', invoke: 100, complete: 110, status: 'ok'}),
    op(1, {op: 'get', value: 'a', invoke: 120, complete: 121, status: 'ok'}),
  ]
  const excerpt = toCheckerHistory(records)
  const log = [
    {nemesis: 'kill' as const, time: 10, took: 1, nodes: [1], text: 'kill node 1'},
    {nemesis: 'partition' as const, time: 50, took: 1, nodes: [2], text: 'isolate leader 2 (2 | 1,3)'},
    {nemesis: 'heal' as const, time: 115, took: 1, nodes: [], text: 'heal the network'},
    {nemesis: 'pause' as const, time: 500, took: 1, nodes: [3], text: 'pause node 3'},
  ]
  const around = nemesisAround(excerpt, log)
  assert.deepEqual(
    around.map((r) => r.time),
    [50, 115],
  )
  const lines = mergeByTime(excerpt, around)
  assert.equal(lines.length, 4)
  assert.match(lines[0]!, /^~ nemesis isolate leader 2/)
  assert.match(lines[1]!, /put\(k,b\) -> ok \[100\.\.110\]/)
  assert.match(lines[2]!, /^~ nemesis heal/)
  assert.match(lines[3]!, /get\(k\) -> ok\(a\)/)
})
