// The reports as a person sees them: a 60 s check run of realistic density (synthetic: see
// synthetic.ts) becomes a report that stays small and builds fast; headless Chromium opens it
// from disk, its scripts draw every chart (a DOM marker says so), and a screenshot shows the
// fault bands in their colours and the violation marker. A bench report renders the same way.
import {after, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {OpTimeline} from '../../src/bench/timeline.js'
import {saveBenchRun, writeCheckReport} from '../../src/report/write.js'
import {dumpDom, findChromium, screenshot} from '../helpers/chromium.js'
import {countColour, decodePng, distinctColours} from '../helpers/png.js'
import {syntheticRun} from './synthetic.js'

const chromium = findChromium()
const skip = chromium ? false : 'chromium is not installed (apt-get install -y chromium; .ci/run installs it)'
const dir = mkdtempSync(join(tmpdir(), 'raftctl-report-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const run = syntheticRun(60_000)
const historyPath = join(dir, 'history.ndjson')
writeFileSync(historyPath, run.history)
writeFileSync(join(dir, 'messages.ndjson'), run.messages)
const written = writeCheckReport(historyPath)

test('a 60 s run: the report is one file under 3 MB, built in under 5 s', () => {
  assert.equal(written.path, join(dir, 'report.html'))
  assert.ok(run.ops > 100_000, `${run.ops} ops`)
  assert.ok(written.bytes < 3 * 1024 * 1024, `${written.bytes} bytes`)
  assert.ok(written.buildMs < 5000, `${written.buildMs} ms`)
})

test('Chromium draws every chart of the check report; the DOM says so', {skip, timeout: 90_000}, async () => {
  const dom = await dumpDom(chromium!, written.path)
  const body = /<body[^>]*>/.exec(dom)?.[0] ?? ''
  assert.match(body, /data-rendered="ok"/, body)
  assert.match(body, /data-charts="4"/)
  assert.match(body, /data-verdict="fail"/)
  assert.ok(Number(/data-bands-drawn="(\d+)"/.exec(body)?.[1]) >= 29 * 4, body)
  assert.match(dom, new RegExp(`<g id="violation-marker" data-op="${run.stuckId}">`))
  assert.match(dom, /<svg[^>]*id="lamport"[^>]*data-arrows="[1-9]/)
  // uPlot made its canvases.
  assert.ok((dom.match(/<canvas/g) ?? []).length >= 4)
})

test('a screenshot of the check report shows the fault bands and the violation marker', {skip, timeout: 90_000}, async () => {
  const png = join(dir, 'check.png')
  await screenshot(chromium!, written.path, png, 1400, 2600)
  const img = decodePng(readFileSync(png))
  assert.equal(img.width, 1400)
  assert.ok(distinctColours(img) > 50, 'the page is blank')
  // The band colours of page.js, drawn opaque behind the series.
  for (const [kind, colour] of [
    ['partition', '#ffd8a8'],
    ['kill', '#ffc9c9'],
    ['pause', '#c5dcf5'],
  ]) {
    const n = countColour(img, colour!, 3)
    assert.ok(n > 2000, `${kind} bands (${colour}): ${n} pixels`)
  }
  const red = countColour(img, '#d62728', 10)
  assert.ok(red > 300, `violation marker (#d62728): ${red} pixels`)
})

test('Chromium renders a bench report: histogram, throughput and latency over time', {skip, timeout: 90_000}, async () => {
  const benchDir = join(dir, 'bench-x')
  mkdirSync(benchDir)
  const tl = new OpTimeline(100)
  for (let i = 0; i < 30_000; i++) tl.add(i / 10, 1 + (i % 50) / 10)
  const w = saveBenchRun(
    {
      started: '2025-01-01T00:00:00.000Z',
      settings: {op: 'put', clients: 16, durationMs: 3000, valueSize: 100, keys: 1000, timeoutMs: 5000, nodes: 3, dir},
      result: {ops: 30_000, opsPerSec: 10_000, latencyMs: {p50: 3.5, p90: 5.5, p99: 5.9, max: 5.9}, errors: 0, leaderChanges: 1},
      exact: {min: 1, mean: 3.5, p999: 5.9},
      timeline: tl.data(),
      leaders: [
        {time: 0, leader: 1, term: 2},
        {time: 1500, leader: 3, term: 3},
      ],
      errorSamples: [],
    },
    benchDir,
  )
  const dom = await dumpDom(chromium!, w.path)
  const body = /<body[^>]*>/.exec(dom)?.[0] ?? ''
  assert.match(body, /data-kind="bench" data-rendered="ok"/, body)
  assert.match(body, /data-charts="3"/)
  assert.match(body, /data-marks-drawn="[1-9]/, 'the leader change is marked')
  assert.deepEqual(JSON.parse(readFileSync(join(benchDir, 'bench.json'), 'utf8')).bench.version, 1)
})
