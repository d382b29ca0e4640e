// Messages larger than one frame (an InstallSnapshot of a large state) travel as ordered parts
// and are reassembled by the receiving node; broken part sequences close the connection.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import type {InstallSnapshot, Message} from '../../src/core/types.js'
import {encodePeerFrames, PartAssembler, partBytes} from '../../src/transport/framing.js'
import {PeerTransport} from '../../src/transport/peers.js'
import {NodeServer} from '../../src/transport/server.js'
import {CLUSTER, SECRET, waitFor} from './helpers.js'

const MAX_FRAME = 64 * 1024

function bigSnapshot(bytes: number): InstallSnapshot {
  const value = 'x'.repeat(1000)
  const data: [string, string][] = []
  for (let i = 0; i * 1000 < bytes; i++) data.push([`key-${i}`, value])
  return {type: 'InstallSnapshot', from: 1, to: 2, term: 3, snapshot: {lastIncludedIndex: 500, lastIncludedTerm: 2, data: {data, sessions: []}}}
}

test('an InstallSnapshot ten times the frame limit reaches the peer intact, in parts', async () => {
  const received: Message[] = []
  const server = new NodeServer({nodeId: 2, clusterId: CLUSTER, secret: SECRET, port: 0, maxFrameBytes: MAX_FRAME, onPeerMessage: (_f, m) => received.push(m)})
  const {port} = await server.listen()
  const transport = new PeerTransport({nodeId: 1, clusterId: CLUSTER, secret: SECRET, peers: {2: {host: '127.0.0.1', port}}, maxFrameBytes: MAX_FRAME})
  try {
    const msg = bigSnapshot(10 * MAX_FRAME)
    assert.ok(encodePeerFrames({k: 'raft', msg}, MAX_FRAME).length >= 10, 'the message is split')
    transport.send(msg)
    transport.send({type: 'TimeoutNow', from: 1, to: 2, term: 3})
    await waitFor(() => received.length === 2, 5000, 'both messages')
    assert.deepEqual(received[0], msg)
    assert.equal(received[1]!.type, 'TimeoutNow', 'a later message follows the parts in order')
    assert.equal(server.stats().badFrames, 0)
  } finally {
    transport.close()
    await server.close()
  }
})

test('parts out of order, of a changing count or without bytes are refused', () => {
  const frames = (n: number) => Array.from({length: n}, (_, i) => ({k: 'part', i, n, bytes: new Uint8Array(10)}))
  assert.throws(() => new PartAssembler(MAX_FRAME).push({...frames(3)[1]!}), /out of order/)
  const a = new PartAssembler(MAX_FRAME)
  a.push(frames(3)[0]!)
  assert.throws(() => a.push({k: 'part', i: 1, n: 4, bytes: new Uint8Array(10)}), /count changed/)
  assert.throws(() => new PartAssembler(MAX_FRAME).push({k: 'part', i: 0, n: 2, bytes: 'nope'}), /without bytes/)
  assert.throws(() => new PartAssembler(MAX_FRAME).push({k: 'part', i: 0, n: 1e12, bytes: new Uint8Array(1)}), /part count/)
  assert.ok(partBytes(MAX_FRAME) <= MAX_FRAME / 2)
})
