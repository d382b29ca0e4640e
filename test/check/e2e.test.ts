// End to end: `raftctl check` against real replica processes on 127.0.0.1. The same short check
// (3 nodes; partitions, kills and pauses) passes on a correct cluster and finds a violation on a
// cluster whose replicas answer reads without ReadIndex (--unsafe-stale-reads, test only).
// Also `pause` and `resume`. Each cluster lives in a fresh temp dir on free ports, and every
// process it started is killed (SIGCONT first, in case it is paused) even when a test fails.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execa} from 'execa'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {findBasePort} from '../helpers/ports.js'

const ROOT = resolve(import.meta.dirname, '../..')
const RUN_JS = join(ROOT, 'bin/run.js')

// A seed whose schedule (3 nodes, 12 s) isolates the leader four times and also pauses and kills
// nodes; each isolation is a chance for a deposed leader to serve a stale read in unsafe mode.
const CHECK_ARGS = ['--nodes', '3', '--duration', '12s', '--clients', '6', '--keys', '2', '--faults', 'partition,kill,pause', '--seed', '23280']

interface Run {
  exitCode: number
  stdout: string
  stderr: string
}

async function cli(dir: string, args: string[], timeoutMs = 45_000): Promise<Run> {
  const r = await execa(process.execPath, [RUN_JS, ...args, '--dir', dir], {
    cwd: ROOT,
    reject: false,
    stdin: 'ignore',
    timeout: timeoutMs,
    env: {NO_COLOR: '1', RAFTCTL_DIR: ''},
    stripFinalNewline: false,
  })
  return {exitCode: r.exitCode ?? 124, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '')}
}


/** Stops everything the cluster in `dir` started, then removes the directory. */
async function destroy(dir: string): Promise<void> {
  await cli(dir, ['resume'], 15_000).catch(() => undefined)
  await cli(dir, ['stop', '--kill'], 20_000).catch(() => undefined)
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
    if (!entry.startsWith('node-')) continue
    let pid: number
    try {
      pid = Number(readFileSync(join(dir, entry, 'replica.pid'), 'utf8').trim())
    } catch {
      continue
    }
    // Only a process that is really a replica of this directory.
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    } catch {
      continue
    }
    if (!cmdline.includes(dir)) continue
    for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, sig)
      } catch {
        // Gone.
      }
    }
  }
  rmSync(dir, {recursive: true, force: true})
}

async function withCluster(fn: (dir: string, basePort: number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'raftctl-check-'))
  try {
    await fn(dir, await findBasePort(3))
  } finally {
    await destroy(dir)
  }
}

function historyLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

