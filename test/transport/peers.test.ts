import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createServer, Socket} from 'node:net'
import {once} from 'node:events'
import type {Message, NodeId} from '../../src/core/types.js'
import {encodeFrame, FrameDecoder} from '../../src/transport/framing.js'
import {authProblem, makeHello, newNonce, verifyAuth, type AuthFrame} from '../../src/transport/handshake.js'
import {LinkFilter} from '../../src/transport/link-filter.js'
import {PeerTransport, type PeerTransportOptions} from '../../src/transport/peers.js'
import {NodeServer} from '../../src/transport/server.js'
import {CLUSTER, heartbeat, sampleMessages, SECRET, sleep, waitFor} from './helpers.js'

interface TestNode {
  id: NodeId
  server: NodeServer
  port: number
  filter: LinkFilter
  received: Message[]
  logs: string[]
  transport: PeerTransport | null
}

async function startNode(id: NodeId, port = 0, existing?: TestNode): Promise<TestNode> {
  const node: TestNode = existing ?? {id, server: null as unknown as NodeServer, port, filter: new LinkFilter(), received: [], logs: [], transport: null}
  node.server = new NodeServer({
    nodeId: id,
    clusterId: CLUSTER,
    secret: SECRET,
    port,
    filter: node.filter,
    log: (l) => node.logs.push(`server: ${l}`),
    onPeerMessage: (_from, m) => node.received.push(m),
  })
  node.port = (await node.server.listen()).port
  return node
}

function connectAll(nodes: TestNode[], extra: Partial<PeerTransportOptions> = {}): void {
  const peers = new Map(nodes.map((n) => [n.id, {host: '127.0.0.1', port: n.port}]))
  for (const n of nodes) {
    n.transport = new PeerTransport({
      nodeId: n.id,
      clusterId: CLUSTER,
      secret: SECRET,
      peers,
      filter: n.filter,
      log: (l) => n.logs.push(`peers: ${l}`),
      backoffMinMs: 20,
      backoffMaxMs: 200,
      ...extra,
    })
  }
}

async function stopAll(nodes: TestNode[]): Promise<void> {
  for (const n of nodes) n.transport?.close()
  await Promise.all(nodes.map((n) => n.server.close()))
}

test('two nodes exchange every kind of Raft message, in order, both ways', async () => {
  const nodes = [await startNode(1), await startNode(2)]
  const [a, b] = nodes as [TestNode, TestNode]
  try {
    connectAll(nodes)
    for (const m of sampleMessages(1, 2)) a.transport!.send(m)
    for (const m of sampleMessages(2, 1)) b.transport!.send(m)
    await waitFor(() => a.received.length === 7 && b.received.length === 7, 2000, 'delivery')
    assert.deepEqual(b.received, sampleMessages(1, 2))
    assert.deepEqual(a.received, sampleMessages(2, 1))
    assert.equal(a.transport!.isConnected(2), true)
    assert.equal(a.server.stats().peerConnections, 1)
  } finally {
    await stopAll(nodes)
  }
})

test('a partition drops peer messages between groups both ways; after heal they flow again', async () => {
  const nodes = [await startNode(1), await startNode(2), await startNode(3)]
  const [n1, n2, n3] = nodes as [TestNode, TestNode, TestNode]
  const heard = (n: TestNode) => n.received.map((m) => m.from).sort()
  /** Everybody sends to everybody; wait until `expected` (node → senders heard) arrives, then a bit for stragglers. */
  const exchange = async (round: number, expected: [number[], number[], number[]]): Promise<void> => {
    for (const n of nodes) n.received.length = 0
    for (const from of nodes) for (const to of nodes) if (from !== to) from.transport!.send(heartbeat(from.id, to.id, round))
    const want = expected.reduce((sum, e) => sum + e.length, 0)
    await waitFor(() => nodes.reduce((sum, n) => sum + n.received.length, 0) >= want, 2000, `round ${round}`)
    await sleep(50)
    nodes.forEach((n, i) => assert.deepEqual(heard(n), expected[i], `round ${round}: node ${n.id} heard`))
  }
  try {
    connectAll(nodes)
    await exchange(1, [
      [2, 3],
      [1, 3],
      [1, 2],
    ])

    // raftctl partition 1 2,3 — every node applies the same rules.
    for (const n of nodes) n.filter.set({groups: [[1], [2, 3]]})
    await exchange(2, [[], [3], [2]])

    // Either end enforces it alone: only node 1 knows about the partition, yet both directions drop
    // (inbound at node 1's server, outbound at node 1's transport).
    n2.filter.heal()
    n3.filter.heal()
    await exchange(3, [[], [3], [2]])
    assert.ok(n1.server.stats().filteredMessages >= 2)
    assert.ok(n1.transport!.stats().filtered >= 2)

    // A one-way cut: 1 → 2 lost, 2 → 1 still arrives.
    n1.filter.set({groups: [], cuts: [{from: 1, to: 2}]})
    await exchange(4, [[2, 3], [3], [1, 2]])

    // raftctl partition --heal
    for (const n of nodes) n.filter.heal()
    await exchange(5, [
      [2, 3],
      [1, 3],
      [1, 2],
    ])
  } finally {
    await stopAll(nodes)
  }
})

