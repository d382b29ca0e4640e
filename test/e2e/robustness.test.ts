// What a hostile newcomer tries, end to end with real processes: two starts at once, a second
// replica of a running node, nodes that cannot start or die of an I/O error, a paused leader under
// a write, a damaged cluster.json, failed commands that must store nothing, and the scripting
// contract at its edges (malformed flags, invalid UTF-8, --node, --health, watch and stdin, typos,
// durations, hints that carry --dir). One 3-node cluster is shared; it is created by two `start`s
// racing each other.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {ClusterClient} from '../../src/client/cluster-client.js'
import {loadCluster, readSecret} from '../../src/clusterdir/config.js'
import {Cluster, findBasePort, pidAlive, replicaPidsFor, ROOT, RUN_JS, stackLines, waitFor, type RunResult, type StatusJson} from './harness.js'

const T = {timeout: 120_000}

function ok(r: RunResult, what: string): void {
  assert.equal(r.exitCode, 0, `${what} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
}

/** The `Error:` and `Hint:` lines of a failed command (and no stack trace). */
function failure(r: RunResult, code: number, what: string): {error: string; hint: string} {
  assert.equal(r.exitCode, code, `${what} exited ${r.exitCode}, not ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  assert.deepEqual(stackLines(r.stderr), [], `${what}: no stack trace`)
  const error = r.stderr.split('\n').find((l) => l.startsWith('Error: ')) ?? ''
  assert.ok(error, `${what}: an Error line\n${r.stderr}`)
  return {error, hint: r.stderr.split('\n').find((l) => l.startsWith('Hint: ')) ?? ''}
}

const node = (s: StatusJson, id: number) => s.nodes.find((n) => n.id === id)!

describe('operational robustness (3 nodes)', () => {
  const c = new Cluster(3)
  let starts: RunResult[] = []

  before(async () => {
    c.basePort = await findBasePort(3)
    // Two starts at once on an empty directory.
    starts = await Promise.all([c.startAll(), c.startAll()])
  })
  after(async () => {
    await c.destroy()
  })

  test('two starts at once: one starts the nodes, the other finds them running; one replica per node', T, async () => {
    for (const r of starts) ok(r, 'start')
    const said = starts.map((r) => r.stderr)
    assert.equal(said.filter((s) => /^Started node\(s\) 1, 2, 3$/m.test(s)).length, 1, said.join('\n--\n'))
    assert.equal(said.filter((s) => /^Already running: node\(s\) 1, 2, 3$/m.test(s)).length, 1, said.join('\n--\n'))
    const s = await c.waitForSettled()
    assert.equal(replicaPidsFor(c.dir).length, 3, 'three replica processes for three nodes')

    // A second replica of a running node, started by hand, stops at the data-dir lock.
    const pid1 = node(s, 1).pid!
    const second = await execa(process.execPath, [path.join(ROOT, 'dist/server/replica-main.js'), '--dir', c.dir, '--id', '1'], {
      reject: false,
      stdin: 'ignore',
    })
    assert.equal(second.exitCode, 3, `a second replica of node 1: ${second.stderr}`)
    assert.match(c.nodeLog(1).trimEnd().split('\n').at(-1)!, new RegExp(`\\] cannot start: node 1 is already running \\(pid ${pid1}\\)$`))
    // Without its pid file the node is still found running (by its lock), and the file comes back.
    fs.rmSync(path.join(c.dir, 'node-1', 'replica.pid'))
    const again = await c.run(['start', '1'])
    ok(again, 'start 1 without a pid file')
    assert.match(again.stderr, /^Already running: node\(s\) 1$/m)
    assert.equal(fs.readFileSync(path.join(c.dir, 'node-1', 'replica.pid'), 'utf8').trim(), String(pid1))
    // A SIGKILL leaves the lock behind; the next start takes it over.
    ok(await c.run(['stop', '3', '--kill']), 'stop 3 --kill')
    assert.ok(fs.existsSync(path.join(c.dir, 'node-3', 'data.lock')), 'a killed replica leaves its lock')
    ok(await c.run(['start', '3']), 'start 3 after a SIGKILL')
    await c.waitForSettled()
    assert.deepEqual(node(await c.status(), 1).pid, pid1, 'node 1 ran on undisturbed')
  })

  test('a write sent to a paused leader is retried at the new leader with the same seq, well before the deadline', T, async () => {
    const s0 = await c.waitForSettled()
    const config = loadCluster(c.dir)
    const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret: readSecret(c.dir), startAt: s0.leader})
    try {
      await client.put('paused-k', 'v0', 5000)
      ok(await c.run(['pause', String(s0.leader)]), 'pause the leader')
      const t0 = performance.now()
      const out = await client.put('paused-k', 'v1', 8000)
      const took = performance.now() - t0
      assert.ok(took < 4500, `the write took ${Math.round(took)} ms of its 8 s: each attempt is bounded`)
      assert.notEqual(out.node, s0.leader, 'another node answered')
      assert.deepEqual(out.result, {status: 'ok', previous: 'v0'})
      // The paused leader, resumed, follows; the write is there once.
      ok(await c.run(['resume', String(s0.leader)]), 'resume')
      await c.waitForSettled()
      const got = await client.get('paused-k', {timeoutMs: 5000})
      assert.equal(got.value, 'v1')
      const next = await client.put('paused-k', 'v2', 5000)
      assert.deepEqual(next.result, {status: 'ok', previous: 'v1'}, 'v1 applied once, then v2')
    } finally {
      await c.run(['resume'])
      await client.close()
    }
  })

  test(
    "a leader's disk stalls mid-run: the others take over without an error, the stalled node answers status in bounded memory and catches up when cleared",
    T,
    async () => {
      const s0 = await c.waitForSettled()
      const stalled = s0.leader
      const pid = node(s0, stalled).pid!
      const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
      const rssBefore = rssMb()
      const commitBefore = node(s0, stalled).commitIndex!
      const benchRun = c.json<{ops: number; errors: number; leaderChanges: number}>([
        'bench',
        '--duration',
        '5s',
        '--clients',
        '16',
        '--conns',
        '4',
        '--no-report',
      ])
      try {
        // The measured run is under way (writes commit) before the disk stalls.
        await waitFor(async () => ((await c.peek()).nodes.find((n) => n.id === stalled)?.commitIndex ?? 0) > commitBefore + 500, {
          timeoutMs: 20_000,
          what: 'bench writing',
        })
        ok(await c.run(['net', 'slow-disk', 'stall', '--node', String(stalled)]), 'stall the leader')
        // The stalled node holds its one sync: it batches what arrives and sends nothing more, so
        // it loses leadership; the writes it held are retried at the new leader (same session, seq).
        const bench = await benchRun
        assert.equal(bench.errors, 0, JSON.stringify(bench))
        assert.ok(bench.leaderChanges >= 1 && bench.ops > 500, JSON.stringify(bench))
        const during = await c.waitForLeader([stalled])
        // Its event loop is free: it answers status, as a follower far behind the new leader.
        const st = node(during, stalled)
        assert.ok(st.up && st.role === 'follower', JSON.stringify(st))
        assert.ok(st.appliedIndex! < node(during, during.leader).commitIndex! - 100, JSON.stringify(during))
        // What reached it meanwhile is bounded by the leader's window of messages in flight, not by
        // the writes the cluster took (a few MB here, were they all kept).
        assert.ok(rssMb() < rssBefore + 25, `VmRSS ${rssMb().toFixed(0)} MB, was ${rssBefore.toFixed(0)} MB`)
      } finally {
        await benchRun.catch(() => {})
        ok(await c.run(['net', 'slow-disk', '0', '--node', String(stalled)]), 'clear the stall')
      }
      await c.waitForSettled()
    },
  )

  test('status shows paused and pre-candidate nodes; --health says whether a leader is agreed', T, async () => {
    const s0 = await c.waitForSettled()
    const F = s0.nodes.find((n) => n.id !== s0.leader)!.id
    try {
      ok(await c.run(['pause', String(F)]), 'pause a follower')
      const paused = node(await c.status(), F)
      assert.equal(paused.role, 'paused')
      assert.equal(paused.up, false)
      assert.equal(paused.pid, s0.nodes.find((n) => n.id === F)!.pid)
      const table = await c.run(['status'])
      assert.match(table.stdout, new RegExp(`^${F}\\s+\\S+\\s+\\d+\\s+paused\\b`, 'm'))
      // A paused node does not make start wait for it.
      const start = await c.run(['start', '--timeout', '5s'])
      ok(start, 'start with a paused node')
      assert.ok(start.durationMs < 4000, `start took ${Math.round(start.durationMs)} ms`)
      ok(await c.run(['resume', String(F)]), 'resume')

      ok(await c.run(['partition', '--isolate', String(F)]), 'isolate a follower')
      await c.poll((s) => node(s, F).role === 'pre-candidate', {timeoutMs: 10_000, what: `node ${F} to run PreVote rounds (pre-candidate)`})
      ok(await c.run(['heal']), 'heal')
      await c.waitForSettled()

      const healthy = await c.run(['status', '--health', '--json'])
      ok(healthy, 'status --health')
      assert.equal(JSON.parse(healthy.stdout).health, 'ok')
      const others = s0.nodes.filter((n) => n.id !== F).map((n) => String(n.id))
      ok(await c.run(['stop', ...others]), 'stop two of three')
      await c.poll((s) => s.leader === null, {timeoutMs: 10_000, what: 'no leader'})
      const noLeader = await c.run(['status', '--health'])
      const {error} = failure(noLeader, 4, 'status --health without a leader')
      assert.match(error, /no leader/)
      assert.match(noLeader.stdout, /^leader: none/m, 'the same table')
      const j = await c.run(['status', '--health', '--json'])
      assert.equal(j.exitCode, 4)
      assert.equal(JSON.parse(j.stdout).health, 'no-leader')
    } finally {
      await c.run(['resume'])
      await c.restore()
    }
  })

  test('partitions print every side; one group of all nodes is no partition; --json names every side', T, async () => {
    await c.waitForSettled()
    try {
      const iso = await c.run(['partition', '--isolate', '2'])
      ok(iso, 'partition --isolate 2')
      assert.match(iso.stdout, /^Partitioned: 2 \| 1,3$/m)
      const shown = await c.run(['partition', '--json'])
      assert.deepEqual(JSON.parse(shown.stdout).partition.groups, [[2], [1, 3]])
      assert.match((await c.run(['status'])).stdout, /^partition: 2 \| 1,3$/m)
      assert.deepEqual((await c.status()).partition?.groups, [[2], [1, 3]])
      const two = await c.run(['partition', '1,2', '--json'])
      assert.deepEqual(JSON.parse(two.stdout).partition.groups, [[1, 2], [3]])
      const all = await c.run(['partition', '1,2,3'])
      ok(all, 'partition 1,2,3')
      assert.match(all.stdout, /^No partition: one group holds every node/m)
      assert.match((await c.run(['partition'])).stdout, /^no partition: full connectivity$/m)
    } finally {
      await c.run(['heal'])
    }
  })

  test('a partition that cannot be pushed (no secret) is not stored either', T, async () => {
    const secret = path.join(c.dir, 'secret')
    fs.renameSync(secret, `${secret}.aside`)
    let r: RunResult
    try {
      r = await c.run(['partition', '1', '2,3'])
    } finally {
      fs.renameSync(`${secret}.aside`, secret)
    }
    failure(r, 1, 'partition without the secret')
    assert.equal(JSON.parse((await c.run(['partition', '--json'])).stdout).partition, null, 'nothing was stored')
    assert.equal((await c.status()).partition, null)
  })

  test('a node that dies of an I/O error says so in one line, and start reports it with its log', T, async () => {
    const s0 = await c.waitForSettled()
    const F = s0.nodes.find((n) => n.id !== s0.leader)!.id
    // The next hard-state write of node F (a new term) cannot create its temporary file.
    const blocker = path.join(c.dir, `node-${F}`, 'data', 'hardstate.tmp')
    fs.mkdirSync(blocker)
    try {
      ok(await c.run(['stop', String(s0.leader), '--kill']), 'kill the leader')
      await waitFor(() => !pidAlive(node(s0, F).pid!), {timeoutMs: 15_000, what: `node ${F} to stop`})
      const log = c.nodeLog(F).trimEnd().split('\n')
      assert.match(log.at(-1)!, /\] cannot continue: EISDIR: .*hardstate\.tmp/)
      assert.deepEqual(stackLines(log.join('\n')), [], 'no stack trace in the node log')
      // Restarting it fails the same way, and start says why, with the log.
      const r = await c.run(['start', String(F), '--timeout', '5s'])
      const {error, hint} = failure(r, 1, `start ${F}`)
      assert.match(error, new RegExp(`^Error: node ${F} failed to start: EISDIR: .*hardstate\\.tmp'$`))
      assert.equal(hint, `Hint: see its log: ${c.dir}/node-${F}/replica.log`)
      assert.match(c.nodeLog(F).trimEnd().split('\n').at(-1)!, /\] cannot start: EISDIR/)
    } finally {
      fs.rmSync(blocker, {recursive: true, force: true})
      await c.restore()
    }
  })

  test('scripting: a malformed flag is never data, invalid UTF-8 is refused, --node talks to one node', T, async () => {
    const s = await c.waitForSettled()
    failure(await c.run(['put', 'k-json', '--json=1']), 2, 'put k --json=1')
    failure(await c.run(['get', 'k-json', '--stale=yes']), 2, 'get --stale=yes')
    assert.equal((await c.run(['get', 'k-json'])).exitCode, 3, 'nothing was stored')

    // A key with the byte 0xff (not UTF-8), through a shell so the raw byte reaches argv.
    const raw = await execa('sh', ['-c', `exec "$0" "$1" put "$(printf 'k\\377')" v --dir "$2"`, process.execPath, RUN_JS, c.dir], {
      reject: false,
      stdin: 'ignore',
    })
    assert.equal(raw.exitCode, 2, raw.stderr)
    assert.match(raw.stderr, /^Error: key is not valid UTF-8$/m)
    ok(await c.run(['put', 'k\uFFFD', 'a real U+FFFD']), 'a key that really holds U+FFFD')

    const help = await c.run(['put', '--help'])
    assert.match(help.stdout.replace(/\s+/g, ' '), /a trailing newline is kept/)

    const F = s.nodes.find((n) => n.id !== s.leader)!.id
    ok(await c.run(['put', 'who', 'v']), 'put who')
    const stale = JSON.parse((await c.run(['get', 'who', '--stale', '--node', String(F), '--json'])).stdout)
    assert.equal(stale.node, F, 'the stale read came from the node asked')
    const put = JSON.parse((await c.run(['put', 'who', 'w', '--json'])).stdout)
    assert.equal(put.node, s.leader, 'put --json names the node that answered')
    for (const cmd of [
      ['del', 'who'],
      ['cas', 'k\uFFFD', 'a real U+FFFD', 'b'],
    ]) {
      assert.equal(JSON.parse((await c.run([...cmd, '--json'])).stdout).node, s.leader, `${cmd[0]} --json names the node`)
    }
    const follower = await c.run(['put', 'who', 'x', '--node', String(F)])
    const {error, hint} = failure(follower, 4, 'put --node FOLLOWER')
    assert.equal(error, `Error: node ${F} is not the leader (node ${s.leader} is)`)
    assert.match(hint, new RegExp(`--node ${s.leader}`))
    failure(await c.run(['get', 'who', '--node', '9']), 2, 'get --node 9')
  })

  test('status --watch piped runs until killed when stdin is at its end from the start, and stops when stdin closes later', T, async () => {
    await c.waitForSettled()
    const args = [RUN_JS, 'status', '--watch', '--json', '--interval', '200ms', '--dir', c.dir]
    const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '')
    for (const stdin of ['ignore', 'closed pipe'] as const) {
      const child = execa(process.execPath, args, {reject: false, ...(stdin === 'ignore' ? {stdin: 'ignore'} : {input: ''}), env: {NO_COLOR: '1'}})
      let out = ''
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      await waitFor(() => lines(out).length >= 4, {timeoutMs: 15_000, what: `4 documents with stdin ${stdin}`})
      assert.equal(child.exitCode, null, `still running with stdin ${stdin}`)
      child.kill('SIGTERM')
      const r = await child
      assert.equal(r.exitCode, 0, `killed with SIGTERM: exit 0 (${r.stderr})`)
      for (const l of lines(out)) assert.equal(JSON.parse(l).nodes.length, 3)
    }
    const child = execa(process.execPath, args, {reject: false, stdin: 'pipe', env: {NO_COLOR: '1'}})
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    await waitFor(() => lines(out).length >= 2, {timeoutMs: 15_000, what: 'two documents'})
    child.stdin!.end()
    const r = await Promise.race([child, new Promise<null>((res) => setTimeout(() => res(null), 5000))])
    assert.ok(r !== null, 'a stdin that closes ends the watch')
    assert.equal(r.exitCode, 0)
  })

  test('bench --json carries its settings; Ctrl-C says interrupted, gives the real time and exits 130', T, async () => {
    await c.waitForSettled()
    const child = execa(process.execPath, [RUN_JS, 'bench', '--duration', '30s', '--clients', '2', '--json', '--dir', c.dir], {
      reject: false,
      stdin: 'ignore',
      env: {NO_COLOR: '1'},
    })
    let err = ''
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    // Once the loop runs (its first progress line, after 3 s), as a person would press Ctrl-C.
    await waitFor(() => /^bench: \d+s\/30s/m.test(err), {timeoutMs: 20_000, what: 'the first progress line'})
    child.kill('SIGINT')
    const r = await child
    assert.equal(r.exitCode, 130, `bench after Ctrl-C: ${r.stderr}`)
    assert.match(err, /interrupted/)
    const doc = JSON.parse(String(r.stdout))
    assert.equal(doc.interrupted, true)
    assert.ok(doc.elapsedMs > 0 && doc.elapsedMs < 10_000, `elapsed ${doc.elapsedMs} ms, not the 30 s asked for`)
    for (const [k, v] of Object.entries({clients: 2, durationMs: 30_000, op: 'put', valueSize: 100, keys: 1000, timeoutMs: 5000, nodes: 3})) {
      assert.equal(doc[k], v, `bench --json ${k}`)
    }
  })

  test('check that ran no fault says so; a refused cas is not a failure', T, async () => {
    await c.waitForSettled()
    const r = await c.run(['check', '--duration', '1s', '--quiet-period', '0', '--clients', '2', '--keys', '1', '--json'])
    ok(r, 'check --duration 1s')
    const doc = JSON.parse(r.stdout)
    assert.equal(doc.faults.total, 0)
    assert.ok(
      doc.warnings.some((w: string) => /no fault was injected/.test(w)),
      JSON.stringify(doc.warnings),
    )
    assert.deepEqual(Object.keys(doc.ops.cas).sort(), ['failed', 'indeterminate', 'ok', 'refused'])
  })

  test('with every node down, get and put fail at once naming the fix (with this --dir); --health exits 1', T, async () => {
    ok(await c.run(['stop']), 'stop')
    try {
      for (const args of [
        ['get', 'k'],
        ['put', 'k', 'v'],
        ['del', 'k'],
        ['get', 'k', '--stale'],
      ]) {
        const r = await c.run([...args, '--timeout', '10s'])
        const {error, hint} = failure(r, 1, args.join(' '))
        assert.equal(error, `Error: no node of the cluster in ${c.dir} is running`)
        assert.equal(hint, `Hint: start it: raftctl start --dir ${c.dir}`)
        assert.ok(r.durationMs < 3000, `${args.join(' ')} took ${Math.round(r.durationMs)} ms`)
        assert.doesNotMatch(r.stderr, /may still commit/)
      }
      const health = await c.run(['status', '--health'])
      failure(health, 1, 'status --health')
      assert.match(health.stderr, /no node of the cluster is running/)
      assert.equal(JSON.parse((await c.run(['status', '--health', '--json'])).stdout).health, 'not-running')
    } finally {
      ok(await c.run(['start']), 'start')
    }
  })

  test('a damaged cluster.json: status says how to recover, stop works from the pid files, init --force recreates', T, async () => {
    await c.waitForSettled()
    const pids = replicaPidsFor(c.dir)
    assert.equal(pids.length, 3)
    fs.writeFileSync(path.join(c.dir, 'cluster.json'), '{"version": 1, "nodes": [')
    const status = await c.run(['status'])
    const {error, hint} = failure(status, 1, 'status with a damaged cluster.json')
    assert.match(error, /cluster\.json is not valid JSON/)
    assert.equal(
      hint,
      `Hint: fix it by hand, or recreate the cluster (its data is deleted): raftctl stop --dir ${c.dir} && raftctl init --force --dir ${c.dir}`,
    )
    const refused = await c.run(['init', '--force', '--nodes', '3', '--base-port', String(c.basePort)])
    assert.match(failure(refused, 1, 'init --force while nodes run').hint, new RegExp(`raftctl stop --dir ${c.dir}`))
    const stop = await c.run(['stop'])
    ok(stop, 'stop with a damaged cluster.json')
    assert.match(stop.stdout, /^Stopped node\(s\) 1, 2, 3$/m)
    assert.match(stop.stderr, /^Warning: .*not valid JSON; stopping the nodes found in /m)
    assert.deepEqual(pids.filter(pidAlive), [], 'the replicas are gone')
    ok(await c.run(['init', '--force', '--nodes', '3', '--base-port', String(c.basePort)]), 'init --force')
    ok(await c.run(['start']), 'start the new cluster')
    await c.waitForSettled()
  })
})

