// `npm run check:detection -- [--mutant NAME | --correct] [--runs 20] [--nodes 5] [--duration 20s] [-- CHECK ARGS...]`
// How often a default `raftctl check` catches a planted bug: runs the check RUNS times, each on a
// fresh cluster (its own temp directory and free ports), with the replicas in the test-only mode
// NAME (--correct: a correct cluster, which must pass every time), and prints one line per run
// (exit code, the verdicts, the faults) and the rate. Arguments after `--` go to every check.
// A run is "caught" when its exit code is a verdict's failure: 6, 8 or 9 (7, undecided, is not);
// for a mode whose bug one verdict is there to catch (EXPECTED), the rate by that verdict is
// printed too, so a safety bug is not counted as caught by a liveness failure alone.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import net from 'node:net'
import {tmpdir, loadavg} from 'node:os'
import {join, resolve} from 'node:path'

/** Which verdict is meant to catch each planted bug (docs/check.md). */
const EXPECTED = {
  'read-without-readindex': 'linearizability',
  'read-before-own-term-commit': 'linearizability',
  'no-truncate-conflict': 'linearizability',
  'ack-before-fsync': 'durability',
  'no-prevote-checkquorum': 'liveness',
}

const ROOT = resolve(import.meta.dirname, '..')
const RUN_JS = join(ROOT, 'bin/run.js')

function parse(argv) {
  const o = {mutant: null, runs: 20, nodes: '5', duration: '20s', extra: []}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      o.extra = argv.slice(i + 1)
      break
    }
    if (a === '--correct') o.mutant = null
    else if (a === '--mutant') o.mutant = argv[++i]
    else if (a === '--runs') o.runs = Number(argv[++i])
    else if (a === '--nodes') o.nodes = argv[++i]
    else if (a === '--duration') o.duration = argv[++i]
    else {
      console.error(`detection-rates: unknown argument ${a}`)
      process.exit(2)
    }
  }
  return o
}

function portFree(port) {
  return new Promise((done) => {
    const srv = net.createServer()
    srv.once('error', () => done(false))
    srv.listen({host: '127.0.0.1', port, exclusive: true}, () => srv.close(() => done(true)))
  })
}

async function basePort(n) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const p = 12_000 + Math.floor(Math.random() * 20_000)
    let ok = true
    for (let i = 1; i <= n && ok; i++) ok = await portFree(p + i)
    if (ok) return p
  }
  throw new Error('no free ports')
}

const o = parse(process.argv.slice(2))
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
console.log(
  `# raftctl check --nodes ${o.nodes} --duration ${o.duration}${o.mutant ? ` --mutant ${o.mutant}` : ''} ${o.extra.join(' ')} x ${o.runs}; load ${load()}`,
)
let caught = 0
let caughtByExpected = 0
const expected = o.mutant ? EXPECTED[o.mutant] : undefined
const codes = new Map()
for (let run = 1; run <= o.runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'raftctl-detect-'))
  const port = await basePort(Number(o.nodes))
  const args = [
    RUN_JS,
    'check',
    '--dir',
    dir,
    '--nodes',
    o.nodes,
    '--base-port',
    String(port),
    '--duration',
    o.duration,
    '--json',
    '--no-report',
    ...(o.mutant ? ['--mutant', o.mutant] : []),
    ...o.extra,
  ]
  const started = Date.now()
  const r = spawnSync(process.execPath, args, {cwd: ROOT, encoding: 'utf8', env: {...process.env, NO_COLOR: '1', RAFTCTL_DIR: ''}, timeout: 300_000})
  let doc = null
  try {
    doc = JSON.parse(r.stdout)
  } catch {
    // Reported below.
  }
  try {
    execFileSync(process.execPath, [RUN_JS, 'stop', '--kill', '--dir', dir], {stdio: 'ignore', timeout: 30_000})
  } catch {
    // Nothing left to stop.
  }
  rmSync(dir, {recursive: true, force: true})
  const code = r.status ?? -1
  codes.set(code, (codes.get(code) ?? 0) + 1)
  if (code === 6 || code === 8 || code === 9) caught++
  const v = doc?.verdicts
  if (expected && v?.[expected]?.result === 'fail') caughtByExpected++
  const what = v
    ? `lin ${v.linearizability.result}, live ${v.liveness.result}, durable ${v.durability.result}; faults ${JSON.stringify(Object.fromEntries(Object.entries(doc.faults).filter(([, n]) => n > 0)))}; seed ${doc.seed}`
    : (doc?.error?.message ?? r.stderr.trim().split('\n').pop())
  console.log(`run ${String(run).padStart(2)}: exit ${code} in ${((Date.now() - started) / 1000).toFixed(0)}s (load ${loadavg()[0].toFixed(1)}); ${what}`)
  if (v && (code !== 0) === !o.mutant) {
    for (const p of v.liveness.problems ?? []) console.log(`        liveness: ${p.what} [${p.from}..${p.to}]: ${p.text}`)
    if (v.linearizability.result !== 'pass') console.log(`        linearizability: ${v.linearizability.text.slice(0, 200)}`)
    if (v.durability.result === 'fail') console.log(`        durability: ${v.durability.text}`)
  }
}
const summary = [...codes]
  .sort(([a], [b]) => a - b)
  .map(([c, n]) => `exit ${c}: ${n}`)
  .join(', ')
const byExpected = expected ? `, by the ${expected} verdict ${caughtByExpected} of ${o.runs}` : ''
console.log(`# ${o.mutant ? `caught ${caught} of ${o.runs}${byExpected}` : `passed ${codes.get(0) ?? 0} of ${o.runs}`} (${summary}); load ${load()}`)
