// The status row's lag, computed once for `raftctl status`, its --json and the dashboard.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {absentRow, clusterCommitIndex, withLag, type NodeRow} from '../../src/cluster/status.js'

function up(id: number, commitIndex: number, appliedIndex: number, role: NodeRow['role'] = 'follower'): NodeRow {
  return {...absentRow(id, `127.0.0.1:${7100 + id}`, 'voter'), up: true, pid: 100 + id, role, term: 3, commitIndex, appliedIndex, lastIndex: commitIndex}
}

test("lag is how far a node's applied index trails the leader's commit index; down nodes have none", () => {
  const rows = [up(1, 50, 50, 'leader'), up(2, 60, 41), absentRow(3, '127.0.0.1:7103', 'voter')]
  assert.equal(clusterCommitIndex(rows, 1), 50, "the leader's, even if a follower reports more")
  assert.deepEqual(
    withLag(rows, 1).map((r) => r.lag),
    [0, 9, null],
  )
})

test('without a leader, lag is measured against the highest commit index an up node reports', () => {
  const rows = [up(1, 7, 7, 'candidate'), up(2, 9, 4), absentRow(3, '', null)]
  assert.equal(clusterCommitIndex(rows, null), 9)
  assert.deepEqual(
    withLag(rows, null).map((r) => r.lag),
    [2, 5, null],
  )
  assert.equal(clusterCommitIndex([absentRow(1, '', null)], null), null, 'no node up: unknown')
  assert.deepEqual(
    withLag([absentRow(1, '', null)], null).map((r) => r.lag),
    [null],
  )
})
