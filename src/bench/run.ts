// One `raftctl bench` run against a cluster directory: checks the cluster is up and has a leader,
// makes C ClusterClients (each its own client session and connection: a session allows one write
// in flight, so closed-loop clients cannot share one), warms each up with one uncounted operation
// (connects, finds the leader), runs the closed loop for the duration, and meanwhile polls every
// node's status to count leader changes. Returns the summary document and the first errors.
import {ClusterClient} from '../client/cluster-client.js'
import {loadCluster, raftctl, readSecret, type ClusterConfig} from '../cluster/config.js'
import {waitForLeader} from '../cluster/service.js'
import {agreedLeader, nodeStatuses} from '../cluster/status.js'
import {operationalError} from '../lib/errors.js'
import type {NodeStatus} from '../server/protocol.js'
import {ClientConnection} from '../transport/client.js'
import {benchKey, benchValue, closedLoop, pickOp, type BenchOp} from './loop.js'
import {ProgressReporter, type ProgressStream} from './progress.js'
import {LeaderChangeCounter, summarize, type BenchResult} from './stats.js'

export interface BenchOptions {
  dir: string
  clients: number
  durationMs: number
  valueSize: number
  keys: number
  op: BenchOp
  /** Per operation; a timed-out operation counts as an error. */
  timeoutMs: number
  /** Where progress goes (stderr), and the environment that decides bar or lines. */
  progress?: {stream: ProgressStream; env: NodeJS.ProcessEnv}
  /** Called once the measured loop runs, with a function that ends it early (e.g. on Ctrl-C). */
  onStart?: (stop: () => void) => void
}

export interface BenchRun {
  result: BenchResult
  config: ClusterConfig
  errorSamples: string[]
}

export async function runBench(o: BenchOptions): Promise<BenchRun> {
  const config = loadCluster(o.dir)
  const secret = readSecret(o.dir)
  const statuses = await nodeStatuses(config, secret, 1000)
  if (statuses.every((s) => s === null)) {
    throw operationalError(`no node of the cluster in ${o.dir} is running`, `start it: ${raftctl(o.dir, 'start')}`, 'not-running')
  }
  const initial = await waitForLeader(o.dir, config, o.timeoutMs)

  const nodes = config.nodes.map((n) => ({id: n.id, host: n.host, port: n.port}))
  const pool = Array.from(
    {length: o.clients},
    () => new ClusterClient({nodes, clusterId: config.clusterId, secret, startAt: initial.leader ?? undefined}),
  )
  const values = pool.map(() => benchValue(o.valueSize))
  const one = async (c: number) => {
    const client = pool[c]!
    const key = benchKey(o.keys)
    if (pickOp(o.op) === 'get') {
      await client.get(key, {timeoutMs: o.timeoutMs})
      return
    }
    const out = await client.put(key, values[c]!, o.timeoutMs)
    if (out.result.status !== 'ok') throw new Error(`write refused: ${out.result.status}`)
  }

  const watch = new LeaderChangeCounter()
  watch.observe(initial.leader, initial.term)
  try {
    await Promise.all(pool.map((_, c) => one(c).catch(() => {})))
    const progress = o.progress ? new ProgressReporter(o.progress.stream, o.progress.env) : null
    const loop = closedLoop({
      clients: o.clients,
      durationMs: o.durationMs,
      op: one,
      onProgress: progress ? (s) => progress.update(s) : undefined,
      progressEveryMs: progress?.intervalMs,
    })
    o.onStart?.(loop.stop)
    let polling = true
    const poller = pollLeader(config, secret, watch, () => polling)
    const r = await loop.result
    polling = false
    await poller
    progress?.done()
    return {result: summarize(r.latencies, r.elapsedMs, r.errors, watch.changes), config, errorSamples: r.errorSamples}
  } finally {
    await Promise.all(pool.map((c) => c.close()))
  }
}

/**
 * Polls every node's status every ~200 ms while `active()` and feeds the agreed leader to `watch`.
 * Keeps one connection per node (reconnecting when one fails) so polling costs the replicas a
 * request, not a TCP connect and handshake, each time.
 */
async function pollLeader(config: ClusterConfig, secret: string, watch: LeaderChangeCounter, active: () => boolean): Promise<void> {
  const conns = new Map<number, Promise<ClientConnection>>()
  const status = async (id: number): Promise<NodeStatus | null> => {
    let conn = conns.get(id)
    if (!conn) {
      const n = config.nodes[id - 1]!
      conn = ClientConnection.connect({host: n.host, port: n.port, clusterId: config.clusterId, secret, timeoutMs: 500, expectNodeId: id})
      conns.set(id, conn)
    }
    try {
      return (await (await conn).request({type: 'status'}, 500)) as NodeStatus
    } catch {
      conns.delete(id)
      conn.then((c) => c.close()).catch(() => {})
      return null
    }
  }
  try {
    while (active()) {
      const started = Date.now()
      const statuses = await Promise.all(config.nodes.map((n) => status(n.id)))
      const leader = agreedLeader(statuses)
      watch.observe(leader, leader !== null ? statuses[leader - 1]!.term : null)
      const wait = 200 - (Date.now() - started)
      for (let waited = 0; waited < wait && active(); waited += 20) await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    await Promise.all([...conns.values()].map((p) => p.then((c) => c.close()).catch(() => {})))
  }
}
