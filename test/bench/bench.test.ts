// `raftctl bench` end to end: a real 3-node cluster in a temp dir on free 127.0.0.1 ports, a short
// run with --json, and the flag checks. Whatever happens, every replica is stopped (SIGKILL if it
// must) and the temp dir removed.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {execa} from 'execa'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {findBasePort} from '../helpers/ports.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const RUN_JS = path.join(ROOT, 'bin/run.js')

async function cli(args: string[], timeoutMs = 60_000) {
  const r = await execa(process.execPath, [RUN_JS, ...args], {
    cwd: ROOT,
    reject: false,
    stdin: 'ignore',
    timeout: timeoutMs,
    env: {NO_COLOR: '1', RAFTCTL_DIR: ''},
  })
  return {exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '')}
}

function pidsOf(dir: string): number[] {
  const pids: number[] = []
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    try {
      const pid = Number(fs.readFileSync(path.join(dir, name, 'replica.pid'), 'utf8').trim())
      if (pid > 0) pids.push(pid)
    } catch {
      // not a node directory, or no pid file
    }
  }
  return pids
}

let dir = ''
const seenPids = new Set<number>()

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-bench-'))
})

after(async () => {
  try {
    for (const pid of pidsOf(dir)) seenPids.add(pid)
    await cli(['stop', '--dir', dir], 20_000).catch(() => {})
  } finally {
    // Belt and braces: any replica of this test still alive is killed (only ours, by pid).
    for (const pid of seenPids) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    fs.rmSync(dir, {recursive: true, force: true})
  }
})

test('bench against a 3-node cluster: one JSON document, ops > 0, no errors', {timeout: 90_000}, async () => {
  const base = await findBasePort(3)
  const start = await cli(['start', '--nodes', '3', '--dir', dir, '--base-port', String(base)])
  for (const pid of pidsOf(dir)) seenPids.add(pid)
  assert.equal(start.exitCode, 0, start.stderr)

  const r = await cli(['bench', '--dir', dir, '--duration', '2s', '--clients', '4', '--json'])
  assert.equal(r.exitCode, 0, r.stderr)
  const doc = JSON.parse(r.stdout) as Record<string, unknown> // exactly one document: parses whole
  assert.deepEqual(Object.keys(doc).sort(), [
    'clients',
    'conns',
    'dir',
    'durationMs',
    'elapsedMs',
    'errors',
    'interrupted',
    'keys',
    'latencyMs',
    'leaderChanges',
    'mechanics',
    'nodes',
    'op',
    'ops',
    'opsPerSec',
    'report',
    'timeoutMs',
    'valueSize',
  ])
  // The run is saved with its report in the cluster directory (test/report/e2e.test.ts opens one).
  assert.ok(typeof doc.report === 'string' && fs.existsSync(doc.report), String(doc.report))
  const lat = doc.latencyMs as Record<string, number>
  assert.deepEqual(Object.keys(lat).sort(), ['max', 'p50', 'p90', 'p99'])
  assert.ok((doc.ops as number) > 0, `ops ${doc.ops}`)
  assert.ok((doc.opsPerSec as number) > 0)
  assert.equal(doc.errors, 0)
  assert.equal(doc.conns, 4, 'one connection per client by default')
  assert.equal(typeof doc.leaderChanges, 'number')
  assert.ok(lat.p50! > 0 && lat.p50! <= lat.p90! && lat.p90! <= lat.p99! && lat.p99! <= lat.max!, JSON.stringify(lat))
  // Not a terminal: no animation on stderr.
  assert.ok(!r.stderr.includes('\r'))

  // What the leader did, from its own counters (real fsyncs on real files): every write went
  // through a synced batch and an AppendEntries to each follower.
  if (doc.leaderChanges === 0) {
    const m = doc.mechanics as Record<string, number>
    assert.ok(m, 'mechanics measured when the leader did not change')
    assert.ok([1, 2, 3].includes(m.node!), JSON.stringify(m))
    assert.ok(m.entriesPerFsync! >= 1, `entries per fsync ${m.entriesPerFsync}`)
    assert.ok(m.entriesPerAppend! >= 1, `entries per AppendEntries ${m.entriesPerAppend}`)
    assert.ok(m.fsyncsPerSec! > 0, JSON.stringify(m))
    // Four clients, one write in flight each: a batch holds at most four entries.
    assert.ok(m.entriesPerFsync! <= 4, `entries per fsync ${m.entriesPerFsync}`)
    // Group commit: at most one fdatasync per write (plus the odd hard-state or segment file).
    assert.ok(m.fsyncsPerSec! <= (doc.opsPerSec as number) * 1.1 + 20, JSON.stringify(m))
    assert.ok(m.cpuPercent! > 0 && m.cpuPercent! <= 100, `cpu ${m.cpuPercent}`)
    assert.ok(m.fsyncBusyPercent! > 0 && m.fsyncBusyPercent! <= 100, `fsync busy ${m.fsyncBusyPercent}`)
  }
  // The human summary says the same; clients sharing connections (as etcd's benchmark --conns).
  const text = await cli(['bench', '--dir', dir, '--duration', '1s', '--clients', '8', '--conns', '2', '--no-report'])
  assert.equal(text.exitCode, 0, text.stderr)
  assert.match(text.stdout, /: 8 clients over 2 connections, 1s,/)
  assert.match(text.stdout, /^errors +0$/m)
  assert.match(text.stdout, /^leader I\/O +(node \d: [\d,.]+ fsyncs\/s, [\d.]+ entries per fsync, [\d.]+ entries per AppendEntries|not measured .*)$/m)
})

test('bench flags are validated (usage errors exit 2)', {timeout: 60_000}, async () => {
  const bad = [
    ['--clients', '0'],
    ['--clients', 'many'],
    ['--conns', '0'],
    ['--clients', '2048', '--conns', '1'],
    ['--duration', '5'],
    ['--duration', '0'],
    ['--value-size', '-1'],
    ['--keys', '0'],
    ['--op', 'scan'],
    ['--bogus'],
  ]
  const results = await Promise.all(bad.map((args) => cli(['bench', '--dir', dir, ...args])))
  results.forEach((r, i) => {
    assert.equal(r.exitCode, 2, `${bad[i]!.join(' ')}: exit ${r.exitCode}, ${r.stderr}`)
    assert.match(r.stderr, /^Error: /m, bad[i]!.join(' '))
  })
})

test('bench without a cluster exits 1 with a hint', {timeout: 30_000}, async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-bench-none-'))
  try {
    const r = await cli(['bench', '--dir', empty, '--duration', '1s'])
    assert.equal(r.exitCode, 1)
    assert.match(r.stderr, /^Error: no cluster in /m)
    assert.match(r.stderr, new RegExp(`^Hint: run raftctl start --dir ${empty} \\(or raftctl init --dir ${empty}\\)$`, 'm'))
    const j = await cli(['bench', '--dir', empty, '--json'])
    assert.equal(j.exitCode, 1)
    assert.equal((JSON.parse(j.stdout) as {error: {code: string}}).error.code, 'no-cluster')
  } finally {
    fs.rmSync(empty, {recursive: true, force: true})
  }
})