test('a restarted node is redialled and receives again', async () => {
  const nodes = [await startNode(1), await startNode(2)]
  const [a, b] = nodes as [TestNode, TestNode]
  try {
    connectAll(nodes)
    a.transport!.send(heartbeat(1, 2, 1))
    await waitFor(() => b.received.length === 1, 2000, 'first delivery')

    // Crash node 2's server; node 1 keeps sending into the void (nothing throws, nothing blocks).
    await b.server.close()
    await waitFor(() => !a.transport!.isConnected(2), 2000, 'node 1 notices')
    for (let i = 0; i < 20; i++) {
      a.transport!.send(heartbeat(1, 2, 2))
      await sleep(10)
    }
    assert.ok(a.transport!.stats().peers[2]!.failures >= 1)

    // Restart node 2 on the same port.
    b.received.length = 0
    await startNode(2, b.port, b)
    a.transport!.send(heartbeat(1, 2, 3))
    await waitFor(() => b.received.some((m) => m.term === 3), 3000, 'delivery after restart')
    assert.equal(a.transport!.isConnected(2), true)
    assert.ok(
      a.logs.some((l) => /lost connection to peer 2/.test(l)),
      a.logs.join('\n'),
    )
    assert.ok(
      a.logs.some((l) => /connected to peer 2/.test(l)),
      a.logs.join('\n'),
    )
  } finally {
    await stopAll(nodes)
  }
})

test('many messages sent in one tick leave in one write', async () => {
  const nodes = [await startNode(1), await startNode(2)]
  const [a, b] = nodes as [TestNode, TestNode]
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>
  const original = {write: proto._write, writev: proto._writev}
  try {
    connectAll(nodes)
    a.transport!.send(heartbeat(1, 2, 1))
    await waitFor(() => b.received.length === 1, 2000, 'connected')
    let writes = 0
    proto._write = function (this: unknown, ...args: unknown[]) {
      writes++
      return original.write.apply(this, args)
    }
    proto._writev = function (this: unknown, ...args: unknown[]) {
      writes++
      return original.writev.apply(this, args)
    }
    for (let i = 0; i < 1000; i++) a.transport!.send(heartbeat(1, 2, 2, i))
    await waitFor(() => b.received.length === 1001, 2000, 'all delivered')
    proto._write = original.write
    proto._writev = original.writev
    assert.ok(writes >= 1 && writes <= 2, `expected one write, saw ${writes}`)
    assert.deepEqual(
      b.received.slice(1).map((m) => (m as {readSeq: number}).readSeq),
      Array.from({length: 1000}, (_, i) => i),
    )
  } finally {
    proto._write = original.write
    proto._writev = original.writev
    await stopAll(nodes)
  }
})

test('a stalled peer costs bounded memory: old messages are dropped, send() never blocks', async () => {
  // A peer that completes the handshake and then never reads again (e.g. SIGSTOPped).
  const stalled = createServer((socket) => {
    socket.on('error', () => {})
    const nonce = newNonce()
    const decoder = new FrameDecoder()
    socket.write(encodeFrame(makeHello(CLUSTER, 2, nonce)))
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk).frames) {
        if (authProblem(frame)) continue
        const verdict = verifyAuth(SECRET, {clusterId: CLUSTER, nodeId: 2, nonce}, frame as AuthFrame)
        if (verdict.ok) {
          socket.write(encodeFrame(verdict.welcome))
          socket.pause()
        }
      }
    })
  })
  stalled.listen(0, '127.0.0.1')
  await once(stalled, 'listening')
  const port = (stalled.address() as {port: number}).port
  const transport = new PeerTransport({
    nodeId: 1,
    clusterId: CLUSTER,
    secret: SECRET,
    peers: {2: {host: '127.0.0.1', port}},
    maxQueuedMessages: 100,
    maxBufferedBytes: 256 * 1024,
  })
  try {
    const big = 'x'.repeat(10_000)
    const append = (i: number): Message => ({
      type: 'AppendEntries',
      from: 1,
      to: 2,
      term: 1,
      prevLogIndex: i,
      prevLogTerm: 1,
      entries: [{term: 1, index: i + 1, type: 'normal', data: big}],
      leaderCommit: 0,
      readSeq: 0,
    })
    let offered = 0
    const send = (m: Message): void => {
      offered++
      transport.send(m)
    }
    await waitFor(
      () => {
        send(heartbeat(1, 2))
        return transport.isConnected(2)
      },
      2000,
      'connected',
    )
    const started = Date.now()
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 100; i++) send(append(round * 100 + i))
      await sleep(5)
    }
    assert.ok(Date.now() - started < 2000, 'send() does not block')
    const s = transport.stats()
    const peer = s.peers[2]!
    // 30 MB were offered; this process holds at most the queue bound and the buffer bound.
    assert.ok(peer.queued <= 100, `queued ${peer.queued}`)
    assert.ok(peer.bufferedBytes <= 256 * 1024 + 20_000, `buffered ${peer.bufferedBytes}`)
    assert.ok(peer.dropped > 0, 'something had to give')
    // Every message offered is accounted for exactly once: written, dropped or still queued.
    assert.equal(peer.sent + peer.dropped + peer.queued, offered)
  } finally {
    transport.close()
    stalled.close()
  }
})

