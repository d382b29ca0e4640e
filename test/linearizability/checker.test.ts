import {test} from 'node:test'
import assert from 'node:assert/strict'

import {checkLinearizable, formatOp, type HistoryOp, type KvOp, type KvResult} from '../../src/linearizability/index.js'

// ---- helpers ---------------------------------------------------------------------------------

class H {
  ops: HistoryOp[] = []
  private nextId = 1
  add(client: number, op: KvOp, invoke: number, complete: number, result: KvResult): HistoryOp {
    const h: HistoryOp = {id: this.nextId++, client, op, invoke, complete, result}
    this.ops.push(h)
    return h
  }
  put(c: number, key: string, value: string, inv: number, comp: number, result: KvResult = {status: 'ok'}): HistoryOp {
    return this.add(c, {type: 'put', key, value}, inv, comp, result)
  }
  get(c: number, key: string, value: string | null, inv: number, comp: number): HistoryOp {
    return this.add(c, {type: 'get', key}, inv, comp, {status: 'ok', value})
  }
  del(c: number, key: string, inv: number, comp: number, result: KvResult = {status: 'ok'}): HistoryOp {
    return this.add(c, {type: 'del', key}, inv, comp, result)
  }
  cas(c: number, key: string, expected: string, value: string, inv: number, comp: number, result: KvResult): HistoryOp {
    return this.add(c, {type: 'cas', key, expected, value}, inv, comp, result)
  }
}

const UNKNOWN: KvResult = {status: 'unknown'}

function assertOk(h: HistoryOp[], opts?: {maxStates?: number}): void {
  const r = checkLinearizable(h, opts)
  if (!r.ok) assert.fail(`expected linearizable, got: ${r.reason}\n${r.excerpt.map(formatOp).join('\n')}`)
}

function assertViolation(h: HistoryOp[], key?: string): {reason: string; excerpt: HistoryOp[]} {
  const r = checkLinearizable(h)
  if (r.ok) return assert.fail('expected a linearizability violation')
  assert.ok(!r.reason.startsWith('undecided:'), r.reason)
  if (key !== undefined) assert.equal(r.key, key)
  assert.ok(r.excerpt.length > 0 && r.excerpt.length <= 12)
  assert.ok(!r.reason.includes('\n'))
  return r
}

// Tiny deterministic PRNG (mulberry32) so the generated histories are reproducible.
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) % n
  }
}

/**
 * A linearizable history: ops are applied to a sequential map at strictly increasing linearization
 * points, each op's interval contains its point; clients are sequential; every written value is unique.
 * Some results are 'unknown' (took effect or not at random).
 */
function generate(seed: number, count: number, keys: string[], clients = 8): HistoryOp[] {
  const r = rng(seed)
  const model = new Map<string, string>()
  const free = new Array<number>(clients).fill(-1)
  const out: HistoryOp[] = []
  let written = 0
  for (let i = 0; i < count; i++) {
    const t = i * 10 + 100
    const key = keys[r(keys.length)]!
    const cur = model.get(key) ?? null
    const invoke = t - 1 - r(30)
    let client = -1
    for (let tries = 0; tries < clients && client < 0; tries++) {
      const c = r(clients)
      if (free[c]! < invoke) client = c
    }
    if (client < 0) {
      client = free.length
      free.push(-1)
    }
    const complete = t + 1 + r(30)
    const unknown = r(100) < 6
    const applies = !unknown || r(2) === 0
    let op: KvOp
    let result: KvResult
    const pick = r(100)
    if (pick < 35) {
      const value = `v${++written}`
      op = {type: 'put', key, value}
      if (applies) model.set(key, value)
      result = {status: 'ok'}
    } else if (pick < 70) {
      op = {type: 'get', key}
      result = {status: 'ok', value: cur}
    } else if (pick < 80) {
      op = {type: 'del', key}
      if (applies) model.delete(key)
      result = cur === null ? {status: 'not-found'} : {status: 'ok'}
    } else {
      const expected = cur !== null && r(3) > 0 ? cur : `v${1 + r(Math.max(1, written))}`
      const value = `v${++written}`
      op = {type: 'cas', key, expected, value}
      if (cur === null) result = {status: 'not-found'}
      else if (cur === expected) {
        result = {status: 'ok'}
        if (applies) model.set(key, value)
      } else result = {status: 'mismatch', current: cur}
    }
    if (unknown) result = UNKNOWN
    free[client] = unknown ? complete + r(20) : complete
    out.push({id: i, client, op, invoke, complete: unknown ? Infinity : complete, result})
  }
  return out
}

