// The dashboard's data source against fake nodes (real NodeServers on 127.0.0.1 that answer the
// admin requests): status polls, the event stream and its fallback, and how fast a dead node
// shows as down versus a merely slow one.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {ClusterConfig} from '../../src/clusterdir/config.js'
import type {NodeEvent} from '../../src/protocol/events.js'
import type {NodeStatus} from '../../src/protocol/protocol.js'
import {NodeServer, type RequestContext} from '../../src/transport/server.js'
import {ClusterSource} from '../../src/ui/cluster-source.js'

const CLUSTER_ID = 'c-dash-test'
const SECRET = 'secret-for-the-dashboard-tests'

class FakeNode {
  server!: NodeServer
  port = 0
  delayMs = 0
  subscribe = true
  events: NodeEvent[] = []
  subscribers = new Set<RequestContext>()
  requests: string[] = []

  constructor(readonly id: number) {}

  async start(port = 0): Promise<this> {
    this.server = new NodeServer({nodeId: this.id, clusterId: CLUSTER_ID, secret: SECRET, port, onRequest: (b, ctx) => this.handle(b, ctx)})
    this.port = (await this.server.listen()).port
    return this
  }

  emit(text: string): void {
    const event = {time: Date.now(), node: this.id, text}
    this.events.push(event)
    for (const s of this.subscribers) s.push({type: 'event', event})
  }

  private async handle(body: unknown, ctx: RequestContext): Promise<unknown> {
    const req = body as {type: string; limit?: number}
    this.requests.push(req.type)
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs))
    switch (req.type) {
      case 'status':
        return this.status()
      case 'events':
        return {events: this.events.slice(-(req.limit ?? 200))}
      case 'subscribe':
        if (!this.subscribe) throw Object.assign(new Error('unknown request type "subscribe"'), {code: 'bad-request'})
        this.subscribers.add(ctx)
        ctx.onClose(() => this.subscribers.delete(ctx))
        return {ok: true}
      default:
        throw new Error(`unexpected ${req.type}`)
    }
  }

  status(): NodeStatus {
    return {
      id: this.id,
      pid: 1000 + this.id,
      role: this.id === 1 ? 'leader' : 'follower',
      term: 3,
      leader: 1,
      lastIndex: 5,
      commitIndex: 5,
      appliedIndex: 5,
      snapshotIndex: 0,
      group: 1,
      partition: null,
      badFrames: 0,
      authFailures: 0,
      keys: 0,
      uptimeMs: 1,
    }
  }
}

function configFor(nodes: {id: number; port: number}[]): ClusterConfig {
  return {
    version: 1,
    clusterId: CLUSTER_ID,
    createdAt: new Date().toISOString(),
    nodes: nodes.map((n) => ({id: n.id, host: '127.0.0.1', port: n.port})),
    electionTimeoutMs: 300,
    heartbeatMs: 50,
    snapshotEvery: 10_000,
  }
}

async function freePort(): Promise<number> {
  const probe = await new FakeNode(9).start()
  const port = probe.port
  await probe.server.close()
  return port
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function scenario() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'raftctl-source-'))
  const cleanups: (() => Promise<unknown> | void)[] = [() => rmSync(dir, {recursive: true, force: true})]
  return {
    dir,
    later: (f: () => Promise<unknown> | void) => cleanups.unshift(f),
    done: async () => {
      for (const f of cleanups) await f()
    },
  }
}

test('polls status over one connection per node; a node with nothing listening is down; events arrive backfilled, then pushed', async () => {
  const sc = scenario()
  try {
    const n1 = await new FakeNode(1).start()
    sc.later(() => n1.server.close())
    n1.emit('became leader of term 3')
    const config = configFor([
      {id: 1, port: n1.port},
      {id: 2, port: await freePort()},
    ])
    const source = new ClusterSource(sc.dir, config, SECRET, 500)
    sc.later(() => source.close())
    const events: NodeEvent[] = []
    source.onEvents((e) => events.push(...e))

    const first = await source.poll()
    assert.equal(first.leader, 1)
    assert.deepEqual(
      first.nodes.map((n) => [n.id, n.role, n.up]),
      [
        [1, 'leader', true],
        [2, 'down', false],
      ],
    )
    await waitFor('the backfill', () => events.some((e) => e.text === 'became leader of term 3'))
    await waitFor('the subscription', () => n1.subscribers.size === 1)
    n1.emit('snapshot taken at 10')
    await waitFor('the pushed event', () => events.some((e) => e.text === 'snapshot taken at 10'))

    await source.poll()
    await source.poll()
    assert.equal(n1.requests.filter((r) => r === 'events').length, 1, 'a subscribed node is not polled for events')
    assert.equal(n1.requests.filter((r) => r === 'status').length, 3)
  } finally {
    await sc.done()
  }
})

test('a node that dies is reported at once (onChange) and polls as down; it is re-dialled when it is back', async () => {
  const sc = scenario()
  try {
    let n1 = await new FakeNode(1).start()
    const port = n1.port
    sc.later(() => n1.server.close())
    const source = new ClusterSource(sc.dir, configFor([{id: 1, port}]), SECRET, 500)
    sc.later(() => source.close())
    let changes = 0
    source.onChange(() => changes++)
    assert.equal((await source.poll()).nodes[0]!.up, true)

    await n1.server.close()
    await waitFor('the change report', () => changes === 1, 1000)
    const started = Date.now()
    assert.equal((await source.poll()).nodes[0]!.up, false)
    assert.ok(Date.now() - started < 400, 'a refused connection is not waited for')

    n1 = await new FakeNode(1).start(port)
    assert.equal((await source.poll()).nodes[0]!.up, true)
  } finally {
    await sc.done()
  }
})

test('one slow answer keeps the last status; a second in a row shows the node down', async () => {
  const sc = scenario()
  try {
    const n1 = await new FakeNode(1).start()
    sc.later(() => n1.server.close())
    const source = new ClusterSource(sc.dir, configFor([{id: 1, port: n1.port}]), SECRET, 100)
    sc.later(() => source.close())
    assert.equal((await source.poll()).nodes[0]!.up, true)
    n1.delayMs = 300
    assert.equal((await source.poll()).nodes[0]!.up, true, 'one late answer is not yet a dead node')
    assert.equal((await source.poll()).nodes[0]!.up, false, 'two are')
    n1.delayMs = 0
    assert.equal((await source.poll()).nodes[0]!.up, true)
  } finally {
    await sc.done()
  }
})

test('a node without `subscribe` has its events polled with each status', async () => {
  const sc = scenario()
  try {
    const n1 = await new FakeNode(1).start()
    n1.subscribe = false
    sc.later(() => n1.server.close())
    const source = new ClusterSource(sc.dir, configFor([{id: 1, port: n1.port}]), SECRET, 500)
    sc.later(() => source.close())
    const events: NodeEvent[] = []
    source.onEvents((e) => events.push(...e))
    await source.poll()
    await waitFor('the fallback decided', () => n1.requests.includes('subscribe') && n1.requests.includes('events'))
    n1.emit('election started for term 4')
    await source.poll()
    assert.ok(
      events.some((e) => e.text === 'election started for term 4'),
      'the event came with the poll',
    )
  } finally {
    await sc.done()
  }
})
