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
import {loadCluster, readSecret} from '../../src/cluster/config.js'
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
})