test('a correct cluster under partitions, kills and pauses is linearizable; pause and resume work', {timeout: 60_000}, async () => {
  await withCluster(async (dir, basePort) => {
    const r = await cli(dir, ['check', ...CHECK_ARGS, '--base-port', String(basePort), '--json'])
    assert.equal(r.exitCode, 0, `check failed:\n${r.stdout}\n${r.stderr}`)
    const doc = JSON.parse(r.stdout) as {
      verdict: string
      history: string
      ops: Record<string, {ok: number; failed: number; indeterminate: number}> & {total: number}
      faults: {total: number}
      violation: unknown
      unsafeStaleReads: boolean
    }
    assert.equal(doc.verdict, 'linearizable')
    assert.equal(doc.violation, null)
    assert.equal(doc.unsafeStaleReads, false)
    assert.ok(doc.ops.read!.ok > 100 && doc.ops.write!.ok > 20, `too few ops: ${JSON.stringify(doc.ops)}`)
    assert.ok(doc.faults.total >= 3, `only ${doc.faults.total} faults`)
    // Progress on stderr: a line per nemesis action.
    assert.match(r.stderr, /nemesis: isolate leader \d/)
    assert.match(r.stderr, /final heal/)
    // The history file: meta first, ops and nemesis lines, the verdict last.
    assert.ok(doc.history.startsWith(dir))
    const lines = historyLines(doc.history)
    assert.ok('meta' in lines[0]!)
    assert.deepEqual(lines.at(-1), {verdict: 'linearizable', checkedOps: (lines.at(-1) as {checkedOps: number}).checkedOps})
    assert.ok(lines.filter((l) => 'op' in l).length === doc.ops.total)
    assert.ok(lines.some((l) => l.nemesis === 'partition') && lines.some((l) => l.nemesis === 'heal'))

    // pause / resume on the running cluster.
    const p = await cli(dir, ['pause', '2', '--json'])
    assert.equal(p.exitCode, 0, p.stderr)
    assert.deepEqual(JSON.parse(p.stdout), {dir, paused: [2], alreadyPaused: []})
    const stat = readFileSync(`/proc/${Number(readFileSync(join(dir, 'node-2', 'replica.pid'), 'utf8'))}/stat`, 'utf8')
    assert.equal(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), 'T')
    assert.equal((await cli(dir, ['pause', '2'])).stderr, `Already paused: node(s) 2\nTo resume: raftctl resume 2 --dir ${dir}\n`)
    const res = await cli(dir, ['resume'])
    assert.equal(res.exitCode, 0, res.stderr)
    assert.equal(res.stdout, 'Resumed node(s) 2\n')
    assert.equal((await cli(dir, ['resume', '2'])).stderr, 'Not paused: node(s) 2\n')
    // Errors like the other commands: unknown id is a usage error, a stopped node exit 1.
    const unknown = await cli(dir, ['pause', '7'])
    assert.equal(unknown.exitCode, 2)
    assert.match(unknown.stderr, /^Error: unknown node id "7": this cluster has nodes 1..3\n/)
    assert.equal((await cli(dir, ['pause'])).exitCode, 2)
    assert.equal((await cli(dir, ['stop', '3'])).exitCode, 0)
    const down = await cli(dir, ['pause', '3', '--json'])
    assert.equal(down.exitCode, 1)
    assert.deepEqual(JSON.parse(down.stdout), {error: {code: 'not-running', message: 'node 3 is not running'}})
  })
})

test('the same check on replicas that read without ReadIndex reports a violation', {timeout: 200_000}, async (t) => {
  await withCluster(async (dir, basePort) => {
    // A stale read needs a deposed leader to answer a read in the short window before it steps
    // down (docs/check.md): a run catches it about 10 times in 11. Up to three runs (new seeds)
    // must produce one; a check that can never fail would fail this test every time.
    // Seeds whose fault plans isolate the leader several times (not every seed's plan does).
    const seeds = ['23280', '2430', '23280']
    let r = await cli(dir, ['check', ...CHECK_ARGS, '--base-port', String(basePort), '--unsafe-stale-reads'])
    for (let attempt = 1; r.exitCode === 0 && attempt < seeds.length; attempt++) {
      t.diagnostic(`run ${attempt} found no stale read; trying seed ${seeds[attempt]}`)
      // Later attempts also run longer: more leader isolations, more chances (30 s: 4 of 4 runs).
      const args = CHECK_ARGS.map((a, i) =>
        CHECK_ARGS[i - 1] === '--seed' ? seeds[attempt]! : CHECK_ARGS[i - 1] === '--duration' ? '20s' : a,
      )
      r = await cli(dir, ['check', ...args, '--base-port', String(basePort), '--unsafe-stale-reads'])
    }
    assert.equal(r.exitCode, 6, `expected a violation (exit 6):\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /^NOT linearizable: key \S+\n {2}not linearizable: /)
    assert.match(r.stdout, /History around it/)
    assert.match(r.stdout, / get\(\S+\) -> ok\(/)
    assert.match(r.stdout, /replicas in --unsafe-stale-reads mode \(test only\)/)
    // The report shows the violation: the key's history with the op that cannot be placed.
    const report = /^report: (\S+)$/m.exec(r.stderr)?.[1]
    assert.ok(report && existsSync(report), r.stderr)
    const html = readFileSync(report, 'utf8')
    assert.match(html, /<body data-kind="check" data-rendered="no" data-verdict="fail"/)
    assert.match(html, /<g id="violation-marker" data-op="\d+">/)
    const history = /^history: (\S+)$/m.exec(r.stdout)?.[1]
    assert.ok(history && existsSync(history))
    const last = historyLines(history).at(-1) as {verdict: string; violation: {excerpt: string[]}}
    assert.equal(last.verdict, 'not-linearizable')
    assert.ok(last.violation.excerpt.length > 0)
  })
})
