// The reports' data shaping, without a browser: fault bands, thinning, bins, per-client lanes,
// the violation view, the Lamport pairing and layout, the bench timeline and view, the template.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {OpTimeline, bucketOf, bucketLowMs, binWidthFor, histogramPercentile, BUCKETS} from '../../src/bench/timeline.js'
import {OP_NAMES, parseHistory, type OpRecord, type OpStatus} from '../../src/check/history.js'
import {buildBenchView, type BenchRecord} from '../../src/report/bench-model.js'
import {buildCheckView, clientLanes, firstLeaderChange, longestGap, opLabel, SEGMENT_BUDGET} from '../../src/report/check-model.js'
import {renderBenchHtml, renderCheckHtml, type Assets} from '../../src/report/html.js'
import {arrowsIn, defaultWindow, eventScale, lamportSvg, pairMessages, parseCapture, shortLabel} from '../../src/report/lamport.js'
import {binCounts, faultBands, thinScatter} from '../../src/report/shape.js'
import {violationSvg} from '../../src/report/violation-svg.js'
import {checkLinearizable} from '../../src/linearizability/index.js'
import {EPOCH_MS, syntheticRun} from './synthetic.js'

const ASSETS: Assets = {uplotJs: '/*uplot*/', uplotCss: '', pageJs: '/*page*/', pageCss: ''}

test('fault bands pair each fault with what undid it; one never undone lasts to the end', () => {
  const bands = faultBands(
    [
      {nemesis: 'partition', time: 100, took: 2, nodes: [1], text: 'isolate leader 1'},
      {nemesis: 'heal', time: 900, took: 3, nodes: [], text: 'heal the network'},
      {nemesis: 'kill', time: 1000, took: 1, nodes: [2], text: 'kill node 2'},
      {nemesis: 'pause', time: 1100, took: 1, nodes: [3], text: 'pause node 3', error: 'node 3 did not stop'},
      {nemesis: 'resume', time: 1500, took: 1, nodes: [3], text: 'resume node 3'},
      {nemesis: 'restart', time: 1800, took: 200, nodes: [1], text: 'restart node 1'},
    ],
    3000,
  )
  assert.deepEqual(bands, [
    {from: 100, to: 903, kind: 'partition', text: 'isolate leader 1'},
    {from: 1000, to: 3000, kind: 'kill', text: 'kill node 2'},
    {from: 1100, to: 1501, kind: 'pause', text: 'pause node 3', error: 'node 3 did not stop'},
  ])
})

test('thinning keeps every point under budget, and each bin its fastest and slowest over it', () => {
  const xs = Array.from({length: 10_000}, (_, i) => i / 10)
  const ys = xs.map((x, i) => (i % 997 === 0 ? 500 : 1 + (i % 7)))
  assert.equal(thinScatter(xs.slice(0, 50), ys.slice(0, 50), 100, 1000).length, 50)
  const kept = thinScatter(xs, ys, 1200, 1000, 100)
  assert.ok(kept.length <= 1200 && kept.length >= 600, `${kept.length}`)
  // Every outlier survives; the order is by time.
  for (let i = 0; i < xs.length; i += 997) assert.ok(kept.includes(i), `outlier ${i} dropped`)
  assert.deepEqual(
    kept,
    [...kept].sort((a, b) => xs[a]! - xs[b]!),
  )
  assert.deepEqual(binCounts([0, 5, 99, 100, 250, 999, 1000], 100, 300), [3, 1, 1])
})

const op = (o: Partial<OpRecord> & Pick<OpRecord, 'id' | 'client' | 'invoke' | 'complete'>): OpRecord => ({
  process: o.client,
  op: 'get',
  key: 'k',
  status: 'ok',
  value: null,
  ...o,
})