test('send() never throws: unknown peer, unencodable message, closed transport; wrong node at an address is refused', async () => {
  const nodes = [await startNode(1), await startNode(2)]
  const [a, b] = nodes as [TestNode, TestNode]
  // Node 1 believes node 3 lives at node 2's address.
  const transport = new PeerTransport({
    nodeId: 1,
    clusterId: CLUSTER,
    secret: SECRET,
    peers: {2: {host: '127.0.0.1', port: b.port}, 3: {host: '127.0.0.1', port: b.port}},
    log: (l) => a.logs.push(l),
    backoffMinMs: 20,
    backoffMaxMs: 100,
  })
  try {
    transport.send(heartbeat(1, 9))
    const circular: Record<string, unknown> = {}
    circular['self'] = circular
    transport.send({...heartbeat(1, 2), entries: [{term: 1, index: 1, type: 'normal', data: circular}]})
    transport.send(heartbeat(1, 2, 4))
    transport.send(heartbeat(1, 3, 4))
    await waitFor(() => b.received.length === 1, 2000, 'the good message')
    assert.equal(b.received[0]!.term, 4)
    await waitFor(() => a.logs.some((l) => /peer 3 unreachable: .* is node 2, expected node 3/.test(l)), 2000, 'refused wrong node')
    assert.equal(transport.isConnected(3), false)
    transport.close()
    transport.send(heartbeat(1, 2, 5))
    assert.ok(transport.stats().dropped >= 3)
  } finally {
    transport.close()
    await stopAll(nodes)
  }
})

test('a faulty link delays, loses and duplicates what it carries, one direction only', async () => {
  const nodes = [await startNode(1), await startNode(2)]
  const [a, b] = nodes as [TestNode, TestNode]
  try {
    connectAll(nodes)
    // Warm up the connections, then slow 1 -> 2 only.
    a.transport!.send(heartbeat(1, 2))
    b.transport!.send(heartbeat(2, 1))
    await waitFor(() => a.received.length === 1 && b.received.length === 1, 2000, 'warm-up')
    a.filter.set({groups: [], links: [{from: 1, to: 2, delayMs: 150}]})
    b.filter.set(a.filter.rules())
    const sent = performance.now()
    a.transport!.send(heartbeat(1, 2, 2))
    b.transport!.send(heartbeat(2, 1, 2))
    await waitFor(() => a.received.length === 2, 1000, 'the undelayed direction')
    assert.ok(performance.now() - sent < 120, 'the other direction is not delayed')
    assert.equal(b.received.length, 1, 'the delayed message is not there yet')
    await waitFor(() => b.received.length === 2, 2000, 'the delayed message')
    assert.ok(performance.now() - sent >= 145, `arrived after ${performance.now() - sent} ms`)
    // Everything lost, then everything twice.
    a.filter.set({groups: [], links: [{from: 1, to: 2, loss: 1}]})
    for (let i = 0; i < 20; i++) a.transport!.send(heartbeat(1, 2, 3))
    a.filter.set({groups: [], links: [{from: 1, to: 2, duplicate: 1}]})
    a.transport!.send(heartbeat(1, 2, 4))
    await waitFor(() => b.received.length === 4, 2000, 'both copies')
    await sleep(50)
    assert.deepEqual(
      b.received.slice(2).map((m) => m.term),
      [4, 4],
    )
    const stats = a.transport!.stats()
    assert.equal(stats.filtered, 20)
    assert.equal(stats.duplicated, 1)
  } finally {
    await stopAll(nodes)
  }
})