function endOf(h: HistoryOp): number {
  return h.result.status === 'unknown' ? Infinity : h.complete
}

// ---- hand-made histories ---------------------------------------------------------------------

test('formatOp gives one canonical line', () => {
  const h = new H()
  const p: HistoryOp = {id: 17, client: 3, op: {type: 'put', key: 'k1', value: 'v9'}, invoke: 120, complete: 135, result: {status: 'ok'}}
  assert.equal(formatOp(p), 'c3 #17 put(k1,v9) -> ok [120..135]')
  assert.equal(formatOp(h.get(1, 'k', null, 1, 2)), 'c1 #1 get(k) -> ok(null) [1..2]')
  assert.equal(formatOp(h.get(1, 'k', 'a b', 1, 2)), 'c1 #2 get(k) -> ok("a b") [1..2]')
  assert.equal(formatOp(h.cas(2, 'k', 'x', 'y', 3, Infinity, UNKNOWN)), 'c2 #3 cas(k,x,y) -> unknown [3..inf]')
  assert.equal(formatOp(h.cas(2, 'k', 'x', 'y', 3, 4, {status: 'mismatch', current: 'z'})), 'c2 #4 cas(k,x,y) -> mismatch(z) [3..4]')
  assert.equal(formatOp(h.del(2, 'k', 5, 6, {status: 'not-found'})), 'c2 #5 del(k) -> not-found [5..6]')
})

test('empty history is ok', () => {
  assert.deepEqual(checkLinearizable([]), {ok: true, keys: 0, ops: 0})
})

test('sequential history is ok', () => {
  const h = new H()
  h.get(1, 'k', null, 0, 1)
  h.put(1, 'k', 'a', 2, 3)
  h.get(2, 'k', 'a', 4, 5)
  h.cas(1, 'k', 'a', 'b', 6, 7, {status: 'ok'})
  h.get(2, 'k', 'b', 8, 9)
  h.del(1, 'k', 10, 11)
  h.del(1, 'k', 12, 13, {status: 'not-found'})
  h.cas(2, 'k', 'a', 'c', 14, 15, {status: 'not-found'})
  h.get(2, 'k', null, 16, 17)
  assert.deepEqual(checkLinearizable(h.ops), {ok: true, keys: 1, ops: 9})
})

test('concurrent put and get: either order is fine', () => {
  for (const seen of [null, 'a']) {
    const h = new H()
    h.put(1, 'k', 'a', 0, 10)
    h.get(2, 'k', seen, 2, 8)
    assertOk(h.ops)
  }
})

test('touching intervals (A.complete === B.invoke) count as concurrent', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 5)
  h.get(2, 'k', null, 5, 6)
  assertOk(h.ops)
})

test('stale read after a completed put is a violation', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(1, 'k', 'b', 2, 3)
  const g = h.get(2, 'k', 'a', 4, 5)
  const r = assertViolation(h.ops, 'k')
  assert.ok(r.excerpt.includes(g))
  assert.match(r.reason, /not linearizable/)
})

test('read of a value never written is a violation', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  const g = h.get(2, 'k', 'zzz', 2, 3)
  const r = assertViolation(h.ops, 'k')
  assert.match(r.reason, /never written/)
  assert.ok(r.excerpt.includes(g))
})

test('unknown put whose value is later read is ok', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(2, 'k', 'b', 2, Infinity, UNKNOWN)
  h.get(3, 'k', 'a', 3, 4)
  h.get(3, 'k', 'b', 50, 51)
  h.get(1, 'k', 'b', 60, 61)
  assertOk(h.ops)
})

test('unknown put never read is ok', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(2, 'k', 'b', 2, 7, UNKNOWN) // gave up at 7
  h.get(3, 'k', 'a', 10, 11)
  h.get(3, 'k', 'a', 20, 21)
  assertOk(h.ops)
})

test('unknown put may take effect long after the client gave up', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(2, 'k', 'b', 2, 3, UNKNOWN) // gave up at 3
  h.get(3, 'k', 'a', 10, 11)
  h.get(3, 'k', 'b', 20, 21)
  assertOk(h.ops)
})

test('unknown op cannot take effect before its invoke', () => {
  const h = new H()
  h.get(3, 'k', 'b', 0, 1)
  h.put(2, 'k', 'b', 5, Infinity, UNKNOWN)
  assertViolation(h.ops, 'k')
})

test('unknown put read, then the earlier value read again, is a violation', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(2, 'k', 'b', 2, Infinity, UNKNOWN)
  h.get(3, 'k', 'b', 10, 11)
  const g = h.get(3, 'k', 'a', 20, 21)
  const r = assertViolation(h.ops, 'k')
  assert.ok(r.excerpt.includes(g))
})

