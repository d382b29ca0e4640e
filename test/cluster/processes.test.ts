// How `raftctl start` launches a replica: its V8 flags (memory, docs/benchmarks.md) and the
// protocol's `campaign` request that start sends to a fresh cluster.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {DEFAULT_REPLICA_NODE_FLAGS, replicaNodeFlags} from '../../src/cluster/processes.js'
import {parseRequest} from '../../src/protocol/protocol.js'

test('replicas run with small semi-spaces, a 1.2x old-generation growth and one V8 helper thread unless RAFTCTL_NODE_FLAGS says otherwise', () => {
  assert.deepEqual(replicaNodeFlags({}), ['--max-semi-space-size=1', '--heap-growing-percent=20', '--v8-pool-size=1'])
  assert.deepEqual(replicaNodeFlags({}), DEFAULT_REPLICA_NODE_FLAGS)
  assert.deepEqual(replicaNodeFlags({RAFTCTL_NODE_FLAGS: ' --cpu-prof  --cpu-prof-dir=/tmp/p '}), ['--cpu-prof', '--cpu-prof-dir=/tmp/p'])
  assert.deepEqual(replicaNodeFlags({RAFTCTL_NODE_FLAGS: ''}), [], 'empty: plain node, V8 defaults')
})

test('the campaign admin request parses; unknown types still do not', () => {
  assert.deepEqual(parseRequest({type: 'campaign'}), {ok: true, req: {type: 'campaign'}})
  assert.deepEqual(parseRequest({type: 'campaign!'}), {ok: false, problem: 'unknown request type "campaign!"'})
})
