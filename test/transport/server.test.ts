import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:net'
import {once} from 'node:events'
import {Prng} from '../../src/lib/prng.js'
import {ClientConnection} from '../../src/transport/client.js'
import {TransportError} from '../../src/transport/errors.js'
import {encodeFrame, FrameDecoder} from '../../src/transport/framing.js'
import {makeHello, newNonce, PROTOCOL_VERSION} from '../../src/transport/handshake.js'
import type {RequestContext} from '../../src/transport/server.js'
import {CLUSTER, heartbeat, RawConn, SECRET, sleep, startServer, waitFor} from './helpers.js'

const connectClient = (port: number, over: {clusterId?: string; secret?: string} = {}) =>
  ClientConnection.connect({host: '127.0.0.1', port, clusterId: over.clusterId ?? CLUSTER, secret: over.secret ?? SECRET, timeoutMs: 1000})

const isTransportError = (code: string, message?: RegExp) => (e: unknown) =>
  e instanceof TransportError && e.code === code && (!message || message.test(e.message))

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

test('the right cluster id and secret authenticate and get answers', async () => {
  const {server, port} = await startServer()
  const client = await connectClient(port)
  try {
    assert.equal(client.serverNodeId, 1)
    assert.deepEqual(await client.request({op: 'ping'}), {echo: {op: 'ping'}})
    assert.equal(server.stats().clientConnections, 1)
  } finally {
    await client.close()
    await server.close()
  }
})

test('a wrong secret is refused: the client gets an auth error, the server counts it', async () => {
  const {server, port, logs} = await startServer()
  try {
    await assert.rejects(connectClient(port, {secret: 'not-the-secret'}), isTransportError('auth', /refused.*wrong cluster secret/))
    await waitFor(() => server.stats().authFailures === 1, 1000, 'auth failure counted')
    assert.ok(
      logs.some((l) => /^auth failure from 127\.0\.0\.1:\d+: wrong cluster secret$/.test(l)),
      logs.join('\n'),
    )
  } finally {
    await server.close()
  }
})

test('a node of another cluster is refused, and the server hears about it', async () => {
  const {server, port} = await startServer()
  try {
    await assert.rejects(connectClient(port, {clusterId: 'other-cluster'}), isTransportError('auth', /cluster c-test, not of cluster other-cluster/))
    await waitFor(() => server.stats().authFailures === 1, 1000, 'auth failure counted')

    // A client that insists (sends its auth frame anyway) is refused by the server with an error frame.
    const raw = await RawConn.open(port)
    try {
      const answer = await raw.handshake({role: 'client', clusterId: 'other-cluster'})
      assert.deepEqual(Object.keys(answer as object).sort(), ['error', 'message'])
      assert.equal((answer as {error: string}).error, 'auth')
      assert.match((answer as {message: string}).message, /wrong cluster id/)
      assert.ok(await raw.closesWithin(1000))
      assert.equal(server.stats().authFailures, 2)
    } finally {
      raw.destroy()
    }
  } finally {
    await server.close()
  }
})

test('mutual: a server that does not hold the secret is refused by the client', async () => {
  // A fake node: right cluster id in its hello, but it cannot compute the server proof.
  const fake: Server = createServer((socket) => {
    socket.on('error', () => {})
    const decoder = new FrameDecoder()
    socket.write(encodeFrame(makeHello(CLUSTER, 7, newNonce())))
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk).frames) {
        if ((frame as {k?: string}).k === 'auth') socket.write(encodeFrame({k: 'welcome', v: PROTOCOL_VERSION, mac: newNonce()}))
      }
    })
  })
  fake.listen(0, '127.0.0.1')
  await once(fake, 'listening')
  const port = (fake.address() as {port: number}).port
  try {
    await assert.rejects(connectClient(port), isTransportError('auth', /did not prove it holds the cluster secret/))
  } finally {
    fake.close()
  }
  // And a real node with a different secret refuses us before it gets that far.
  const {server, port: port2} = await startServer({secret: 'another-secret'})
  try {
    await assert.rejects(connectClient(port2), isTransportError('auth'))
  } finally {
    await server.close()
  }
})

