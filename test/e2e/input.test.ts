// The CLI contract at its edges: `--json` on every command, bad input of every kind (exit code,
// one `Error:` line, no stack trace, a JSON error document with --json), `partition` state and
// nodes started into a partition, `logs`, and `init --force` against running nodes.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {Cluster, ELECTION_MS, findBasePort, sleep, stackLines, type RunOptions, type RunResult, type StatusJson} from './harness.js'

const T = {timeout: 120_000}

function ok(r: RunResult, what: string): void {
  assert.equal(r.exitCode, 0, `${what} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
}

/** stdout must be exactly one JSON document; returns it. */
function oneJson(r: RunResult, what: string): any {
  assert.ok(r.stdout.trim() !== '', `${what}: stdout is empty`)
  try {
    return JSON.parse(r.stdout)
  } catch (err) {
    assert.fail(`${what}: stdout is not exactly one JSON document (${(err as Error).message}):\n${r.stdout}`)
  }
}

describe('CLI contract (3 nodes)', () => {
  let c: Cluster
  /** A directory with no cluster in it. */
  let empty: Cluster

  before(async () => {
    c = new Cluster(3)
    empty = new Cluster(3)
  })
  after(async () => {
    await c?.destroy()
    await empty?.destroy()
  })

  /** Starts (or confirms) the shared cluster: a no-op when it already runs. */
  async function running(): Promise<void> {
    ok(await c.startAll(), 'start')
  }

  test('14. --json on every command prints exactly one JSON document', T, async () => {
    const run = async (args: string[], opts?: RunOptions) => {
      const r = await c.run([...args, '--json'], opts)
      ok(r, `${args.join(' ')} --json`)
      return oneJson(r, `${args.join(' ')} --json`)
    }
    c.basePort = await findBasePort(3)
    const init = await run(['init', '--nodes', '3', '--base-port', String(c.basePort)])
    assert.equal(init.dir, c.dir)
    assert.equal(typeof init.clusterId, 'string')
    assert.deepEqual(
      init.nodes.map((n: {id: number; port: number}) => [n.id, n.port]),
      [1, 2, 3].map((id) => [id, c.basePort + id]),
    )

    const start = await run(['start', '--timeout', '20s'])
    assert.deepEqual(start.started, [1, 2, 3])
    assert.equal(start.initialised, false)
    assert.ok(start.status && typeof start.status.leader === 'number', 'start --json includes the status with a leader')

    const status = (await run(['status'])) as StatusJson
    assert.equal(status.nodes.length, 3)
    assert.ok(['leader', 'term', 'nodes'].every((k) => k in status))
    for (const n of status.nodes) {
      for (const k of ['id', 'address', 'pid', 'up', 'role', 'term', 'leader', 'lastIndex', 'commitIndex', 'appliedIndex', 'group']) {
        assert.ok(k in n, `status node field ${k}`)
      }
    }

    const put = await run(['put', 'color', 'blue'])
    assert.equal(put.key, 'color')
    assert.equal(put.value, 'blue')
    assert.ok(Number.isInteger(put.index) && put.index > 0)
    assert.ok('previous' in put)
    const get = await run(['get', 'color'])
    assert.equal(get.value, 'blue')
    const fromStdin = await run(['put', 'greeting', '-'], {input: 'hello\nworld\n'})
    assert.equal(fromStdin.value, 'hello\nworld\n', 'VALUE - reads stdin verbatim')
    const greeting = await c.run(['get', 'greeting'])
    ok(greeting, 'get greeting')
    assert.equal(greeting.stdout, 'hello\nworld\n\n')
    const cas = await run(['cas', 'color', 'blue', 'green'])
    assert.equal(cas.value, 'green')
    const del = await run(['del', 'color'])
    assert.equal(del.key, 'color')

    const part = await run(['partition', '1,2', '3'])
    assert.deepEqual(part.partition.groups, [[1, 2], [3]])
    assert.deepEqual(part.applied, [1, 2, 3])
    const shown = await run(['partition'])
    assert.deepEqual(shown.partition.groups, [[1, 2], [3]])
    const heal = await run(['heal'])
    assert.equal(heal.partition, null)
    const healFlag = await run(['partition', '--heal'])
    assert.equal(healFlag.partition, null)

    const logs = await run(['logs', '1', '--lines', '5'])
    assert.equal(logs.id, 1)
    assert.ok(Array.isArray(logs.lines) && logs.lines.length === 5)

    const stop = await run(['stop', '3'])
    assert.deepEqual(stop.stopped, [3])
    ok(await c.run(['start', '3']), 'start 3')
    await c.waitForSettled()
  })

  test('15. partition with no argument shows the partition; a node started later applies it', T, async () => {
    await running()
    try {
      const none = await c.run(['partition'])
      ok(none, 'partition')
      assert.match(none.stdout, /no partition/)

      const set = await c.run(['partition', '1', '2,3'])
      ok(set, 'partition 1 2,3')
      assert.match(set.stdout, /^Partitioned: 1 \| 2,3$/m)
      const shown = await c.run(['partition'])
      ok(shown, 'partition')
      assert.match(shown.stdout, /^partition: 1 \| 2,3$/m)
      const table = await c.run(['status'])
      ok(table, 'status')
      assert.match(table.stdout, /^partition: 1 \| 2,3$/m, 'the status table names the partition')
      const s = await c.poll((x) => x.nodes.every((n) => n.up && n.group !== null), {what: 'groups'})
      assert.deepEqual(
        s.nodes.map((n) => n.group),
        [1, 2, 2],
      )
      ok(await c.run(['heal']), 'heal')
      const healed = await c.run(['partition'])
      ok(healed, 'partition')
      assert.match(healed.stdout, /no partition/)
      await c.waitForSettled()

      // Node 3 is down when the partition is set, and applies it when it starts.
      ok(await c.run(['stop', '3']), 'stop 3')
      const iso = await c.run(['partition', '--isolate', '3'])
      ok(iso, 'partition --isolate 3 while node 3 is down')
      ok(await c.run(['start', '3']), 'start 3')
      const log = c.nodeLog(3)
      const thisRun = log.slice(log.lastIndexOf('] started (pid'))
      assert.match(thisRun, /partition applied at start/)
      // Several election timeouts later node 3 still has heard from no leader.
      await sleep(4 * ELECTION_MS)
      const st = await c.status()
      const n3 = st.nodes.find((n) => n.id === 3)!
      assert.equal(n3.up, true)
      assert.notEqual(n3.group, st.nodes.find((n) => n.id === 1)!.group, 'node 3 sits in its own group')
      assert.equal(st.nodes.find((n) => n.id === 1)!.group, st.nodes.find((n) => n.id === 2)!.group)
      assert.equal(n3.leader, null, 'the isolated node never heard from the leader')
      assert.notEqual(n3.role, 'leader')
      assert.ok(st.leader === 1 || st.leader === 2)
    } finally {
      await c.restore()
    }
  })

  test('16. logs shows elections and partitions; --lines limits the output', T, async () => {
    await running()
    const s = await c.waitForSettled()
    try {
      ok(await c.run(['partition', '--isolate', String(s.leader)]), 'isolate leader')
    } finally {
      ok(await c.run(['heal']), 'heal')
    }
    await c.waitForSettled()
    const leaderLog = await c.run(['logs', String(s.leader), '--lines', '100000'])
    ok(leaderLog, 'logs')
    assert.match(leaderLog.stdout, new RegExp(`became leader of term ${s.term}`))
    assert.match(leaderLog.stdout, /partition applied/)
    assert.match(leaderLog.stdout, /partition healed/)
    const all = c.nodeLog(s.leader).trimEnd().split('\n')
    assert.ok(all.length > 3)
    const three = await c.run(['logs', String(s.leader), '--lines', '3'])
    ok(three, 'logs --lines 3')
    const got = three.stdout.trimEnd().split('\n')
    assert.equal(got.length, 3)
    // The file may have grown in between; the 3 lines are consecutive lines of the log's tail.
    const at = c.nodeLog(s.leader).trimEnd().split('\n').indexOf(got[0]!)
    assert.ok(at >= all.length - 3, 'the last lines')
    const zero = await c.run(['logs', String(s.leader), '--lines', '0'])
    ok(zero, 'logs --lines 0')
    assert.equal(zero.stdout, '')
  })

  test('18. init --force refuses while nodes run', T, async () => {
    await running()
    const s0 = await c.waitForSettled()
    const again = await c.run(['start', '--json'])
    ok(again, 'start on a running cluster')
    const doc = JSON.parse(again.stdout)
    assert.deepEqual(doc.started, [], 'nodes already running are left alone')
    assert.deepEqual(doc.alreadyRunning, [1, 2, 3])
    const before = fs.readFileSync(path.join(c.dir, 'cluster.json'), 'utf8')
    const r = await c.run(['init', '--force', '--nodes', '3', '--base-port', String(c.basePort)])
    assert.equal(r.exitCode, 1, r.stderr)
    assert.match(r.stderr, /^Error: .*running/m)
    assert.equal(stackLines(r.stderr).length, 0)
    assert.equal(fs.readFileSync(path.join(c.dir, 'cluster.json'), 'utf8'), before, 'cluster.json untouched')
    assert.ok(fs.existsSync(path.join(c.dir, 'node-1', 'data')), 'data untouched')
    const s1 = await c.waitForSettled()
    assert.deepEqual(
      s1.nodes.map((n) => n.pid),
      s0.nodes.map((n) => n.pid),
      'the same processes still run',
    )
  })

  test('start reports a node that cannot listen (port in use): exit 1, the reason and its log', T, async () => {
    const other = new Cluster(3)
    const blocker = net.createServer()
    try {
      other.basePort = await findBasePort(3)
      await new Promise<void>((resolve, reject) => blocker.once('error', reject).listen(other.basePort + 1, '127.0.0.1', () => resolve()))
      const r = await other.run(['start', '--nodes', '3', '--base-port', String(other.basePort), '--timeout', '10s'])
      assert.equal(r.exitCode, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('Error: ') || l.startsWith('Hint: '))
      assert.equal(lines.filter((l) => l.startsWith('Error: ')).length, 1, r.stderr)
      assert.match(r.stderr, /^Error: node 1 .*(in use|EADDRINUSE)/m)
      assert.match(r.stderr, new RegExp(`^Hint: .*${other.dir}/node-1/replica.log`, 'm'))
      assert.deepEqual(stackLines(r.stderr), [])
    } finally {
      blocker.close()
      await other.destroy()
    }
  })

  test('start reports replicas that Node refuses to run (a bad RAFTCTL_NODE_FLAGS): exit 1, the reason', T, async () => {
    const other = new Cluster(3)
    try {
      other.basePort = await findBasePort(3)
      const r = await other.run(['start', '--nodes', '3', '--base-port', String(other.basePort), '--timeout', '10s'], {
        env: {RAFTCTL_NODE_FLAGS: '--no-such-v8-flag-here'},
      })
      assert.equal(r.exitCode, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
      assert.match(r.stderr, /^Error: nodes 1, 2, 3 failed to start: .*bad option: --no-such-v8-flag-here$/m)
      assert.ok(!fs.existsSync(path.join(other.dir, 'cluster.json')), 'a start that created the cluster and failed leaves none behind')
      assert.match(other.nodeLog(1), /bad option/, 'but the logs stay, for the reason')
      assert.deepEqual(stackLines(r.stderr), [])
    } finally {
      await other.destroy()
    }
  })

  describe('13. bad input', () => {
    interface Case {
      name: string
      args: string[]
      code: number
      /** Run against the empty directory instead of the cluster. */
      empty?: boolean
      input?: string
      /** Extra check on the error message (the `Error:` line). */
      message?: RegExp
      hint?: RegExp
      todo?: string
    }
    const big = 'x'.repeat(1024 * 1024 + 1)
    const cases: Case[] = [
      {name: 'unknown command', args: ['frobnicate'], code: 2},
      {name: 'unknown flag', args: ['status', '--bogus'], code: 2},
      {name: 'missing argument, named in the message (get)', args: ['get'], code: 2, message: /\bkey\b|KEY/},
      {name: 'too many arguments (put)', args: ['put', 'a', 'b', 'c'], code: 2},
      {name: 'missing argument (cas)', args: ['cas', 'a', 'b'], code: 2},
      {name: 'unknown node id: stop 9', args: ['stop', '9'], code: 2},
      {name: 'unknown node id: logs 0', args: ['logs', '0'], code: 2},
      {name: 'unknown node id: start 4', args: ['start', '4'], code: 2},
      {name: 'unknown node id: partition --isolate 7', args: ['partition', '--isolate', '7'], code: 2},
      {name: 'unknown node id in a group', args: ['partition', '1,9'], code: 2},
      {name: 'malformed group', args: ['partition', '1,x'], code: 2},
      {name: 'a node in two groups', args: ['partition', '1,2', '2,3'], code: 2, message: /node 2/},
      {name: 'groups and --heal together', args: ['partition', '1', '--heal'], code: 2},
      {name: 'empty key (put)', args: ['put', '', 'x'], code: 2, message: /empty/},
      {name: 'oversized key', args: ['put', 'k'.repeat(4097), 'x'], code: 2},
      {name: 'oversized value from stdin', args: ['put', 'k', '-'], input: big, code: 2, message: /1 MiB|1048576/},
      {name: 'malformed duration (abc)', args: ['get', 'k', '--timeout', 'abc'], code: 2, message: /abc/},
      {name: 'malformed inline duration (--timeout=1x)', args: ['get', 'k', '--timeout=1x'], code: 2},
      {name: 'duration without a unit (5)', args: ['put', 'k', 'v', '--timeout', '5'], code: 2, message: /unit/},
      {name: 'malformed --lines', args: ['logs', '1', '--lines', 'many'], code: 2},
      {name: 'init --nodes 0', args: ['init', '--nodes', '0'], code: 2, empty: true},
      {name: 'init --nodes 16', args: ['init', '--nodes', '16'], code: 2, empty: true},
      {name: 'start --nodes 0', args: ['start', '--nodes', '0'], code: 2, empty: true},
      {name: 'start --nodes 16', args: ['start', '--nodes', '16'], code: 2, empty: true},
      {name: 'init twice without --force', args: ['init', '--nodes', '3'], code: 1, message: /exists/, hint: /--force/},
      {name: 'start --nodes 5 on a 3-node cluster', args: ['start', '--nodes', '5'], code: 2, message: /3 nodes/, hint: /init --force --nodes 5/},
      {name: 'status without a cluster', args: ['status'], code: 1, empty: true, hint: /raftctl start|raftctl init/},
      {name: 'get without a cluster', args: ['get', 'k'], code: 1, empty: true, hint: /raftctl start|raftctl init/},
      {name: 'partition without a cluster', args: ['partition', '--heal'], code: 1, empty: true, hint: /raftctl start|raftctl init/},
      {name: 'get of a missing key', args: ['get', 'no-such-key'], code: 3, message: /no-such-key/},
      {name: 'del of a missing key', args: ['del', 'no-such-key'], code: 3},
      {name: 'cas of a missing key', args: ['cas', 'no-such-key', 'a', 'b'], code: 3},
      {name: 'cas mismatch', args: ['cas', 'fruit', 'pear', 'plum'], code: 5, message: /"apple"/},
    ]

    // The commands all fail without changing anything, so they run in parallel (a small pool,
    // this machine has 2 cores) and each test checks its own pair of results.
    const results = new Map<Case, Promise<{r: RunResult; j: RunResult}>>()
    before(async () => {
      await running()
      ok(await c.run(['put', 'fruit', 'apple']), 'put fruit apple')
      const queue = [...cases]
      const worker = async () => {
        for (let k = queue.shift(); k; k = queue.shift()) {
          const target = k.empty ? empty : c
          const pair = Promise.all([target.run(k.args, {input: k.input}), target.run([...k.args, '--json'], {input: k.input})]).then(([r, j]) => ({r, j}))
          results.set(k, pair)
          await pair
        }
      }
      await Promise.all([worker(), worker()])
    })

    for (const k of cases) {
      test(`${k.name}: exit ${k.code}`, {timeout: 60_000, todo: k.todo}, async () => {
        const {r, j} = await results.get(k)!
        assert.equal(r.exitCode, k.code, `raftctl ${k.args.join(' ').slice(0, 80)}: exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
        assert.equal(r.stdout, '', 'nothing on stdout')
        assert.deepEqual(stackLines(r.stderr), [], 'no stack trace')
        const lines = r.stderr.split('\n').filter((l) => l !== '')
        assert.ok(lines.length >= 1 && lines[0]!.startsWith('Error: '), `stderr starts with one "Error: " line:\n${r.stderr}`)
        assert.equal(lines.filter((l) => l.startsWith('Error: ')).length, 1, `exactly one Error line:\n${r.stderr}`)
        if (lines.length > 1) {
          assert.equal(lines.length, 2, `only an Error line and a Hint line:\n${r.stderr}`)
          assert.ok(lines[1]!.startsWith('Hint: '), `the second line is a hint:\n${r.stderr}`)
        }
        if (k.message) assert.match(lines[0]!, k.message)
        if (k.hint) assert.match(lines[1] ?? '', k.hint, `hint:\n${r.stderr}`)

        assert.equal(j.exitCode, k.code, `with --json: exit ${j.exitCode}\nstdout: ${j.stdout}\nstderr: ${j.stderr}`)
        const doc = oneJson(j, 'error document')
        assert.deepEqual(Object.keys(doc), ['error'])
        assert.equal(typeof doc.error.code, 'string')
        assert.equal(typeof doc.error.message, 'string')
        assert.ok(doc.error.message.length > 0)
        assert.deepEqual(stackLines(j.stderr), [], 'no stack trace with --json')
        if (k.empty) assert.equal(fs.existsSync(path.join(empty.dir, 'cluster.json')), false, 'no cluster was created')
      })
    }

    test('the cluster is untouched by all of that', {timeout: 60_000}, async () => {
      const s = await c.waitForSettled()
      assert.equal(s.nodes.length, 3)
      const get = await c.run(['get', 'fruit'])
      ok(get, 'get fruit')
      assert.equal(get.stdout, 'apple\n')
    })
  })
})