test('unknown cas: may take effect when its expected value is current', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.cas(2, 'k', 'a', 'b', 2, Infinity, UNKNOWN)
  h.get(3, 'k', 'b', 10, 11)
  assertOk(h.ops)
  const bad = new H()
  bad.put(1, 'k', 'a', 0, 1)
  bad.cas(2, 'k', 'x', 'b', 2, Infinity, UNKNOWN) // k never holds x
  bad.get(3, 'k', 'b', 10, 11)
  assertViolation(bad.ops, 'k')
})

test('unknown writes can chain: unknown put x, unknown cas x->y, then y is read', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(2, 'k', 'x', 2, Infinity, UNKNOWN)
  h.cas(3, 'k', 'x', 'y', 3, Infinity, UNKNOWN)
  h.get(4, 'k', 'a', 4, 5) // neither has taken effect yet
  h.get(4, 'k', 'y', 10, 11)
  assertOk(h.ops)
})

test('unknown del may explain a later absent read, once', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.del(2, 'k', 2, 3, UNKNOWN)
  h.get(3, 'k', 'a', 4, 5)
  h.get(3, 'k', null, 6, 7)
  assertOk(h.ops)
  h.put(1, 'k', 'b', 8, 9)
  h.get(3, 'k', null, 10, 11) // the unknown del was already needed before the put
  assertViolation(h.ops, 'k')
})

test('cas race with exactly one winner is ok', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.cas(2, 'k', 'a', 'b', 2, 10, {status: 'ok'})
  h.cas(3, 'k', 'a', 'c', 3, 9, {status: 'mismatch', current: 'b'})
  h.get(1, 'k', 'b', 11, 12)
  assertOk(h.ops)
})

test('two cas on the same expected value both winning is a violation', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.cas(2, 'k', 'a', 'b', 2, 10, {status: 'ok'})
  h.cas(3, 'k', 'a', 'c', 3, 9, {status: 'ok'})
  assertViolation(h.ops, 'k')
})

test('cas mismatch reporting a consistent current value is ok', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(2, 'k', 'b', 2, 10)
  h.cas(3, 'k', 'x', 'y', 3, 9, {status: 'mismatch', current: 'a'}) // before the concurrent put
  h.cas(3, 'k', 'x', 'y', 11, 12, {status: 'mismatch', current: 'b'})
  assertOk(h.ops)
})

test('cas mismatch reporting an inconsistent current value is a violation', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.put(2, 'k', 'b', 2, 3)
  h.cas(3, 'k', 'x', 'y', 4, 5, {status: 'mismatch', current: 'a'}) // 'a' was overwritten before
  assertViolation(h.ops, 'k')
})

test('cas on an absent key must report not-found', () => {
  const ok = new H()
  ok.cas(1, 'k', 'a', 'b', 0, 1, {status: 'not-found'})
  assertOk(ok.ops)
  const bad = new H()
  bad.put(1, 'k', 'a', 0, 1)
  bad.cas(1, 'k', 'a', 'b', 2, 3, {status: 'not-found'})
  assertViolation(bad.ops, 'k')
})

test('del then get reads null; del of absent is not-found', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.del(1, 'k', 2, 3)
  h.get(2, 'k', null, 4, 5)
  h.del(2, 'k', 6, 7, {status: 'not-found'})
  assertOk(h.ops)
  const bad = new H()
  bad.put(1, 'k', 'a', 0, 1)
  bad.del(1, 'k', 2, 3)
  bad.get(2, 'k', 'a', 4, 5)
  assertViolation(bad.ops, 'k')
  const bad2 = new H()
  bad2.put(1, 'k', 'a', 0, 1)
  bad2.del(1, 'k', 2, 3, {status: 'not-found'})
  assertViolation(bad2.ops, 'k')
})

test('multi-key history reports the violating key only', () => {
  const h = new H()
  h.put(1, 'x', 'a', 0, 1)
  h.put(2, 'y', 'a', 0, 1)
  h.put(1, 'x', 'b', 2, 3)
  h.put(2, 'y', 'b', 2, 3)
  h.get(3, 'x', 'b', 4, 5)
  const g = h.get(3, 'y', 'a', 4, 5) // stale on y
  h.get(4, 'z', null, 0, 100)
  // Same value names on other keys must not leak across keys.
  const r = assertViolation(h.ops, 'y')
  assert.ok(r.excerpt.includes(g))
  assert.ok(r.excerpt.every((o) => o.op.key === 'y'))
})

test('impossible result statuses are violations', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1, {status: 'not-found'})
  assertViolation(h.ops, 'k')
})