test('peers: a peer cannot claim our own id or an id outside the cluster', async () => {
  const {server, port} = await startServer({peerIds: [2, 3]})
  try {
    for (const nodeId of [1, 9]) {
      const raw = await RawConn.open(port)
      try {
        const answer = (await raw.handshake({role: 'peer', nodeId})) as {error: string; message: string}
        assert.equal(answer.error, 'auth')
        assert.ok(await raw.closesWithin(1000))
      } finally {
        raw.destroy()
      }
    }
    assert.equal(server.stats().authFailures, 2)
    const raw = await RawConn.open(port)
    try {
      assert.equal(((await raw.handshake({role: 'peer', nodeId: 3})) as {k: string}).k, 'welcome')
    } finally {
      raw.destroy()
    }
  } finally {
    await server.close()
  }
})

test('fuzz: garbage of every kind closes only its own connection; the node keeps serving', async () => {
  const received: unknown[] = []
  const {server, port, logs} = await startServer({handshakeTimeoutMs: 300, onPeerMessage: (_from, m) => received.push(m)})
  const before = {badFrames: 0, authFailures: 0, handshakeTimeouts: 0}
  const counted = () => {
    const s = server.stats()
    return s.badFrames + s.authFailures + s.handshakeTimeouts - (before.badFrames + before.authFailures + before.handshakeTimeouts)
  }
  type Case = {name: string; auth?: 'client' | 'peer'; run: (raw: RawConn) => void; counter: 'badFrames' | 'authFailures' | 'handshakeTimeouts' | 'any'}
  const rand = new Prng(2024)
  const randomBytes = (n: number) => Buffer.from(Array.from({length: n}, () => rand.int(0, 255)))
  const cases: Case[] = [
    // Before / without the handshake.
    {name: 'random bytes instead of a handshake', run: (r) => r.write(randomBytes(200)), counter: 'any'},
    {name: 'random bytes instead of a handshake (2)', run: (r) => r.write(randomBytes(7)), counter: 'any'},
    {name: '4 GiB length prefix before auth', run: (r) => r.write(lengthPrefix(0xffffffff)), counter: 'badFrames'},
    {name: 'request before the handshake', run: (r) => r.send({k: 'req', id: 1, body: 'hi'}), counter: 'authFailures'},
    {name: 'raft message before the handshake', run: (r) => r.send({k: 'raft', msg: heartbeat(2, 1)}), counter: 'authFailures'},
    {name: 'wrong-shape auth frame', run: (r) => r.send({k: 'auth', v: 1, clusterId: CLUSTER, role: 'admin'}), counter: 'authFailures'},
    {name: 'nothing at all', run: () => {}, counter: 'handshakeTimeouts'},
    {
      name: 'truncated frame, then end of stream',
      run: (r) => (r.write(Buffer.concat([lengthPrefix(100), randomBytes(10)])), r.socket.end()),
      counter: 'badFrames',
    },
    // After authenticating as a client.
    {name: 'random bytes after auth', auth: 'client', run: (r) => r.write(Buffer.concat([lengthPrefix(50), randomBytes(50)])), counter: 'any'},
    {
      name: 'malformed MessagePack after auth',
      auth: 'client',
      run: (r) => r.write(Buffer.concat([lengthPrefix(2), Buffer.from([0x92, 0x01])])),
      counter: 'badFrames',
    },
    {name: '4 GiB length prefix after auth', auth: 'client', run: (r) => r.write(lengthPrefix(0xffffffff)), counter: 'badFrames'},
    {name: '17 MiB length prefix after auth', auth: 'client', run: (r) => r.write(lengthPrefix(17 * 1024 * 1024)), counter: 'badFrames'},
    {
      name: 'truncated frame after auth',
      auth: 'client',
      run: (r) => (r.write(Buffer.concat([lengthPrefix(1000), randomBytes(100)])), r.socket.end()),
      counter: 'badFrames',
    },
    {name: 'request without id', auth: 'client', run: (r) => r.send({k: 'req', body: 1}), counter: 'badFrames'},
    {name: 'unknown envelope', auth: 'client', run: (r) => r.send({k: 'nope'}), counter: 'badFrames'},
    {name: 'a bare array', auth: 'client', run: (r) => r.send([1, 2, 3]), counter: 'badFrames'},
    {name: 'raft message on a client connection', auth: 'client', run: (r) => r.send({k: 'raft', msg: heartbeat(2, 1)}), counter: 'badFrames'},
    // After authenticating as peer 2.
    {name: 'unknown message type', auth: 'peer', run: (r) => r.send({k: 'raft', msg: {type: 'Bogus', from: 2, to: 1, term: 1}}), counter: 'badFrames'},
    {
      name: 'message missing fields',
      auth: 'peer',
      run: (r) => r.send({k: 'raft', msg: {type: 'AppendEntries', from: 2, to: 1, term: 1}}),
      counter: 'badFrames',
    },
    {name: 'negative term', auth: 'peer', run: (r) => r.send({k: 'raft', msg: {...heartbeat(2, 1), term: -1}}), counter: 'badFrames'},
    {name: 'fractional index', auth: 'peer', run: (r) => r.send({k: 'raft', msg: {...heartbeat(2, 1), prevLogIndex: 1.5}}), counter: 'badFrames'},
    {name: 'entries not an array', auth: 'peer', run: (r) => r.send({k: 'raft', msg: {...heartbeat(2, 1), entries: {0: 1}}}), counter: 'badFrames'},
    {
      name: 'bad entry',
      auth: 'peer',
      run: (r) => r.send({k: 'raft', msg: {...heartbeat(2, 1), entries: [{term: 1, index: 1, type: 'weird'}]}}),
      counter: 'badFrames',
    },
    {name: 'spoofed from', auth: 'peer', run: (r) => r.send({k: 'raft', msg: heartbeat(3, 1)}), counter: 'badFrames'},
    {name: 'addressed to another node', auth: 'peer', run: (r) => r.send({k: 'raft', msg: heartbeat(2, 5)}), counter: 'badFrames'},
    {name: 'request on a peer connection', auth: 'peer', run: (r) => r.send({k: 'req', id: 1, body: 1}), counter: 'badFrames'},
  ]
  // More random soup, after auth, from a seed.
  for (let i = 0; i < 10; i++) {
    cases.push({
      name: `random soup #${i}`,
      auth: i % 2 ? 'peer' : 'client',
      run: (r) => r.write(Buffer.concat([lengthPrefix(rand.int(1, 64)), randomBytes(64)])),
      counter: 'any',
    })
  }
  try {
    for (const c of cases) {
      Object.assign(before, server.stats())
      const raw = await RawConn.open(port)
      try {
        if (c.auth) {
          const welcome = (await raw.handshake({role: c.auth, nodeId: 2})) as {k: string}
          assert.equal(welcome.k, 'welcome', c.name)
        }
        c.run(raw)
        assert.ok(await raw.closesWithin(2000), `${c.name}: connection should close`)
        await waitFor(() => counted() > 0, 1000, `${c.name}: a counter`)
        if (c.counter !== 'any') {
          const s = server.stats()
          assert.equal(s[c.counter], before[c.counter] + 1, `${c.name}: ${c.counter}`)
        }
      } finally {
        raw.destroy()
      }
    }
    assert.deepEqual(received, [], 'nothing bad reached onPeerMessage')
    assert.ok(
      logs.some((l) => /^bad frame from 127\.0\.0\.1:\d+: oversized frame \(4294967295 bytes/.test(l)),
      logs.join('\n'),
    )
    assert.ok(
      logs.some((l) => /^bad frame from peer 2 \(127\.0\.0\.1:\d+\): unknown message type "Bogus"$/.test(l)),
      logs.join('\n'),
    )
    assert.ok(logs.some((l) => /^handshake timeout from 127\.0\.0\.1:\d+/.test(l)))

    // The node is still fine: a proper client authenticates and gets answers, a proper peer delivers.
    const client = await connectClient(port)
    try {
      assert.deepEqual(await client.request('still there?'), {echo: 'still there?'})
    } finally {
      await client.close()
    }
    const peer = await RawConn.open(port)
    try {
      await peer.handshake({role: 'peer', nodeId: 2})
      peer.send({k: 'raft', msg: heartbeat(2, 1, 5)})
      await waitFor(() => received.length === 1, 1000, 'valid peer message')
      assert.deepEqual(received[0], heartbeat(2, 1, 5))
    } finally {
      peer.destroy()
    }
    await waitFor(() => server.stats().connections === 0, 1000, 'all connections gone')
  } finally {
    await server.close()
  }
})

test('requests: many in flight, answered in completion order; handler errors come back typed', async () => {
  const {server, port} = await startServer({
    onRequest: async (body) => {
      const b = body as {delayMs?: number; fail?: string; value?: unknown}
      if (b.delayMs) await sleep(b.delayMs)
      if (b.fail) throw Object.assign(new Error(`failed: ${b.fail}`), {code: b.fail})
      return b.value
    },
  })
  const client = await connectClient(port)
  try {
    const order: number[] = []
    const requests = [80, 10, 40, 0].map((delayMs, i) =>
      client.request({delayMs, value: i}).then((v) => {
        order.push(v as number)
        return v
      }),
    )
    assert.deepEqual(await Promise.all(requests), [0, 1, 2, 3])
    assert.deepEqual(order, [3, 1, 2, 0])
    await assert.rejects(
      client.request({fail: 'not-leader'}),
      (e: unknown) => e instanceof TransportError && e.code === 'remote' && e.remoteCode === 'not-leader',
    )
    await assert.rejects(client.request({delayMs: 300}, 50), isTransportError('timeout'))
    // The late answer to the timed-out request is ignored; the connection keeps working.
    assert.equal(await client.request({value: 'after'}), 'after')
    assert.equal(client.inflight, 0)
  } finally {
    await client.close()
    await server.close()
  }
})

test('events: a subscribed client receives pushed events until it goes away', async () => {
  const subscribers = new Set<RequestContext>()
  let closedSubscriptions = 0
  const {server, port} = await startServer({
    onRequest: (body, ctx) => {
      if (body === 'subscribe') {
        subscribers.add(ctx)
        ctx.onClose(() => {
          subscribers.delete(ctx)
          closedSubscriptions++
        })
        return 'subscribed'
      }
      return null
    },
  })
  const client = await connectClient(port)
  try {
    const events: unknown[] = []
    client.subscribe((e) => events.push(e))
    assert.equal(await client.request('subscribe'), 'subscribed')
    for (const ctx of subscribers) for (let i = 0; i < 3; i++) assert.equal(ctx.push({type: 'leader', term: i}), true)
    await waitFor(() => events.length === 3, 1000, 'events')
    assert.deepEqual(
      events,
      [0, 1, 2].map((term) => ({type: 'leader', term})),
    )
    await client.close()
    await waitFor(() => closedSubscriptions === 1, 1000, 'subscription dropped')
    assert.equal(subscribers.size, 0)
  } finally {
    await client.close()
    await server.close()
  }
})

test('closing the server rejects pending requests with a closed error', async () => {
  const {server, port} = await startServer({onRequest: () => new Promise(() => {})})
  const client = await connectClient(port)
  try {
    const pending = client.request('never answered', 5000)
    await sleep(20)
    await server.close()
    await assert.rejects(pending, isTransportError('closed'))
    await assert.rejects(client.request('after'), isTransportError('closed'))
  } finally {
    await client.close()
    await server.close()
  }
})

test('connect errors are typed: refused port, silent server (timeout)', async () => {
  const {server, port} = await startServer()
  await server.close()
  await assert.rejects(connectClient(port), isTransportError('connect', /ECONNREFUSED/))
  const silent = createServer((s) => s.on('error', () => {}))
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  try {
    const p = ClientConnection.connect({host: '127.0.0.1', port: (silent.address() as {port: number}).port, clusterId: CLUSTER, secret: SECRET, timeoutMs: 100})
    await assert.rejects(p, isTransportError('timeout'))
  } finally {
    silent.close()
  }
})

test('a port in use rejects listen() with a clear error', async () => {
  const {server, port} = await startServer()
  const {NodeServer} = await import('../../src/transport/server.js')
  const second = new NodeServer({nodeId: 2, clusterId: CLUSTER, secret: SECRET, port})
  try {
    await assert.rejects(
      second.listen(),
      isTransportError('listen', new RegExp(`node 2 cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`)),
    )
  } finally {
    await second.close()
    await server.close()
  }
})
