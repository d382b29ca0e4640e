// The measuring half of `raftctl bench`: percentiles, the summary document, the leader's
// mechanics, leader-change counting, the progress reporter and the closed loop itself.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {
  benchValue,
  closedLoop,
  formatMechanics,
  formatSummary,
  LatencyRecorder,
  LeaderChangeCounter,
  mechanicsBetween,
  percentile,
  pickOp,
  progressBar,
  progressMode,
  ProgressReporter,
  summarize,
} from '../../src/bench/index.js'

const recorder = (xs: number[]) => {
  const r = new LatencyRecorder()
  for (const x of xs) r.add(x)
  return r
}

test('percentiles are nearest-rank over the sorted samples', () => {
  const sorted = Array.from({length: 100}, (_, i) => i + 1) // 1..100
  assert.equal(percentile(sorted, 50), 50)
  assert.equal(percentile(sorted, 90), 90)
  assert.equal(percentile(sorted, 99), 99)
  assert.equal(percentile(sorted, 100), 100)
  assert.equal(percentile([7], 50), 7)
  assert.equal(percentile([7], 99), 7)
  assert.equal(percentile([1, 2], 50), 1)
  assert.equal(percentile([1, 2], 51), 2)
  assert.equal(percentile([], 99), 0)
  assert.throws(() => percentile([1], 0), RangeError)
  assert.throws(() => percentile([1], 101), RangeError)
})

test('the recorder keeps every sample, grows past its first buffer, and sorts numerically', () => {
  const xs = Array.from({length: 5000}, (_, i) => (i * 7919) % 5000)
  const r = recorder(xs)
  assert.equal(r.count, 5000)
  const s = r.sorted()
  assert.equal(s[0], 0)
  assert.equal(s[4999], 4999)
  // Numeric, not lexicographic: 10 after 9.
  assert.deepEqual([...recorder([10, 9, 100, 1]).sorted()], [1, 9, 10, 100])
})

test('the summary document has exactly the promised shape', () => {
  const r = recorder([4, 1, 3, 2, 100])
  const doc = summarize(r, 2000, 3, 1)
  assert.deepEqual(doc, {ops: 5, elapsedMs: 2000, opsPerSec: 2.5, latencyMs: {p50: 3, p90: 100, p99: 100, max: 100}, errors: 3, leaderChanges: 1})
  assert.deepEqual(Object.keys(doc), ['ops', 'elapsedMs', 'opsPerSec', 'latencyMs', 'errors', 'leaderChanges'])
  assert.deepEqual(Object.keys(doc.latencyMs), ['p50', 'p90', 'p99', 'max'])
  const empty = summarize(new LatencyRecorder(), 0, 0, 0)
  assert.deepEqual(empty, {ops: 0, elapsedMs: 0, opsPerSec: 0, latencyMs: {p50: 0, p90: 0, p99: 0, max: 0}, errors: 0, leaderChanges: 0})
  // Latencies are rounded to microseconds, the rate to a tenth.
  assert.deepEqual(summarize(recorder([1.23456]), 3000, 0, 0).latencyMs.p50, 1.235)
  assert.equal(summarize(recorder([1, 1]), 3000, 0, 0).opsPerSec, 0.7)
})

test('the human summary names the run and every figure', () => {
  const text = formatSummary(
    {ops: 12345, elapsedMs: 10_004, opsPerSec: 1234.5, latencyMs: {p50: 1.234, p90: 12.34, p99: 123.4, max: 456}, errors: 2, leaderChanges: 1},
    {op: 'put', clients: 16, durationMs: 10_000, valueSize: 100, keys: 1000, target: '3-node cluster in /tmp/x'},
  )
  assert.match(text, /^put against 3-node cluster in \/tmp\/x: 16 clients, 10s, 100-byte values, 1000 keys$/m)
  assert.match(text, /^ops +12,345 \(1,235 ops\/s\)$/m)
  assert.match(text, /^latency +p50 1\.23ms +p90 12\.3ms +p99 123ms +max 456ms$/m)
  assert.match(text, /^errors +2$/m)
  assert.match(text, /^leader changes +1$/m)
  const stopped = formatSummary(
    {ops: 10, elapsedMs: 2400, opsPerSec: 4.2, latencyMs: {p50: 1, p90: 1, p99: 1, max: 1}, errors: 0, leaderChanges: 0},
    {op: 'get', clients: 1, durationMs: 10_000, valueSize: 100, keys: 1, target: 'x', interrupted: true},
  )
  assert.match(stopped, /^get against x: 1 client, interrupted after 2\.4s of 10s, /m, 'an interrupted run says so, with the time it really ran')
})

test('leader changes: a new leader or a new term counts; an election gap does not', () => {
  const c = new LeaderChangeCounter()
  c.observe(1, 2)
  c.observe(1, 2)
  c.observe(null, null) // election in progress
  c.observe(1, 2) // same leader, same term: not a change
  assert.equal(c.changes, 0)
  c.observe(null, null)
  c.observe(3, 3)
  assert.equal(c.changes, 1)
  c.observe(3, 5) // re-elected in a later term
  assert.equal(c.changes, 2)
  assert.equal(c.current, 3)
  const fresh = new LeaderChangeCounter()
  fresh.observe(null, null)
  fresh.observe(2, 1) // the first leader seen is not a change
  assert.equal(fresh.changes, 0)
})