test('per-client lanes merge runs of quick ops with one outcome; slow and indeterminate ops stay single', () => {
  const ops = [
    op({id: 1, client: 0, invoke: 0, complete: 1}),
    op({id: 2, client: 0, invoke: 1, complete: 2}),
    op({id: 3, client: 0, invoke: 2, complete: 200}),
    op({id: 4, client: 0, invoke: 200, complete: 201, op: 'put', value: 'c0-1', status: 'indeterminate', error: 'timeout'}),
    op({id: 5, client: 0, invoke: 201, complete: 202, status: 'failed', error: 'unavailable'}),
    op({id: 6, client: 0, invoke: 202, complete: 203, status: 'failed', error: 'unavailable'}),
    op({id: 7, client: 1, invoke: 0, complete: 1}),
  ]
  const lanes = clientLanes(ops, 3)
  assert.equal(lanes.lanes.length, 3)
  assert.deepEqual(lanes.lanes[0]!.segs, [0, 2, 0, 2, -1, 2, 200, 0, 1, 0, 200, 201, 2, 1, 1, 201, 203, 1, 2, -1])
  assert.deepEqual(lanes.lanes[2]!.segs, [])
  assert.equal(lanes.merged, 2)
  assert.match(lanes.details[0]!, /^c0 #3 get\(k\) -> ok absent \[2\.\.200 ms\]/)
  assert.match(lanes.details[1]!, /#4 put\(k, c0-1\) -> indeterminate \(timeout\)/)
  assert.equal(opLabel(ops[3]!), 'put c0-1?')
  assert.equal(
    opLabel(op({id: 9, client: 0, invoke: 0, complete: 1, op: 'cas', expected: 'a', value: 'b', status: 'failed', error: 'mismatch', current: 'z'})),
    'cas a→b ✗ (was z)',
  )
  assert.deepEqual(longestGap(ops, 400), {from: 200, ms: 200})
})

test('a 60 s history of realistic density shapes into bounded data', () => {
  const s = syntheticRun(60_000)
  const v = buildCheckView(parseHistory(s.history), '/x/history.ndjson')
  assert.equal(v.latency.total, s.ops)
  assert.ok(v.latency.shown < 40_000, `${v.latency.shown} latency points`)
  const segs = v.clients.lanes.reduce((n, l) => n + l.segs.length / 5, 0)
  assert.ok(segs <= SEGMENT_BUDGET, `${segs} segments`)
  assert.equal(v.bands.length, 29)
  assert.deepEqual(new Set(v.bands.map((b) => b.kind)), new Set(['partition', 'kill', 'pause']))
  assert.equal(v.throughput.xs.length, v.throughput.series[0]!.ys.length)
  assert.equal(v.verdicts[0]!.result, 'fail')
  assert.equal(v.verdicts[1]!.result, 'pass')
  assert.equal(firstLeaderChange(v.leader), 2000)
  // The violation: the stuck op, the placed ones numbered in order, the value the key held.
  const w = v.violation!
  assert.equal(w.stuck!.id, s.stuckId)
  assert.equal(w.value, 'c2-9')
  assert.equal(w.placedCount, 812)
  assert.deepEqual(
    w.ops.filter((o) => o.role === 'placed').map((o) => o.order),
    [1, 2, 3, 4, 5, 6],
  )
  assert.ok(
    w.ops.every((o) => o.invoke <= w.to && (o.complete ?? Infinity) >= w.from),
    'every op drawn overlaps the window',
  )
  assert.ok(w.from <= w.stuck!.invoke && w.stuck!.invoke <= w.to)
  assert.ok(v.marks.some((m) => m.kind === 'violation' && m.t === w.stuck!.invoke))
  const svg = violationSvg(w)
  assert.match(svg, new RegExp(`<g id="violation-marker" data-op="${s.stuckId}">`))
  assert.equal((svg.match(/class="op op-placed"/g) ?? []).length, 6)
})

test('a violation found by the checker carries its stuck op and partial linearization to the report', () => {
  // c0 writes a, then b; c1 then reads a: stale (c2's later read of b makes b a value the checker tells apart).
  const history = [
    {id: 1, client: 0, op: {type: 'put' as const, key: 'k', value: 'a'}, invoke: 0, complete: 1, result: {status: 'ok' as const}},
    {id: 2, client: 0, op: {type: 'put' as const, key: 'k', value: 'b'}, invoke: 2, complete: 3, result: {status: 'ok' as const}},
    {id: 3, client: 1, op: {type: 'get' as const, key: 'k'}, invoke: 4, complete: 5, result: {status: 'ok' as const, value: 'a'}},
    {id: 4, client: 2, op: {type: 'get' as const, key: 'k'}, invoke: 6, complete: 7, result: {status: 'ok' as const, value: 'b'}},
  ]
  const r = checkLinearizable(history)
  assert.equal(r.ok, false)
  if (r.ok) return
  assert.deepEqual(r.detail, {stuck: 3, placed: [1, 2], placedCount: 2, value: 'b'})
})

test('Lamport: sends pair with receives by text and time; lost sends and unsent receives stay', () => {
  const {lines, header} = parseCapture(
    [
      JSON.stringify({capture: {node: 1, mode: 'sampled', slotMs: 250, everyMs: 2000}}),
      JSON.stringify({t: EPOCH_MS + 10, n: 1, e: 's', m: '1->2 AppendEntries t2 prev=3@2 [] commit=3'}),
      JSON.stringify({t: EPOCH_MS + 10.2, n: 1, e: 's', m: '1->3 AppendEntries t2 prev=3@2 [] commit=3'}),
      JSON.stringify({t: EPOCH_MS + 10.5, n: 2, e: 'r', m: '1->2 AppendEntries t2 prev=3@2 [] commit=3'}),
      JSON.stringify({t: EPOCH_MS + 20, n: 1, e: 's', m: '1->2 AppendEntries t2 prev=3@2 [] commit=3'}),
      JSON.stringify({t: EPOCH_MS + 20.4, n: 2, e: 'r', m: '1->2 AppendEntries t2 prev=3@2 [] commit=3'}),
      JSON.stringify({t: EPOCH_MS + 30, n: 3, e: 'r', m: '2->3 RequestVote t3 pre last=3@2'}),
      '{"t": 17000000', // torn by a SIGKILL
    ].join('\n'),
  )
  assert.deepEqual(header, {mode: 'sampled', slotMs: 250, everyMs: 2000})
  const arrows = pairMessages(lines, EPOCH_MS)
  assert.deepEqual(
    arrows.map((a) => [a.from, a.to, a.type, a.sent, a.received]),
    [
      [1, 2, 'AppendEntries', 10, 10.5],
      [1, 3, 'AppendEntries', 10.2, null],
      [1, 2, 'AppendEntries', 20, 20.4],
      [2, 3, 'RequestVote', null, 30],
    ],
  )
  assert.equal(arrowsIn(arrows, 15, 40).arrows.length, 2)
  const thinned = arrowsIn(arrows, 0, 40, 2)
  assert.equal(thinned.arrows.length, 2)
  assert.ok(
    thinned.arrows.some((a) => a.type === 'RequestVote'),
    'elections are never thinned',
  )
  // Every event gets a row: a 0.4 ms message is not drawn flat.
  const {y} = eventScale(arrows, 0, 40, 0)
  assert.ok(y(10.5) - y(10) >= 9)
  const svg = lamportSvg(arrows, {nodes: 3, from: 0, to: 40, header, epochMs: EPOCH_MS})
  assert.match(svg, /data-arrows="4"/)
  assert.equal((svg.match(/class="msg msg-AppendEntries lost"/g) ?? []).length, 1)
  assert.equal(shortLabel('2->3 RequestVoteResponse t3 pre granted'), 'RequestVoteResponse t3 pre granted')
  assert.deepEqual(defaultWindow({violationAt: 1000, bands: [], endMs: 5000}), {from: 550, to: 1150})
  assert.deepEqual(defaultWindow({bands: [], endMs: 100}), {from: 0, to: 100})
})

test('bench timeline: bounded bins, histogram percentiles within a bucket, the view', () => {
  assert.equal(binWidthFor(10_000), 100)
  assert.equal(binWidthFor(600_000), 1000)
  assert.equal(bucketOf(0), 0)
  assert.equal(bucketOf(1e9), BUCKETS - 1)
  for (const ms of [0.05, 1, 9.5, 120]) assert.ok(bucketLowMs(bucketOf(ms)) <= ms && ms < bucketLowMs(bucketOf(ms) + 1), `${ms}`)
  const tl = new OpTimeline(100)
  for (let i = 0; i < 1000; i++) tl.add(i, i < 990 ? 2 : 50)
  tl.error(150)
  tl.add(1e12, 1) // far beyond the run: clamped to the last bin, memory stays bounded
  const d = tl.data()
  assert.equal(d.bins.length, 1200)
  assert.deepEqual([d.bins[0]!.ok, d.bins[1]!.errors], [100, 1])
  assert.ok(Math.abs(d.bins[0]!.p50! - 2) / 2 < 0.2)
  assert.equal(d.bins[9]!.max, 50)
  const row = new Array(BUCKETS).fill(0)
  row[bucketOf(2)] = 99
  row[bucketOf(50)] = 1
  assert.ok(Math.abs(histogramPercentile(row, 99) - 2) / 2 < 0.2)
  assert.ok(Math.abs(histogramPercentile(row, 100) - 50) / 50 < 0.2)

  const rec: BenchRecord = {
    bench: {
      version: 1,
      started: '2025-01-01T00:00:00.000Z',
      settings: {op: 'put', clients: 4, durationMs: 1000, valueSize: 100, keys: 10, timeoutMs: 5000, nodes: 3, dir: '/c'},
      result: {ops: 1000, opsPerSec: 1000, latencyMs: {p50: 2, p90: 2, p99: 50, max: 50}, errors: 1, leaderChanges: 1},
      exact: {min: 2, mean: 2.5, p999: 50},
      timeline: {...d, bins: d.bins.slice(0, 10)},
      leaders: [
        {time: 0, leader: 1, term: 2},
        {time: 512.5, leader: 2, term: 3},
      ],
      errorSamples: ['timeout'],
    },
  }
  const v = buildBenchView(rec, '/c/bench-x/bench.json')
  assert.deepEqual(v.marks, [{t: 512.5, kind: 'leader', text: 'leader 2, term 3'}])
  assert.deepEqual(v.timeline.ops.slice(0, 2), [1000, 1000])
  assert.deepEqual(
    v.percentiles.map(([k]) => k),
    ['min', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max'],
  )
  const html = renderBenchHtml(v, ASSETS)
  assert.match(html, /data-leader-changes="1"/)
  // The leader's mechanics, when the record has them, are rows of the result (an older record: none).
  assert.ok(!v.summary.some(([k]) => k === 'leader CPU'))
  const m = {node: 2, entriesPerFsync: 9.5, entriesPerAppend: 8.25, fsyncsPerSec: 1200, fsyncBusyPercent: 41.5, cpuPercent: 80}
  const withM = buildBenchView({bench: {...rec.bench, mechanics: m}}, 'x')
  assert.deepEqual(withM.summary.slice(-4), [
    ['leader', 'node 2'],
    ['fsyncs (leader)', '1,200/s, 9.5 entries per fsync'],
    ['AppendEntries', '8.25 entries each'],
    ['leader CPU', '80% of one core; 41.5% of the time syncing (off the event loop)'],
  ])
  assert.deepEqual(withM.summary.slice(0, 4), v.summary.slice(0, 4), 'the headline is unchanged')
  assert.deepEqual(buildBenchView({bench: {...rec.bench, mechanics: null}}, 'x').summary.at(-1), [
    'leader I/O',
    'not measured (the leader changed during the run)',
  ])
})

test('the page is one self-contained file: data inlined safely, nothing fetched', () => {
  const s = syntheticRun(5_000)
  const h = parseHistory(s.history)
  h.ops[0]!.value = '</script><script>alert(1)</script>'
  const v = buildCheckView(h, '/x/history.ndjson')
  const html = renderCheckHtml(v, {violationSvg: violationSvg(v.violation!)}, ASSETS)
  assert.equal((html.match(/<\/script>/g) ?? []).length, 3, 'only the three script elements close')
  assert.doesNotMatch(html, /\b(src|href)=["']?(https?:)?\/\//)
  assert.doesNotMatch(html, /<link\b/)
  assert.match(html, /<body data-kind="check" data-rendered="no" data-verdict="fail" data-bands="2">/)
  const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!)
  assert.equal(data.kind, 'check')
})

test('the page script has a colour for every latency series the check view names (op and status)', () => {
  const page = readFileSync(new URL('../../assets/report/page.js', import.meta.url), 'utf8')
  const table = /var OP = \{([^}]*)\}/.exec(page)
  assert.ok(table, 'the OP colour table')
  const keys = [...table[1]!.matchAll(/'([a-z-]+ [a-z]+)':/g)].map((m) => m[1]).sort()
  const statuses: OpStatus[] = ['ok', 'failed', 'indeterminate']
  assert.deepEqual(keys, OP_NAMES.flatMap((op) => statuses.map((s) => `${op} ${s}`)).sort())
})
