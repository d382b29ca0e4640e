// The real replica process: the driver (replica.ts) wired to a clock (setInterval ticks), TCP
// (NodeServer for peers, clients and admin; PeerTransport for outbound Raft messages, both behind
// the partition LinkFilter), files (segment storage in node-N/data) and signals (SIGTERM: stop
// accepting, finish the batch, fsync, close, exit 0). It writes a human-readable node log.
import {appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadCluster, paths, readPartition, readSecret, timing} from '../cluster/config.js'
import {formatMessage} from '../core/format.js'
import type {Message, NodeId} from '../core/types.js'
import {Prng} from '../lib/prng.js'
import {StorageCorruptionError} from '../storage/errors.js'
import {RealFs} from '../storage/real-fs.js'
import {SegmentLogStorage} from '../storage/segment-log.js'
import {describeRules, LinkFilter, type PartitionRules} from '../transport/link-filter.js'
import {NodeServer, type RequestContext} from '../transport/server.js'
import {PeerTransport} from '../transport/peers.js'
import {parseRequest, type AdminRequest, type ClientReply, type ClientRequest, type NodeEvent, type NodeStatus} from './protocol.js'
import {Replica, type ReplicaMutant} from './replica.js'
import {captureMode, MessageCapture} from './message-capture.js'

export interface ReplicaProcessOptions {
  dir: string
  id: NodeId
  /** Test-only: answer reads from local state without ReadIndex (see `raftctl check`). */
  unsafeStaleReads?: boolean
}

const EVENT_BUFFER = 200
/** RAFTCTL_TRACE=1: every Raft message sent and received goes to the node log (debugging). */
const traceMessages = process.env.RAFTCTL_TRACE === '1'

