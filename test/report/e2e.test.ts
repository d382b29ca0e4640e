// Reports end to end, on one real 3-node cluster started with message capture on: a short
// `raftctl check --json` (faults included) leaves its run directory with the history, the
// captured messages and report.html, which Chromium renders with a Lamport diagram; a human-mode
// check names the report on stderr; `raftctl bench` leaves bench.json and its report; `raftctl
// report` re-renders both, and refuses bad input with one line and the right exit code.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {Cluster, findBasePort, stackLines} from '../e2e/harness.js'
import {dumpDom, findChromium} from '../helpers/chromium.js'

const chromium = findChromium()
let cluster: Cluster
let checkDoc: {verdict: string; history: string; report: string; runDir: string}

before(async () => {
  cluster = new Cluster(3)
})
after(async () => {
  await cluster.destroy()
})

const CAPTURE = {env: {RAFTCTL_CAPTURE: '1'}, timeoutMs: 90_000}

test('check writes report.html beside its history, with the captured messages', {timeout: 120_000}, async () => {
  cluster.basePort = await findBasePort(3)
  const r = await cluster.run(
    ['check', '--nodes', '3', '--base-port', String(cluster.basePort), '--duration', '4s', '--quiet-period', '1s', '--seed', '23280', '--json'],
    CAPTURE,
  )
  assert.equal(r.exitCode, 0, r.stderr + r.stdout)
  checkDoc = JSON.parse(r.stdout)
  assert.equal(checkDoc.verdict, 'linearizable')
  assert.equal(checkDoc.report, join(checkDoc.runDir, 'report.html'))
  assert.equal(dirname(checkDoc.history), checkDoc.runDir)
  assert.ok(checkDoc.runDir.startsWith(cluster.dir))
  assert.deepEqual(readdirSync(checkDoc.runDir).sort(), ['history.ndjson', 'messages.ndjson', 'report.html'])
  const html = readFileSync(checkDoc.report, 'utf8')
  assert.ok(html.length < 3 * 1024 * 1024, `${html.length} bytes`)
  assert.match(html, /data-bands="[1-9]/)
  assert.match(html, /<svg[^>]*id="lamport"[^>]*data-arrows="[1-9]/)
  // The history has the new lines the report draws from.
  const lines = readFileSync(checkDoc.history, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.ok(typeof lines[0].meta.epochMs === 'number')
  assert.ok(lines.filter((l) => l.status).length >= 10)
  assert.deepEqual(
    lines.filter((l) => l.phase).map((l) => l.phase),
    ['final-heal', 'quiet', 'durability', 'read-back'],
  )
})

test(
  'Chromium renders the real check report: every chart and the Lamport diagram',
  {skip: chromium ? false : 'chromium is not installed', timeout: 60_000},
  async () => {
    assert.ok(checkDoc, 'the check run failed')
    const dom = await dumpDom(chromium!, checkDoc.report)
    const body = /<body[^>]*>/.exec(dom)?.[0] ?? ''
    assert.match(body, /data-rendered="ok"/, body)
    assert.match(body, /data-charts="4"/)
    assert.match(body, /data-verdict="pass"/)
    assert.match(dom, /class="msg msg-/)
  },
)

test('in human mode check prints the report path on stderr; --no-report writes none', {timeout: 60_000}, async () => {
  const args = ['check', '--duration', '1s', '--quiet-period', '500ms', '--faults', 'none', '--clients', '2', '--no-durability']
  const r = await cluster.run(args)
  assert.equal(r.exitCode, 0, r.stderr)
  const path = /^report: (\S+)$/m.exec(r.stderr)?.[1]
  assert.ok(path && existsSync(path), r.stderr)
  assert.doesNotMatch(r.stdout, /report/)
  const n = await cluster.run([...args, '--no-report'])
  assert.equal(n.exitCode, 0, n.stderr)
  assert.doesNotMatch(n.stderr, /^report: /m)
  const history = /^history: (\S+)$/m.exec(n.stdout)![1]!
  assert.ok(!existsSync(join(dirname(history), 'report.html')))
})

test('bench saves its run and report; raftctl report re-renders check and bench runs', {timeout: 90_000}, async () => {
  const b = await cluster.run(['bench', '--duration', '1s', '--clients', '4', '--json'])
  assert.equal(b.exitCode, 0, b.stderr)
  const doc = JSON.parse(b.stdout) as {report: string; ops: number}
  assert.ok(doc.ops > 0)
  const benchDir = dirname(doc.report)
  assert.match(benchDir, /\/bench-[^/]+$/)
  assert.deepEqual(readdirSync(benchDir).sort(), ['bench.json', 'report.html'])
  assert.match(readFileSync(doc.report, 'utf8'), /data-kind="bench"/)

  const again = await cluster.run(['report', checkDoc.runDir, '--window', '2s..2.6s'])
  assert.equal(again.exitCode, 0, again.stderr)
  assert.equal(again.stdout, `${checkDoc.report}\n`)
  assert.match(readFileSync(checkDoc.report, 'utf8'), /Raft messages 2\.000–2\.600 s/)
  const out = join(cluster.dir, 'copy.html')
  const j = await cluster.run(['report', join(benchDir, 'bench.json'), '--out', out, '--json'])
  assert.equal(j.exitCode, 0, j.stderr)
  const jd = JSON.parse(j.stdout) as {kind: string; report: string; bytes: number}
  assert.deepEqual([jd.kind, jd.report], ['bench', out])
  assert.equal(readFileSync(out).length, jd.bytes)
})

test('raftctl report refuses bad input with one line and the right exit code', {timeout: 60_000}, async () => {
  const truncated = join(cluster.dir, 'truncated.ndjson')
  const text = readFileSync(checkDoc.history, 'utf8')
  writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)))
  const cases: [string[], number, RegExp][] = [
    [['report', join(cluster.dir, 'nope')], 1, /^Error: no such file or directory: /],
    [['report', cluster.dir], 1, /^Error: .* holds no run .*\nHint: it holds runs; pass one, e\.g\. .*\/(check|bench)-/],
    [['report', join(cluster.dir, 'node-1', 'messages.ndjson')], 1, /^Error: .* is not a raftctl check history \(no meta line\)/],
    [['report', join(cluster.dir, 'cluster.json')], 1, /^Error: .* is not a raftctl bench record/],
    [['report', truncated], 1, /^Error: .*truncated\.ndjson: line \d+ is not JSON \(a truncated or damaged history\?\)\n/],
    [['report', checkDoc.runDir, '--window', '5..6'], 2, /^Error: --window: duration "5" needs a unit/],
    [['report', checkDoc.runDir, '--window', '3s..1s'], 2, /^Error: --window: "3s\.\.1s" ends before it starts/],
    [['report'], 2, /^Error: Missing 1 required arg/],
  ]
  for (const [args, code, re] of cases) {
    const r = await cluster.run(args)
    assert.equal(r.exitCode, code, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, re, args.join(' '))
    assert.deepEqual(stackLines(r.stderr), [])
  }
  const j = await cluster.run(['report', join(cluster.dir, 'nope'), '--json'])
  assert.equal(j.exitCode, 1)
  assert.equal(JSON.parse(j.stdout).error.code, 'operational')
})
