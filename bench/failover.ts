// Failover time of raftctl: SIGKILL the leader, then poll every surviving node's status every
// ~10 ms (one persistent connection per node) until they all agree on a new leader (same leader,
// same term, the leader among the survivors and claiming leadership). Then restart the killed node,
// wait until it follows again, settle, and repeat. Also times `raftctl start --nodes N` (fresh
// cluster, until it returns with a leader), which is how the cluster is created.
//
//   node --import tsx bench/failover.ts [--nodes 3] [--trials 10] [--settle 1s] [--json]
//
// Creates its own cluster in a temp dir on free 127.0.0.1 ports with the default timing
// (election timeout 300 ms randomised in [300, 600), heartbeat 50 ms), stops every replica it
// started and removes the dir on exit, also on failure or Ctrl-C.
import {execa} from 'execa'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {loadCluster, readSecret, type ClusterConfig} from '../src/clusterdir/config.js'
import {percentile} from '../src/bench/index.js'
import {parseDuration} from '../src/lib/duration.js'
import type {NodeStatus} from '../src/protocol/protocol.js'
import {ClientConnection} from '../src/transport/client.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const RUN_JS = path.join(ROOT, 'bin/run.js')

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function cli(args: string[]): Promise<{exitCode: number; stdout: string; stderr: string; ms: number}> {
  const t0 = performance.now()
  const r = await execa(process.execPath, [RUN_JS, ...args], {cwd: ROOT, reject: false, stdin: 'ignore', env: {NO_COLOR: '1', RAFTCTL_DIR: ''}})
  return {exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - t0}
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen({host: '127.0.0.1', port, exclusive: true}, () => srv.close(() => resolve(true)))
  })
}

async function freeBasePort(n: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 9_900)
    let ok = true
    for (let i = 1; i <= n && ok; i++) ok = await portFree(base + i)
    if (ok) return base
  }
}

/** Status of each node over one persistent connection per node; null when a node does not answer. */
class Poller {
  private conns = new Map<number, Promise<ClientConnection>>()
  constructor(
    private readonly config: ClusterConfig,
    private readonly secret: string,
  ) {}

  async status(id: number, timeoutMs = 200): Promise<NodeStatus | null> {
    let conn = this.conns.get(id)
    if (!conn) {
      const n = this.config.nodes[id - 1]!
      conn = ClientConnection.connect({host: n.host, port: n.port, clusterId: this.config.clusterId, secret: this.secret, timeoutMs, expectNodeId: id})
      this.conns.set(id, conn)
    }
    try {
      return (await (await conn).request({type: 'status'}, timeoutMs)) as NodeStatus
    } catch {
      this.conns.delete(id)
      conn.then((c) => c.close()).catch(() => {})
      return null
    }
  }

  all(ids: number[]): Promise<(NodeStatus | null)[]> {
    return Promise.all(ids.map((id) => this.status(id)))
  }

  async close(): Promise<void> {
    await Promise.all([...this.conns.values()].map((p) => p.then((c) => c.close()).catch(() => {})))
    this.conns.clear()
  }
}

/** The leader every one of `statuses` names (itself leading), or null. */
function unanimousLeader(statuses: (NodeStatus | null)[]): {leader: number; term: number} | null {
  if (statuses.some((s) => s === null)) return null
  const ss = statuses as NodeStatus[]
  const leader = ss[0]!.leader
  const term = ss[0]!.term
  if (leader === null || ss.some((s) => s.leader !== leader || s.term !== term)) return null
  const self = ss.find((s) => s.id === leader)
  return self && self.role === 'leader' ? {leader, term} : null
}

async function main(): Promise<void> {
  const nodes = Number(arg('nodes', '3'))
  const trials = Number(arg('trials', '10'))
  const settle = parseDuration(arg('settle', '1s'))
  if (!settle.ok) throw new Error(settle.problem)
  const json = process.argv.includes('--json')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-failover-'))
  const pids = new Set<number>()
  const notePids = () => {
    for (let id = 1; id <= nodes; id++) {
      try {
        pids.add(Number(fs.readFileSync(path.join(dir, `node-${id}`, 'replica.pid'), 'utf8').trim()))
      } catch {
        // not running
      }
    }
  }
  let poller: Poller | null = null
  const cleanup = async () => {
    await poller?.close()
    notePids()
    await cli(['stop', '--dir', dir])
    for (const pid of pids) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    fs.rmSync(dir, {recursive: true, force: true})
  }
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)))
  try {
    const base = await freeBasePort(nodes)
    const started = await cli(['start', '--nodes', String(nodes), '--dir', dir, '--base-port', String(base)])
    notePids()
    if (started.exitCode !== 0) throw new Error(`raftctl start failed: ${started.stderr}`)
    const config = loadCluster(dir)
    poller = new Poller(config, readSecret(dir))
    const ids = config.nodes.map((n) => n.id)
    const results: {killed: number; newLeader: number; term: number; ms: number}[] = []
    for (let t = 1; t <= trials; t++) {
      // A stable leader that everyone follows.
      let before: {leader: number; term: number} | null = null
      while (!(before = unanimousLeader(await poller.all(ids)))) await sleep(10)
      const pid = Number(fs.readFileSync(path.join(dir, `node-${before.leader}`, 'replica.pid'), 'utf8').trim())
      const survivors = ids.filter((id) => id !== before!.leader)
      const t0 = performance.now()
      process.kill(pid, 'SIGKILL')
      let after: {leader: number; term: number} | null = null
      for (;;) {
        after = unanimousLeader(await poller.all(survivors))
        if (after && after.leader !== before.leader) break
        if (performance.now() - t0 > 30_000) throw new Error(`trial ${t}: no new leader within 30 s`)
        await sleep(10)
      }
      const ms = performance.now() - t0
      results.push({killed: before.leader, newLeader: after.leader, term: after.term, ms})
      if (!json) process.stderr.write(`trial ${t}: killed leader ${before.leader}; node ${after.leader} leads term ${after.term} after ${ms.toFixed(0)} ms\n`)
      // Bring the killed node back and let the cluster settle before the next trial.
      const restarted = await cli(['start', String(before.leader), '--dir', dir])
      notePids()
      if (restarted.exitCode !== 0) throw new Error(`restart of node ${before.leader} failed: ${restarted.stderr}`)
      await sleep(settle.ms)
    }
    const sorted = results.map((r) => r.ms).sort((a, b) => a - b)
    const summary = {
      nodes,
      trials,
      startWithLeaderMs: Math.round(started.ms),
      failoverMs: {
        median: Math.round(sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2),
        p90: Math.round(percentile(sorted, 90)),
        min: Math.round(sorted[0]!),
        max: Math.round(sorted[sorted.length - 1]!),
        all: results.map((r) => Math.round(r.ms)),
      },
    }
    if (json) process.stdout.write(JSON.stringify(summary) + '\n')
    else {
      process.stdout.write(
        `${nodes} nodes: start --nodes ${nodes} returned with a leader after ${summary.startWithLeaderMs} ms\n` +
          `failover over ${trials} trials: median ${summary.failoverMs.median} ms, p90 ${summary.failoverMs.p90} ms, min ${summary.failoverMs.min} ms, max ${summary.failoverMs.max} ms\n` +
          `  all: ${summary.failoverMs.all.join(' ')}\n`,
      )
    }
  } finally {
    await cleanup()
  }
}

main().catch((err) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
