// The protocol's checks of what arrives: admin replies (status, events) and the one node-id rule.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {isNodeId, MAX_NODE_ID} from '../../src/core/types.js'
import {asNodeStatus, eventsOf, parseRequest} from '../../src/protocol/protocol.js'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadCluster} from '../../src/clusterdir/config.js'

const status = {id: 2, pid: 10, role: 'pre-candidate', term: 4, leader: null, lastIndex: 9, commitIndex: 8, appliedIndex: 7, snapshotIndex: 0}

test('a status reply is checked, not cast: what callers rely on must be there', () => {
  assert.equal(asNodeStatus(status), status)
  assert.equal(asNodeStatus({...status, role: 'leader', leader: 2}).leader, 2)
  assert.equal(asNodeStatus({...status, role: 'precandidate'}).role, 'pre-candidate', "an earlier replica's spelling")
  const bad: [unknown, RegExp][] = [
    [null, /not an object/],
    ['ok', /not an object/],
    [{ok: true}, /no node id/],
    [{...status, id: 0}, /no node id/],
    [{...status, role: 'pre_candidate'}, /unknown role "pre_candidate"/],
    [{...status, term: -1}, /term or indexes/],
    [{...status, commitIndex: '8'}, /term or indexes/],
    [{...status, leader: 0}, /bad leader/],
  ]
  for (const [x, re] of bad)
    assert.throws(
      () => asNodeStatus(x),
      (e: Error) => re.test(e.message) && e.message.startsWith('bad status reply: '),
      JSON.stringify(x),
    )
})

test('an events reply yields the well-formed events of the node asked, and nothing from anything else', () => {
  const e = {time: 1, node: 3, text: 'became leader of term 2'}
  assert.deepEqual(eventsOf({events: [e, {time: 2, node: 4, text: 'x'}, {node: 3}, null, 7]}, 3), [e])
  assert.deepEqual(eventsOf({ok: true}, 3), [])
  assert.deepEqual(eventsOf(null, 3), [])
  assert.deepEqual(eventsOf({events: 'no'}, 3), [])
})

test('one node-id rule: integers from 1 to MAX_NODE_ID, in the cluster file, on the wire and in admin requests', () => {
  for (const ok of [1, 7, MAX_NODE_ID]) assert.equal(isNodeId(ok), true, String(ok))
  for (const no of [0, -1, 1.5, MAX_NODE_ID + 1, '1', null, NaN, Infinity]) assert.equal(isNodeId(no), false, String(no))
  assert.equal(parseRequest({type: 'transfer', to: 3}).ok, true)
  assert.equal(parseRequest({type: 'transfer', to: MAX_NODE_ID + 1}).ok, false)
  assert.equal(parseRequest({type: 'transfer', to: 0}).ok, false)
  const config = {
    version: 1,
    clusterId: 'c',
    createdAt: 'now',
    nodes: [{id: 1, host: '127.0.0.1', port: 7001}],
    electionTimeoutMs: 300,
    heartbeatMs: 50,
    snapshotEvery: 100,
  }
  const dir = mkdtempSync(join(tmpdir(), 'raftctl-ids-'))
  const load = (c: object) => {
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(c))
    return loadCluster(dir)
  }
  try {
    assert.equal(load(config).nodes.length, 1)
    assert.throws(() => load({...config, initialVoters: [1, MAX_NODE_ID + 1]}), /initialVoters/)
    assert.throws(() => load({...config, nodes: [{id: 1.5, host: '127.0.0.1', port: 7001}]}), /node ids must ascend/)
    assert.throws(() => load({...config, nodes: [{id: MAX_NODE_ID + 1, host: '127.0.0.1', port: 7001}]}), /node ids must ascend/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})