test('progress: a bar only on a terminal without NO_COLOR/CI, else a line every few seconds', () => {
  assert.equal(progressMode({isTTY: true, write: () => true}, {}), 'bar')
  assert.equal(progressMode({isTTY: true, write: () => true}, {NO_COLOR: '1'}), 'lines')
  assert.equal(progressMode({isTTY: true, write: () => true}, {CI: 'true'}), 'lines')
  assert.equal(progressMode({isTTY: false, write: () => true}, {}), 'lines')
  assert.equal(progressMode({write: () => true}, {}), 'lines')

  const out: string[] = []
  const p = new ProgressReporter({isTTY: false, write: (s: string) => out.push(s)}, {}, 3000)
  for (let t = 250; t <= 10_000; t += 250) p.update({elapsedMs: t, durationMs: 10_000, ops: t, errors: 0})
  p.done()
  assert.equal(out.length, 3) // at 3 s, 6 s, 9 s
  assert.ok(out.every((l) => l.endsWith('\n') && !l.includes('\r') && !l.includes('\x1b')))
  assert.match(out[0]!, /^bench: 3s\/10s {2}3,000 ops {2}1,000 ops\/s {2}0 errors\n$/)

  const tty: string[] = []
  const bar = new ProgressReporter({isTTY: true, write: (s: string) => tty.push(s)}, {})
  bar.update({elapsedMs: 5000, durationMs: 10_000, ops: 500, errors: 1})
  bar.done()
  assert.match(tty[0]!, /^\r\[#{12}\.{12}\] 5\.0s\/10s {2}500 ops {2}100 ops\/s {2}1 error\x1b\[K$/)
  assert.equal(tty[1], '\r\x1b[K')
  assert.match(progressBar({elapsedMs: 20_000, durationMs: 10_000, ops: 1, errors: 0}), /^\[#{24}\]/)
})

test('the closed loop keeps one operation per client in flight until the duration is over', async () => {
  let t = 0
  let inflight = 0
  let maxInflight = 0
  const loop = closedLoop({
    clients: 4,
    durationMs: 100,
    now: () => t,
    op: async (client) => {
      inflight++
      maxInflight = Math.max(maxInflight, inflight)
      await new Promise((r) => setImmediate(r))
      t += 1 // every op takes 1 ms of fake time
      inflight--
      if (client === 3 && t % 10 === 0) throw new Error('boom')
    },
    errorPauseMs: 0,
  })
  const r = await loop.result
  assert.equal(maxInflight, 4)
  assert.ok(r.latencies.count + r.errors >= 100, `${r.latencies.count} ops + ${r.errors} errors`)
  assert.ok(r.errors > 0)
  assert.deepEqual(r.errorSamples, ['boom'])
  assert.ok(r.elapsedMs >= 100)
})

test('stop() ends the loop early; in-flight operations still finish', async () => {
  const loop = closedLoop({clients: 2, durationMs: 60_000, op: () => new Promise((r) => setTimeout(r, 5))})
  setTimeout(() => loop.stop(), 50)
  const r = await loop.result
  assert.ok(r.elapsedMs < 5000)
  assert.ok(r.latencies.count > 0)
})

test('values have exactly the requested size; mixed is half gets', () => {
  for (const n of [0, 1, 100, 4096]) assert.equal(Buffer.byteLength(benchValue(n)), n)
  assert.equal(pickOp('put'), 'put')
  assert.equal(pickOp('get'), 'get')
  assert.equal(
    pickOp('mixed', () => 0.2),
    'get',
  )
  assert.equal(
    pickOp('mixed', () => 0.7),
    'put',
  )
})

test("mechanics: the change of the leader's counters over the run, per fsync, per AppendEntries, per second", () => {
  const before = {entriesWritten: 1000, appendsSent: 300, entriesSent: 2000, fsyncs: 100, dirFsyncs: 3, fsyncMs: 50, cpuMicros: 1_000_000, atMs: 10_000}
  // 2 s later: 1,000 fdatasyncs of 10,000 entries, 2,000 AppendEntries carrying 20,000 (2
  // followers), 900 ms in fsync, 1.5 s of CPU.
  const after = {entriesWritten: 11_000, appendsSent: 2300, entriesSent: 22_000, fsyncs: 1100, dirFsyncs: 5, fsyncMs: 950, cpuMicros: 2_500_000, atMs: 12_000}
  const m = mechanicsBetween(2, before, after)
  assert.deepEqual(m, {node: 2, entriesPerFsync: 10, entriesPerAppend: 10, fsyncsPerSec: 500, fsyncBusyPercent: 45, cpuPercent: 75})
  const text = formatMechanics(m)
  assert.match(text, /^leader I\/O +node 2: 500 fsyncs\/s, 10 entries per fsync, 10 entries per AppendEntries$/m)
  assert.match(text, /^leader busy +CPU 75% of one core; 45% of the time syncing \(off the event loop\)$/m)
  // No time between the readings, or counters that went back (a restart): nothing to say.
  assert.equal(mechanicsBetween(2, before, before), null)
  assert.equal(mechanicsBetween(2, after, {...after, atMs: 13_000, fsyncs: 5}), null)
  // An idle leader: no division by zero.
  assert.deepEqual(mechanicsBetween(1, before, {...before, atMs: 11_000}), {
    node: 1,
    entriesPerFsync: 0,
    entriesPerAppend: 0,
    fsyncsPerSec: 0,
    fsyncBusyPercent: 0,
    cpuPercent: 0,
  })
  assert.match(formatMechanics(null), /^leader I\/O +not measured \(the leader changed during the run, or did not report\)$/m)
})
