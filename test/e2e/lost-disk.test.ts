// A node that lost its disk must not come back as if new (issue #18): the write it had helped
// commit would be lost for good once it voted for a node without it. The scenario of the issue,
// with real processes: 3 nodes; node 2 cut off; a write acknowledged by nodes 1 and 3; node 3's
// data directory deleted; node 1 killed; heal; start node 3. It refuses (one line, naming the
// recovery), so nodes 2 and 3 cannot elect a leader without the write; once node 1 is back, the
// write is there. The same refusal for a data directory of another cluster or of another node.
import {after, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {Cluster, stackLines, type RunResult} from './harness.js'

const T = {timeout: 120_000}

function ok(r: RunResult, what: string): void {
  assert.equal(r.exitCode, 0, `${what} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
}

/** `start ID` refused to start the node: exit 1, the reason in one line, no stack trace. */
function refused(r: RunResult, id: number, reason: RegExp): void {
  assert.equal(r.exitCode, 1, `start ${id} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  assert.deepEqual(stackLines(r.stderr), [])
  assert.match(r.stderr, reason)
  assert.match(r.stderr, new RegExp(`raftctl member replace ${id}`))
}

describe('a node that lost its disk, or got another one', () => {
  const c = new Cluster(3)
  const other = new Cluster(3)
  after(async () => {
    await c.destroy()
    await other.destroy()
  })

  test('a wiped node refuses to start; the acknowledged write is never lost', T, async () => {
    ok(await c.startAll(), 'start')
    await c.waitForSettled()
    ok(await c.run(['partition', '--isolate', '2']), 'isolate 2')
    ok(await c.run(['put', 'acked-key', 'v']), 'put on nodes 1 and 3')
    ok(await c.run(['stop', '3']), 'stop 3')
    fs.rmSync(path.join(c.dir, 'node-3', 'data'), {recursive: true, force: true})
    ok(await c.run(['stop', '1', '--kill']), 'kill 1')
    ok(await c.run(['heal']), 'heal')
    refused(await c.run(['start', '3', '--timeout', '10s']), 3, /holds no data of node 3: its disk was lost or wiped/)
    assert.match(c.nodeLog(3), /cannot start: .*holds no data of node 3/)
    // Node 2 alone (it lacks the write) cannot lead: no quorum without node 1 or 3.
    const s = await c.status()
    assert.equal(s.leader, null, JSON.stringify(s))
    // Node 1 returns: the write is there.
    ok(await c.run(['start', '1', '--timeout', '20s']), 'start 1')
    await c.waitForLeader()
    const r = await c.run(['get', 'acked-key'])
    ok(r, 'get')
    assert.equal(r.stdout, 'v\n')
  })

  test('a data directory of another cluster, or of another node, is refused', T, async () => {
    ok(await other.startAll(), 'start the other cluster')
    ok(await other.run(['stop']), 'stop the other cluster')
    ok(await c.run(['stop', '1']), 'stop 1')
    // Node 1 gets the other cluster's node-1 data: foreign.
    const data1 = path.join(c.dir, 'node-1', 'data')
    const kept = path.join(c.dir, 'node-1', 'data.kept')
    fs.renameSync(data1, kept)
    fs.cpSync(path.join(other.dir, 'node-1', 'data'), data1, {recursive: true})
    refused(await c.run(['start', '1', '--timeout', '10s']), 1, /belongs to another cluster/)
    // Node 1 gets node 2's data: swapped.
    fs.rmSync(data1, {recursive: true, force: true})
    fs.cpSync(path.join(c.dir, 'node-2', 'data'), data1, {recursive: true})
    refused(await c.run(['start', '1', '--timeout', '10s']), 1, /holds the data of node 2, not of node 1/)
    // Its own data back: it starts.
    fs.rmSync(data1, {recursive: true, force: true})
    fs.renameSync(kept, data1)
    ok(await c.run(['start', '1', '--timeout', '20s']), 'start 1 with its own data')
    const r = await c.run(['get', 'acked-key'])
    assert.equal(r.stdout, 'v\n')
  })
})