export async function runReplicaProcess(opts: ReplicaProcessOptions): Promise<void> {
  const {dir, id} = opts
  const config = loadCluster(dir)
  const self = config.nodes[id - 1]
  if (!self) throw new Error(`node ${id} is not in ${paths.cluster(dir)}`)
  const secret = readSecret(dir)
  mkdirSync(paths.data(dir, id), {recursive: true})
  const logPath = paths.log(dir, id)
  const events: NodeEvent[] = []
  const subscribers = new Set<RequestContext>()
  const log = (text: string) => {
    const event: NodeEvent = {time: Date.now(), node: id, text}
    events.push(event)
    if (events.length > EVENT_BUFFER) events.shift()
    try {
      appendFileSync(logPath, `${new Date(event.time).toISOString()} [node ${id}] ${text}\n`)
    } catch {
      // The log is best effort; the replica keeps serving.
    }
    for (const sub of subscribers) if (!sub.push({type: 'event', event})) subscribers.delete(sub)
  }

  /** Set once SIGTERM/SIGINT started the shutdown. */
  let stopping = false
  const storage = new SegmentLogStorage(new RealFs(), paths.data(dir, id), {log})
  const filter = new LinkFilter(readPartition(dir))
  // RAFTCTL_CAPTURE: every (sampled) Raft message as NDJSON, for the reports' Lamport diagrams.
  const mode = captureMode(process.env)
  const capture = mode ? new MessageCapture(paths.messages(dir, id), id, mode) : null
  const {tickMs, electionTicks, heartbeatTicks} = timing(config)
  let replica: Replica
  try {
    replica = new Replica(
      {
        id,
        peers: config.nodes.map((n) => n.id),
        electionTicks,
        heartbeatTicks,
        prng: new Prng((process.pid * 2654435761 + Date.now()) >>> 0),
        snapshotEvery: config.snapshotEvery,
        mutant: opts.unsafeStaleReads ? ('read-without-readindex' satisfies ReplicaMutant) : undefined,
      },
      {
        storage,
        send: (m: Message) => {
          if (traceMessages) log(`send ${formatMessage(m)}`)
          capture?.record('s', m)
          peers.send(m)
        },
        log,
        // Snapshot encoding steps run between network events and Raft batches.
        defer: (fn) => setImmediate(() => {
          if (stopping) return
          fn()
          scheduleProcess()
        }),
      },
    )
  } catch (err) {
    if (err instanceof StorageCorruptionError) log(`cannot start: ${err.message}`)
    throw err
  }

  const peers = new PeerTransport({
    nodeId: id,
    clusterId: config.clusterId,
    secret,
    peers: Object.fromEntries(config.nodes.filter((n) => n.id !== id).map((n) => [n.id, {host: n.host, port: n.port}])),
    filter,
  })

  let processScheduled = false
  const scheduleProcess = () => {
    if (processScheduled) return
    processScheduled = true
    setImmediate(() => {
      processScheduled = false
      replica.process()
    })
  }

  const startedAt = Date.now()
  const status = (): NodeStatus => {
    const s = replica.status()
    const stats = server.stats()
    const matchIndex: Record<string, number> = {}
    if (s.role === 'leader') {
      for (const n of config.nodes) {
        matchIndex[n.id] = n.id === id ? s.lastIndex : (replica.raft.followerProgress(n.id)?.matchIndex ?? 0)
      }
    }
    return {
      id,
      pid: process.pid,
      role: s.role,
      term: s.term,
      leader: s.leaderId === 0 ? null : s.leaderId,
      lastIndex: s.lastIndex,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      snapshotIndex: s.snapshotIndex,
      group: filter.groupOf(id),
      partition: filter.partitioned ? filter.rules() : null,
      badFrames: stats.badFrames,
      authFailures: stats.authFailures,
      keys: replica.kv.size(),
      uptimeMs: Date.now() - startedAt,
      rssBytes: process.memoryUsage.rss(),
      ...(s.role === 'leader' ? {matchIndex} : {}),
    }
  }

  const handle = (body: unknown, ctx: RequestContext): Promise<unknown> | unknown => {
    const parsed = parseRequest(body)
    if (!parsed.ok) throw Object.assign(new Error(parsed.problem), {code: 'bad-request'})
    const req = parsed.req
    switch (req.type) {
      case 'get':
      case 'put':
      case 'del':
      case 'cas':
      case 'register':
        return new Promise<ClientReply>((resolve) => {
          replica.request(req as ClientRequest, resolve)
          scheduleProcess()
        })
      default:
        return admin(req, ctx)
    }
  }

  const admin = (req: AdminRequest, ctx: RequestContext): unknown => {
    switch (req.type) {
      case 'status':
        return status()
      case 'events':
        return {events: events.slice(-(req.limit ?? EVENT_BUFFER))}
      case 'subscribe':
        subscribers.add(ctx)
        ctx.onClose(() => subscribers.delete(ctx))
        return {ok: true}
      case 'partition': {
        filter.set(req.rules as PartitionRules | null)
        log(req.rules ? `partition applied: ${describeRules(req.rules)} (this node in group ${filter.groupOf(id)})` : 'partition healed')
        return {ok: true, group: filter.groupOf(id)}
      }
      case 'campaign': {
        log('asked to campaign at once (raftctl start)')
        const result = replica.campaignNow()
        if (!result.ok) log(`not campaigning: ${result.reason}`)
        scheduleProcess()
        return result
      }
      case 'transfer': {
        const result = replica.transferLeadership(req.to)
        scheduleProcess()
        return result
      }
    }
  }

  const server = new NodeServer({
    nodeId: id,
    clusterId: config.clusterId,
    secret,
    host: self.host,
    port: self.port,
    peerIds: config.nodes.map((n) => n.id),
    filter,
    onPeerMessage: (_from, msg) => {
      if (traceMessages) log(`recv ${formatMessage(msg)}`)
      capture?.record('r', msg)
      replica.receive(msg)
      scheduleProcess()
    },
    onRequest: handle,
    log,
  })
  try {
    await server.listen()
  } catch (err) {
    log(`cannot start: ${(err as Error).message}`)
    storage.close()
    throw err
  }
  writeFileSync(paths.pid(dir, id), `${process.pid}\n`)
  log(`started (pid ${process.pid}) on ${self.host}:${self.port}, term ${replica.raft.currentTerm}, last index ${replica.raft.lastIndex()}`)
  if (filter.partitioned) log(`partition applied at start: ${describeRules(filter.rules())}`)

  const ticker = setInterval(() => {
    replica.tick()
    replica.process()
  }, tickMs)

  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    clearInterval(ticker)
    log(`stopping on ${signal}`)
    // Let subscribers (the dashboard) receive that line before their connections close.
    await new Promise((resolve) => setTimeout(resolve, 20))
    replica.stop()
    replica.process()
    replica.abandonRequests()
    await server.close()
    peers.close()
    storage.sync()
    storage.close()
    capture?.close()
    removePidFile(dir, id)
    log('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

function removePidFile(dir: string, id: NodeId): void {
  try {
    if (readFileSync(paths.pid(dir, id), 'utf8').trim() === String(process.pid)) rmSync(paths.pid(dir, id))
  } catch {
    // Already gone.
  }
}