describe('start, init and the CLI without a running cluster', () => {
  const dirs: Cluster[] = []
  const fresh = () => {
    const d = new Cluster(3)
    dirs.push(d)
    return d
  }
  after(async () => {
    for (const d of dirs) await d.destroy()
  })

  test('a node whose data dir cannot be opened: start exits 1 with its reason and log; the others keep running', T, async () => {
    const d = fresh()
    d.basePort = await findBasePort(3)
    ok(await d.run(['init', '--nodes', '3', '--base-port', String(d.basePort)]), 'init')
    // init made node-2/data (with its identity); put a file where the directory should be.
    fs.rmSync(path.join(d.dir, 'node-2', 'data'), {recursive: true, force: true})
    fs.mkdirSync(path.join(d.dir, 'node-2'), {recursive: true})
    fs.writeFileSync(path.join(d.dir, 'node-2', 'data'), 'not a directory')
    const r = await d.run(['start', '--timeout', '10s'])
    const {error, hint} = failure(r, 1, 'start')
    assert.match(error, /^Error: node 2 failed to start: E(EXIST|NOTDIR): /)
    assert.equal(hint, `Hint: see its log: ${d.dir}/node-2/replica.log`)
    const log = d.nodeLog(2).trimEnd().split('\n')
    assert.equal(log.length, 1, `one line: ${log.join('\n')}`)
    assert.match(log[0]!, /\] cannot start: E(EXIST|NOTDIR): /)
    assert.equal(replicaPidsFor(d.dir).length, 2, 'nodes 1 and 3 run')
  })

  test('init validates its input; hand-edited duplicate ports are refused; durations take units, help shows them', T, async () => {
    const d = fresh()
    failure(await d.run(['init', '--host', 'not-an-ip']), 2, 'init --host not-an-ip')
    failure(await d.run(['init', '--election-timeout', '40ms', '--heartbeat', '50ms']), 2, 'election timeout below the heartbeat')
    assert.ok(!fs.existsSync(path.join(d.dir, 'cluster.json')), 'nothing was created')
    ok(await d.run(['init', '--election-timeout', '1s', '--heartbeat', '100ms', '--base-port', '9000']), 'init with durations')
    const config = JSON.parse(fs.readFileSync(path.join(d.dir, 'cluster.json'), 'utf8'))
    assert.deepEqual([config.electionTimeoutMs, config.heartbeatMs], [1000, 100])
    // A failed init --force deletes nothing.
    failure(await d.run(['init', '--force', '--host', 'nope']), 2, 'init --force --host nope')
    assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, 'cluster.json'), 'utf8')).clusterId, config.clusterId)
    config.nodes[2].port = config.nodes[0].port
    fs.writeFileSync(path.join(d.dir, 'cluster.json'), JSON.stringify(config))
    assert.match(failure(await d.run(['status']), 1, 'status with duplicate ports').error, /nodes 1 and 3 both listen on port 9001/)

    assert.match(failure(await d.run(['get', 'k', '--timeout', '5000']), 2, '--timeout 5000').error, /needs a unit, e\.g\. 5000ms or 5s/)
    const help = (await d.run(['start', '--help'])).stdout
    assert.match(help, /--timeout=DURATION +\[default: 10s\]/)
    assert.match((await d.run(['init', '--help'])).stdout, /\[default: 300ms\]/)
  })

  test('typos get a suggestion; -h, put -h, version and help --json work', T, async () => {
    const d = fresh()
    const typo = failure(await d.run(['stauts']), 2, 'stauts')
    assert.equal(typo.error, 'Error: unknown command "stauts"')
    assert.equal(typo.hint, 'Hint: did you mean raftctl status?')
    assert.equal(failure(await d.run(['partiton', '1,2']), 2, 'partiton 1,2').error, 'Error: unknown command "partiton"')
    // Under a topic: the topic and the word.
    const sub = failure(await d.run(['member', 'lst']), 2, 'member lst')
    assert.deepEqual([sub.error, sub.hint], ['Error: unknown command "member lst"', 'Hint: did you mean raftctl member list?'])
    assert.match((await d.run(['member'], {noDir: true})).stdout, /^Change who is in the cluster/)
    for (const args of [['-h'], ['put', '-h'], ['help', 'put']]) {
      const r = await d.run(args, {noDir: true})
      ok(r, args.join(' '))
      assert.match(r.stdout, /USAGE/)
    }
    const version = await d.run(['version', '--json'], {noDir: true})
    ok(version, 'version --json')
    assert.equal(JSON.parse(version.stdout).version, JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version)
    const help = await d.run(['help', '--json'], {noDir: true})
    ok(help, 'help --json')
    const doc = JSON.parse(help.stdout)
    assert.deepEqual(Object.keys(doc), ['bin', 'version', 'commands'])
    const put = doc.commands.find((x: {name: string}) => x.name === 'put')
    assert.deepEqual(
      put.args.map((a: {name: string}) => a.name),
      ['key', 'value'],
    )
    assert.ok(put.flags.some((f: {name: string}) => f.name === 'node'))
    assert.ok(!doc.commands.some((x: {name: string}) => x.name === 'replica'), 'hidden commands stay hidden')
  })
})
