// The address book after membership changes: ids ascend but may have gaps (removed nodes keep
// their ids retired), node-id arguments are checked against the members, and new ids are never
// reused.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describeIds, initialVoters, loadCluster, nextNodeId, nodeById, parseNodeId, type ClusterConfig} from '../../src/clusterdir/config.js'
import {CliError} from '../../src/lib/errors.js'

const base: ClusterConfig = {
  version: 1,
  clusterId: 'c0ffee',
  createdAt: '2026-01-01T00:00:00.000Z',
  nodes: [
    {id: 2, host: '127.0.0.1', port: 7102},
    {id: 4, host: '127.0.0.1', port: 7104},
    {id: 5, host: '127.0.0.1', port: 7105},
  ],
  initialVoters: [1, 2, 3],
  removed: [
    {id: 1, host: '127.0.0.1', port: 7101},
    {id: 3, host: '127.0.0.1', port: 7103},
  ],
  electionTimeoutMs: 300,
  heartbeatMs: 50,
  snapshotEvery: 10_000,
}

function withFile(config: unknown, fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-config-'))
  try {
    fs.writeFileSync(path.join(dir, 'cluster.json'), JSON.stringify(config))
    fn(dir)
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

test('a cluster.json with gaps in its ids and removed nodes loads; lookups go by id', () => {
  withFile(base, (dir) => {
    const c = loadCluster(dir)
    assert.equal(nodeById(c, 4).port, 7104)
    assert.throws(() => nodeById(c, 3), /not a member/)
    assert.deepEqual(initialVoters(c), [1, 2, 3])
    assert.equal(nextNodeId(c), 6)
  })
})

test('ids never come back: the next id is above every member, removed node and initial voter', () => {
  assert.equal(nextNodeId({...base, nodes: [{id: 2, host: '127.0.0.1', port: 7102}], removed: [{id: 9, host: '127.0.0.1', port: 7109}]}), 10)
  assert.equal(nextNodeId({...base, nodes: [{id: 1, host: '127.0.0.1', port: 7101}], removed: undefined, initialVoters: [1, 2, 3]}), 4)
  // An old cluster.json (no initialVoters): every node is an initial voter.
  const {initialVoters: _, ...old} = base
  assert.deepEqual(initialVoters(old as ClusterConfig), [2, 4, 5])
})

test('damaged address books are refused with the reason', () => {
  const cases: [unknown, RegExp][] = [
    [{...base, nodes: [base.nodes[1], base.nodes[0]]}, /ids must ascend/],
    [{...base, nodes: [base.nodes[0], base.nodes[0]]}, /ids must ascend/],
    [{...base, removed: [{id: 4, host: '127.0.0.1', port: 7104}]}, /node 4 is listed as a member and as removed/],
    [{...base, removed: 'none'}, /removed must be a list/],
    [{...base, initialVoters: []}, /initialVoters must list node ids/],
    [{...base, nodes: []}, /nodes must list 1\.\.15 nodes/],
  ]
  for (const [config, reason] of cases) {
    withFile(config, (dir) =>
      assert.throws(
        () => loadCluster(dir),
        (err: Error) => err instanceof CliError && reason.test(err.message),
        String(reason),
      ),
    )
  }
})

test('node id arguments: members only; a removed node is named as removed', () => {
  assert.equal(parseNodeId('4', base), 4)
  assert.throws(
    () => parseNodeId('3', base),
    /^CliError: node "3" was removed from the cluster: this cluster has nodes 2,4,5$|node "3" was removed from the cluster: this cluster has nodes 2,4,5/,
  )
  assert.throws(() => parseNodeId('7', base), /unknown node id "7": this cluster has nodes 2,4,5/)
  assert.throws(() => parseNodeId('x', [1, 2, 3]), /unknown node id "x": this cluster has nodes 1\.\.3/)
  assert.equal(describeIds([5, 1, 2, 3, 7, 8]), '1..3,5,7,8')
})
