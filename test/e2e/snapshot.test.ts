// Snapshots with real processes: replicas compact their logs every N applied entries; a follower
// that was down while the leader compacted is caught up by InstallSnapshot and then by ordinary
// replication; a restarted node restores from its snapshot; no acknowledged write is lost.
import {after, test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {ClusterClient} from '../../src/client/cluster-client.js'
import {loadCluster, readSecret} from '../../src/clusterdir/config.js'
import {Cluster, findBasePort} from './harness.js'

let c: Cluster | undefined
after(async () => {
  await c?.destroy()
})

test('a follower behind the compacted prefix receives the snapshot and catches up', {timeout: 240_000}, async () => {
  c = new Cluster(3)
  c.basePort = await findBasePort(3)
  const init = await c.run(['init', '--nodes', '3', '--base-port', String(c.basePort), '--snapshot-every', '20'])
  assert.equal(init.exitCode, 0, init.stderr)
  assert.equal((await c.run(['start', '--timeout', '20s'])).exitCode, 0)
  assert.equal((await c.run(['stop', '3'])).exitCode, 0)
  const config = loadCluster(c.dir)
  const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret: readSecret(c.dir)})
  try {
    for (let i = 0; i < 120; i++) await client.put(`k${i % 40}`, `v${i}`, 5000)
  } finally {
    await client.close()
  }
  const before = await c.status()
  const leader = before.nodes.find((n) => n.id === before.leader)!
  assert.ok(leader.commitIndex! > 100)
  // The leader compacted: its segments below the snapshot are gone, a snapshot file exists.
  const leaderData = join(c.dir, `node-${leader.id}`, 'data')
  assert.ok(
    readdirSync(leaderData).some((f) => f.startsWith('snapshot-')),
    'the leader took a snapshot',
  )
  assert.match(c.nodeLog(leader.id), /snapshot taken at \d+/)

  assert.equal((await c.run(['start', '3'])).exitCode, 0)
  const s = await c.waitForSettled()
  const n3 = s.nodes.find((n) => n.id === 3)!
  assert.equal(n3.appliedIndex, s.nodes.find((n) => n.id === s.leader)!.commitIndex)
  assert.match(c.nodeLog(3), /installing snapshot at \d+/)

  // Restarted, node 3 restores its snapshot and replays only what follows it.
  assert.equal((await c.run(['stop', '3'])).exitCode, 0)
  assert.equal((await c.run(['start', '3'])).exitCode, 0)
  await c.waitForSettled()
  assert.match(c.nodeLog(3), /restored snapshot at \d+/)
  const reader = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret: readSecret(c.dir)})
  try {
    for (let k = 0; k < 40; k++) assert.equal((await reader.get(`k${k}`, {timeoutMs: 5000})).value, `v${80 + k}`, `k${k}`)
  } finally {
    await reader.close()
  }
  assert.equal((await c.run(['get', 'k39'])).stdout, 'v119\n')
})