test('malformed input throws', () => {
  const h = new H()
  h.get(1, 'k', null, 5, 4)
  assert.throws(() => checkLinearizable(h.ops), TypeError)
  const d = new H()
  const a = d.get(1, 'k', null, 0, 1)
  assert.throws(() => checkLinearizable([a, {...a}]), TypeError)
})

test('many pending unknown puts that nobody reads do not blow up the search', () => {
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  for (let i = 0; i < 40; i++) h.put(10 + i, 'k', `u${i}`, 2 + i, Infinity, UNKNOWN)
  h.get(2, 'k', 'a', 10, 11)
  h.put(2, 'k', 'b', 50, 51)
  h.get(3, 'k', 'b', 60, 61)
  assertOk(h.ops, {maxStates: 10_000})
  h.get(3, 'k', null, 70, 71) // nothing can delete k
  assertViolation(h.ops, 'k')
})

test('interchangeable pending unknown writes are not tried in every subset', () => {
  // A successful del means unread unknown puts could still matter (making the key present again),
  // but they are all equivalent, as are the unknown dels.
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  h.del(1, 'k', 2, 3)
  h.put(1, 'k', 'b', 4, 5)
  for (let i = 0; i < 30; i++) h.put(10 + i, 'k', `u${i}`, 6 + i, Infinity, UNKNOWN)
  for (let i = 0; i < 30; i++) h.del(50 + i, 'k', 6 + i, Infinity, UNKNOWN)
  h.get(2, 'k', 'b', 40, 41)
  h.get(2, 'k', null, 42, 43)
  h.del(2, 'k', 44, 45)
  h.get(2, 'k', null, 46, 47)
  assertOk(h.ops, {maxStates: 10_000})
  h.get(2, 'k', 'a', 48, 49) // nothing writes a after b
  assertViolation(h.ops, 'k')
})

test('maxStates exceeded reports undecided', () => {
  // Unknown puts of distinct values, each read by one of many concurrent gets: the search has to
  // try every order of them before concluding the final read is impossible.
  const h = new H()
  h.put(1, 'k', 'a', 0, 1)
  for (let i = 0; i < 16; i++) {
    h.put(10 + i, 'k', `u${i}`, 4, Infinity, UNKNOWN)
    h.get(30 + i, 'k', `u${i}`, 10, 100)
  }
  h.get(2, 'k', null, 200, 201)
  const r = checkLinearizable(h.ops, {maxStates: 1000})
  assert.equal(r.ok, false)
  if (r.ok) return
  assert.match(r.reason, /^undecided:/)
  assert.equal(r.key, 'k')
  assert.ok(r.excerpt.length > 0 && r.excerpt.length <= 12)
  // A definite violation on another key wins over undecided.
  h.put(1, 'j', 'a', 0, 1)
  h.get(1, 'j', null, 2, 3)
  const r2 = checkLinearizable(h.ops, {maxStates: 1000})
  assert.ok(!r2.ok && r2.key === 'j' && !r2.reason.startsWith('undecided:'))
})

// ---- cross-check against brute force ---------------------------------------------------------

/** Reference: try every order of every subset containing all definite ops, respecting real time. */
function bruteForce(h: HistoryOp[]): boolean {
  const unknown = (o: HistoryOp): boolean => o.result.status === 'unknown'
  const used = h.map(() => false)
  const apply = (state: string | null, o: HistoryOp): string | null | undefined => {
    const op = o.op
    const r = o.result
    switch (op.type) {
      case 'put':
        return r.status === 'ok' || r.status === 'unknown' ? op.value : undefined
      case 'get':
        return r.status === 'unknown' || (r.status === 'ok' && (r.value ?? null) === state) ? state : undefined
      case 'del':
        if (r.status === 'unknown') return null
        if (r.status === 'ok') return state !== null ? null : undefined
        return r.status === 'not-found' && state === null ? null : undefined
      case 'cas':
        if (r.status === 'unknown') return state === op.expected ? op.value : state
        if (r.status === 'ok') return state === op.expected ? op.value : undefined
        if (r.status === 'not-found') return state === null ? null : undefined
        return r.status === 'mismatch' && state !== null && state !== op.expected && state === r.current ? state : undefined
    }
  }
  const search = (state: string | null): boolean => {
    if (h.every((o, i) => used[i] || unknown(o))) return true
    for (let i = 0; i < h.length; i++) {
      if (used[i]) continue
      const blocked = h.some((o, j) => !used[j] && j !== i && !unknown(o) && o.complete < h[i]!.invoke)
      if (blocked) continue
      const next = apply(state, h[i]!)
      if (next === undefined) continue
      used[i] = true
      const found = search(next)
      used[i] = false
      if (found) return true
    }
    return false
  }
  return search(null)
}

