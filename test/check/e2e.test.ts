// End to end: `raftctl check` against real replica processes on 127.0.0.1, one 3-node cluster for
// the file. A short check with whole-group partitions, kills, pauses and a slow network passes on a
// correct cluster (every verdict); the same cluster restarted with replicas that read without
// ReadIndex fails linearizability (6), and with replicas that acknowledge before fsync fails the
// durability verdict (8). Also `pause` and `resume`. Every process the cluster started is killed
// (SIGCONT first, in case it is paused) even when a test fails.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {CheckCluster, historyLines, type CheckDoc} from './helpers.js'

describe('raftctl check on a 3-node cluster', () => {
  let c: CheckCluster
  before(async () => {
    c = await CheckCluster.create(3)
  })
  after(async () => {
    await c?.destroy()
  })

  test('a correct cluster under partitions, kills, pauses and a slow network passes every verdict', {timeout: 90_000}, async () => {
    const r = await c.cli([
      'check',
      '--duration',
      '10s',
      '--clients',
      '4',
      '--keys',
      '2',
      '--faults',
      'partition,kill,pause,delay',
      '--seed',
      '23280',
      '--json',
    ])
    assert.equal(r.exitCode, 0, `check failed:\n${r.stdout}\n${r.stderr}`)
    const doc = JSON.parse(r.stdout) as CheckDoc
    assert.equal(doc.verdict, 'linearizable')
    assert.deepEqual([doc.verdicts.linearizability.result, doc.verdicts.liveness.result, doc.verdicts.durability.result], ['pass', 'pass', 'pass'])
    assert.equal(doc.violation, null)
    assert.equal(doc.mutant, null)
    assert.equal(doc.unsafeStaleReads, false)
    assert.ok(doc.ops.get!.ok > 100 && doc.ops.put!.ok > 20, `too few ops: ${JSON.stringify(doc.ops)}`)
    assert.ok(doc.faults.total >= 3, `only ${doc.faults.total} faults`)
    assert.ok(doc.verdicts.durability.verified > 20, doc.verdicts.durability.text)
    // Progress on stderr: a line per nemesis action and phase.
    assert.match(r.stderr, /nemesis: isolate leader \d/)
    assert.match(r.stderr, /nemesis: slow network: delay \d+ms±\d+ms on every link/)
    assert.match(r.stderr, /final heal/)
    assert.match(r.stderr, /nemesis: kill every node at once \(SIGKILL\)/)
    assert.match(r.stderr, /reading back \d+ write-once key\(s\)/)
    // The history file: meta first, ops, nemesis and phase lines, the verdicts last.
    assert.ok(doc.history.startsWith(c.dir))
    const lines = historyLines(doc.history)
    assert.ok('meta' in lines[0]!)
    const last = lines.at(-1) as {verdict: string; liveness: {result: string}; durability: {result: string}}
    assert.deepEqual([last.verdict, last.liveness.result, last.durability.result], ['linearizable', 'pass', 'pass'])
    assert.equal(lines.filter((l) => 'op' in l).length, doc.ops.total)
    assert.ok(lines.some((l) => l.nemesis === 'partition') && lines.some((l) => l.nemesis === 'heal') && lines.some((l) => l.nemesis === 'crash'))
    assert.deepEqual(
      lines.filter((l) => 'phase' in l).map((l) => l.phase),
      ['final-heal', 'quiet', 'durability', 'read-back'],
    )
    // The disks are back to normal and the network healed.
    const status = JSON.parse((await c.cli(['status', '--json'])).stdout) as {partition: unknown; disks: unknown[]}
    assert.deepEqual([status.partition, status.disks], [null, []])

    // pause / resume on the running cluster.
    const p = await c.cli(['pause', '2', '--json'])
    assert.equal(p.exitCode, 0, p.stderr)
    assert.deepEqual(JSON.parse(p.stdout), {dir: c.dir, paused: [2], alreadyPaused: []})
    const stat = readFileSync(`/proc/${Number(readFileSync(join(c.dir, 'node-2', 'replica.pid'), 'utf8'))}/stat`, 'utf8')
    assert.equal(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), 'T')
    assert.equal((await c.cli(['pause', '2'])).stderr, `Already paused: node(s) 2\nTo resume: raftctl resume 2 --dir ${c.dir}\n`)
    const res = await c.cli(['resume'])
    assert.equal(res.exitCode, 0, res.stderr)
    assert.equal(res.stdout, 'Resumed node(s) 2\n')
    assert.equal((await c.cli(['resume', '2'])).stderr, 'Not paused: node(s) 2\n')
    // Errors like the other commands: unknown id is a usage error, a stopped node exit 1.
    const unknown = await c.cli(['pause', '7'])
    assert.equal(unknown.exitCode, 2)
    assert.match(unknown.stderr, /^Error: unknown node id "7": this cluster has nodes 1..3\n/)
    assert.equal((await c.cli(['pause'])).exitCode, 2)
    assert.equal((await c.cli(['stop', '3'])).exitCode, 0)
    const down = await c.cli(['pause', '3', '--json'])
    assert.equal(down.exitCode, 1)
    assert.deepEqual(JSON.parse(down.stdout), {error: {code: 'not-running', message: 'node 3 is not running'}})
  })

  test('replicas that read without ReadIndex are caught: not linearizable (exit 6), with the report', {timeout: 120_000}, async (t) => {
    // The leader probes read on a deposed leader while its successor writes; a 3-node run of
    // 10 s caught it every time we measured (docs/check.md). A second run guards against the rare miss.
    const args = ['check', '--duration', '10s', '--clients', '4', '--keys', '2', '--unsafe-stale-reads', '--no-durability']
    let r = await c.cli([...args, '--seed', '2430'])
    if (r.exitCode === 0) {
      t.diagnostic('the first run found no stale read; once more')
      r = await c.cli([...args, '--seed', '23280'])
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

  test('replicas that acknowledge before fsync lose writes when every node is killed: not durable (exit 8)', {timeout: 90_000}, async () => {
    // Whether a kill finds acknowledged writes not yet synced anywhere is a matter of timing (the
    // mutant syncs every 20th batch): a run of three kills almost always does (8 of 8 here), one
    // in CI once did not. Two runs, then: the mutant must be caught within them.
    const run = () => c.cli(['check', '--duration', '1s', '--faults', 'none', '--mutant', 'ack-before-fsync', '--json', '--no-report'])
    let r = await run()
    if (r.exitCode === 0) r = await run()
    assert.equal(r.exitCode, 8, `expected lost writes (exit 8):\n${r.stdout}\n${r.stderr}`)
    const doc = JSON.parse(r.stdout) as CheckDoc
    assert.equal(doc.mutant, 'ack-before-fsync')
    assert.equal(doc.verdicts.durability.result, 'fail')
    assert.match(doc.verdicts.durability.text, /^\d+ of \d+ acknowledged write\(s\) lost/)
    assert.ok(doc.verdicts.durability.lost.length > 0)
    assert.ok(
      doc.warnings.some((w) => w.startsWith('the replicas still run in the test-only --mutant ack-before-fsync mode')),
      doc.warnings.join('\n'),
    )
  })
})
