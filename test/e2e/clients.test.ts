// Many clients at once (parallel puts, a cas race), hostile bytes on a node's port, the cost of
// the one-shot CLI, and `stop` semantics (returns when the processes are gone; --kill is a crash).
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import {execa} from 'execa'
import {loadCluster, readSecret} from '../../src/clusterdir/config.js'
import {nodeStatuses} from '../../src/cluster/status.js'
import type {NodeStatus} from '../../src/protocol/protocol.js'
import {Cluster, median, pidAlive, ROOT, RUN_JS, type RunResult} from './harness.js'

const T = {timeout: 90_000}

function ok(r: RunResult, what: string): void {
  assert.equal(r.exitCode, 0, `${what} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
}

/** Opens a raw TCP connection, writes `bytes`, resolves once the node closes it (or rejects after 5 s). */
function sendRaw(port: number, bytes: Buffer): Promise<{closedByServer: boolean; received: number}> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: '127.0.0.1', port})
    let received = 0
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`node on port ${port} did not close the connection after garbage`))
    }, 5000)
    socket.on('connect', () => socket.write(bytes))
    socket.on('data', (d) => {
      received += d.length
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({closedByServer: true, received})
    })
  })
}

describe('clients and processes (3 nodes)', () => {
  let c: Cluster

  before(async () => {
    c = await Cluster.start(3)
  })
  after(async () => {
    await c?.destroy()
  })

  test('11. concurrent clients: parallel puts on distinct keys all succeed and are readable', T, async () => {
    await c.waitForLeader()
    const n = 6
    const results = await Promise.all(Array.from({length: n}, (_, i) => c.run(['put', `par-${i}`, `value-${i}`, '--timeout', '15s'])))
    results.forEach((r, i) => {
      ok(r, `put par-${i}`)
      assert.equal(r.stdout, 'OK\n')
    })
    const reads = await Promise.all(Array.from({length: n}, (_, i) => c.run(['get', `par-${i}`, '--timeout', '15s'])))
    reads.forEach((r, i) => {
      ok(r, `get par-${i}`)
      assert.equal(r.stdout, `value-${i}\n`)
    })
    const del = await c.run(['del', 'par-0'])
    ok(del, 'del par-0')
    assert.equal(del.stdout, 'OK\n')
    const gone = await c.run(['get', 'par-0'])
    assert.equal(gone.exitCode, 3, `get of a deleted key: ${gone.stdout} ${gone.stderr}`)
    assert.equal(gone.stdout, '')
  })

  test('12. a cas race: exactly one of N parallel cas calls wins, the others get exit 5', T, async () => {
    ok(await c.run(['put', 'race', 'v0', '--timeout', '10s']), 'put race v0')
    const n = 5
    const results = await Promise.all(Array.from({length: n}, (_, i) => c.run(['cas', 'race', 'v0', `v${i + 1}`, '--timeout', '15s'])))
    const codes = results.map((r) => r.exitCode)
    const winners = codes.flatMap((code, i) => (code === 0 ? [i] : []))
    assert.equal(winners.length, 1, `exactly one winner, exit codes ${codes}\n${results.map((r) => r.stderr).join('')}`)
    for (const [i, r] of results.entries()) {
      if (i === winners[0]) {
        assert.equal(r.stdout, 'OK\n')
        continue
      }
      assert.equal(r.exitCode, 5, `loser ${i}: ${r.stderr}`)
      assert.equal(r.stdout, '')
      const winnerValue = `v${winners[0]! + 1}`
      assert.match(r.stderr, new RegExp(`^Error: .*"${winnerValue}"`, 'm'), 'the message names the current value')
    }
    const get = await c.run(['get', 'race'])
    ok(get, 'get race')
    assert.equal(get.stdout, `v${winners[0]! + 1}\n`)
  })

  test('the largest key (4096 bytes) and value (1 MiB, from stdin) are stored', T, async () => {
    const key = 'K'.repeat(4096)
    const value = 'é'.repeat(512 * 1024) // 2 bytes each: exactly 1 MiB of UTF-8
    assert.equal(Buffer.byteLength(value), 1024 * 1024)
    ok(await c.run(['put', key, '-', '--timeout', '15s'], {input: value}), 'put of the largest value')
    // Read back through the oclif command (a "--" makes the one-shot fast path step aside).
    const get = await c.run(['get', '--timeout', '15s', '--dir', c.dir, '--', key], {noDir: true})
    ok(get, 'get -- KEY')
    assert.equal(get.stdout.length, value.length + 1)
    assert.equal(get.stdout, value + '\n')
  })

  test('a 1 MiB value comes back whole from a plain `get KEY` into a pipe', T, async () => {
    const key = 'big-value'
    const value = 'v'.repeat(1024 * 1024)
    ok(await c.run(['put', key, '-', '--timeout', '15s'], {input: value}), 'put')
    const get = await c.run(['get', key, '--timeout', '15s'])
    ok(get, 'get')
    assert.equal(get.stdout.length, value.length + 1, `get printed ${get.stdout.length} of ${value.length + 1} characters`)
    const json = await c.run(['get', key, '--timeout', '15s', '--json'])
    ok(json, 'get --json')
    assert.equal(JSON.parse(json.stdout).value.length, value.length)
  })

  test('19. garbage and oversized frames close the connection; the node keeps serving and counts them', T, async () => {
    const config = loadCluster(c.dir)
    const secret = readSecret(c.dir)
    const s0 = await c.waitForSettled()
    const target = s0.leader
    const port = c.basePort + target
    const before = (await nodeStatuses(config, secret))[target - 1] as NodeStatus
    assert.ok(before, 'status of the target node')

    // A length prefix of 3 and three bytes that are never valid MessagePack (0xc1).
    await sendRaw(port, Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]))
    // A 4 GiB length prefix.
    await sendRaw(port, Buffer.from([0xff, 0xff, 0xff, 0xff]))
    // Plain text garbage (an HTTP request: "GET " is a ~1.2 GB length prefix).
    await sendRaw(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))

    const after = await c.waitForSettled()
    assert.equal(after.leader, target, 'the node stays leader')
    const nodeAfter = (await nodeStatuses(config, secret))[target - 1] as NodeStatus
    assert.equal(nodeAfter.pid, before.pid, 'same process: it did not crash and restart')
    assert.ok(nodeAfter.badFrames >= before.badFrames + 3, `badFrames ${before.badFrames} -> ${nodeAfter.badFrames}`)
    const put = await c.run(['put', 'after-garbage', 'yes'])
    ok(put, 'put after garbage')
    const get = await c.run(['get', 'after-garbage'])
    ok(get, 'get after-garbage')
    assert.equal(get.stdout, 'yes\n')
    assert.match(c.nodeLog(target), /bad frame/)
  })

  test('20. the one-shot CLI costs at most 3x a bare `node -e 0` (median of 9)', T, async (t) => {
    ok(await c.run(['put', 'k', 'v']), 'put k v')
    const time = async (file: string, args: string[]) => {
      const t0 = performance.now()
      const r = await execa(file, args, {cwd: ROOT, reject: false, stdin: 'ignore'})
      const ms = performance.now() - t0
      assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`)
      return ms
    }
    const getArgs = [RUN_JS, 'get', 'k', '--dir', c.dir]
    // Warm the file cache once for each.
    await time(process.execPath, getArgs)
    await time(process.execPath, ['-e', '0'])
    const cli: number[] = []
    const bare: number[] = []
    for (let i = 0; i < 9; i++) {
      cli.push(await time(process.execPath, getArgs))
      bare.push(await time(process.execPath, ['-e', '0']))
    }
    const mCli = median(cli)
    const mBare = median(bare)
    const ratio = mCli / mBare
    t.diagnostic(`raftctl get k: median ${mCli.toFixed(0)} ms (runs ${cli.map((x) => x.toFixed(0)).join(' ')})`)
    t.diagnostic(`node -e 0:     median ${mBare.toFixed(0)} ms (runs ${bare.map((x) => x.toFixed(0)).join(' ')})`)
    t.diagnostic(`ratio ${ratio.toFixed(2)}x (target <= 3x)`)
    assert.ok(ratio <= 3, `raftctl get k takes ${mCli.toFixed(0)} ms, ${ratio.toFixed(2)}x node -e 0 (${mBare.toFixed(0)} ms); target <= 3x`)
  })

  test('17. stop returns only once the processes are gone; stop --kill is a crash (no "stopped" line)', T, async () => {
    const s0 = await c.waitForSettled()
    const pids = s0.nodes.map((n) => n.pid!)
    assert.ok(pids.every((p) => pidAlive(p)))
    const stop = await c.run(['stop'])
    ok(stop, 'stop')
    assert.match(stop.stdout, /Stopped node\(s\) 1, 2, 3/)
    const alive = pids.filter((p) => pidAlive(p))
    assert.deepEqual(alive, [], 'no replica process is alive when stop returns')
    for (const id of c.ids) {
      const log = c.nodeLog(id)
      const run = log.slice(log.lastIndexOf('] started (pid'))
      assert.match(run, /\] stopped$/m, `a graceful stop logs "stopped" (node ${id})`)
    }
    const status = await c.status()
    assert.ok(status.nodes.every((n) => n.role === 'down' && n.pid === null))
    const again = await c.run(['stop'])
    ok(again, 'stop when nothing runs')

    ok(await c.run(['start', '--timeout', '20s']), 'start')
    const s1 = await c.waitForSettled()
    const victim = s1.nodes.find((n) => n.id !== s1.leader)!
    const kill = await c.run(['stop', String(victim.id), '--kill'])
    ok(kill, 'stop --kill')
    assert.match(kill.stdout, new RegExp(`Killed node\\(s\\) ${victim.id}`))
    assert.equal(pidAlive(victim.pid!), false, 'the killed process is gone when stop returns')
    const log = c.nodeLog(victim.id)
    const marker = `] started (pid ${victim.pid})`
    assert.ok(log.includes(marker), 'the log has the start of this run')
    const run = log.slice(log.lastIndexOf(marker))
    assert.doesNotMatch(run, /\] (stopping|stopped)/, 'a SIGKILLed replica writes no "stopping"/"stopped" line')
    const others = s1.nodes.filter((n) => n.id !== victim.id)
    assert.ok(
      others.every((n) => pidAlive(n.pid!)),
      'the other nodes keep running',
    )
  })
})