test('agrees with a brute-force checker on small random histories', () => {
  const r = rng(2024)
  const values = ['a', 'b', 'c', 'd', 'e']
  let violations = 0
  for (let iter = 0; iter < 1000; iter++) {
    const vals = values.slice(0, 2 + r(4))
    const span = 10 + r(30)
    const width = 1 + r(12)
    const h: HistoryOp[] = []
    const n = 1 + r(7)
    for (let i = 0; i < n; i++) {
      const invoke = r(span)
      const complete = invoke + r(width)
      const k = r(4)
      const v = vals[r(vals.length)]!
      const op: KvOp =
        k === 0
          ? {type: 'put', key: 'k', value: v}
          : k === 1
            ? {type: 'get', key: 'k'}
            : k === 2
              ? {type: 'del', key: 'k'}
              : {type: 'cas', key: 'k', expected: vals[r(vals.length)]!, value: v}
      let result: KvResult
      if (r(5) === 0) result = UNKNOWN
      else if (op.type === 'get') result = {status: 'ok', value: r(4) === 0 ? null : vals[r(vals.length)]!}
      else if (op.type === 'put') result = {status: 'ok'}
      else if (op.type === 'del') result = r(2) ? {status: 'ok'} : {status: 'not-found'}
      else {
        const z = r(3)
        result = z === 0 ? {status: 'ok'} : z === 1 ? {status: 'not-found'} : {status: 'mismatch', current: vals[r(vals.length)]!}
      }
      h.push({id: i, client: i, op, invoke, complete: result.status === 'unknown' && r(2) ? Infinity : complete, result})
    }
    const expected = bruteForce(h)
    const got = checkLinearizable(h)
    if (got.ok !== expected) assert.fail(`disagreement (brute force says ${expected}):\n${h.map(formatOp).join('\n')}`)
    if (!expected) violations++
  }
  assert.ok(violations > 100 && violations < 900, `violations: ${violations}`)
})

// ---- generated histories ---------------------------------------------------------------------

test('generated linearizable histories are ok', () => {
  for (let seed = 1; seed <= 5; seed++) {
    const h = generate(seed, 400, ['a', 'b', 'c'])
    assert.ok(h.some((o) => o.result.status === 'unknown'))
    const r = checkLinearizable(h)
    assert.ok(r.ok, r.ok ? '' : `seed ${seed}: ${r.reason}`)
    assert.equal(r.keys, 3)
    assert.equal(r.ops, 400)
  }
})

test('thousands of ops on one key', () => {
  const h = generate(42, 4000, ['k'], 6)
  assertOk(h)
})

test('generated history with a read of a future value is a violation', () => {
  const h = generate(7, 400, ['a', 'b', 'c'])
  // Corrupt a get: make it read a value first written by a definite put that began after the get ended.
  let done = false
  for (const g of h) {
    if (done || g.op.type !== 'get' || g.result.status !== 'ok') continue
    const p = h.find((o) => o.op.type === 'put' && o.op.key === g.op.key && o.result.status === 'ok' && o.invoke > g.complete)
    if (p === undefined || p.op.type !== 'put') continue
    g.result = {status: 'ok', value: p.op.value}
    done = true
  }
  assert.ok(done)
  assertViolation(h)
})

test('generated history with a stale read is a violation', () => {
  const h = generate(11, 400, ['a', 'b', 'c'])
  // Corrupt a get to read a value p wrote (uniquely, definitely) that a later definite write w
  // overwrote: p completes before w begins and w completes before the get begins.
  const definiteWrite = (o: HistoryOp): boolean => o.result.status === 'ok' && (o.op.type === 'put' || o.op.type === 'del' || o.op.type === 'cas')
  let target: {g: HistoryOp; value: string} | undefined
  for (const g of h.slice(200)) {
    if (g.op.type !== 'get' || g.result.status !== 'ok') continue
    const ws = h.filter((w) => w.op.key === g.op.key && definiteWrite(w) && w.complete < g.invoke)
    const p = h.find((p) => p.op.type === 'put' && p.op.key === g.op.key && p.result.status === 'ok' && ws.some((w) => w !== p && endOf(p) < w.invoke))
    if (p === undefined || p.op.type !== 'put') continue
    if (g.result.value === p.op.value) continue
    target = {g, value: p.op.value}
    break
  }
  assert.ok(target)
  target.g.result = {status: 'ok', value: target.value}
  const r = assertViolation(h, target.g.op.key)
  assert.ok(r.excerpt.length <= 12)
})
