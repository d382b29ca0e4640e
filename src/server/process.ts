// The real replica process: the driver (replica.ts) wired to a clock (setInterval ticks), TCP
// (NodeServer for peers, clients and admin; PeerTransport for outbound Raft messages, both behind
// the partition LinkFilter), files (segment storage in node-N/data) and signals (SIGTERM: stop
// accepting, finish the batch, fsync, close, exit 0). It writes a human-readable node log.
import {appendFileSync, mkdirSync, readFileSync, rmSync} from 'node:fs'
import {initialVoters, loadCluster, paths, readPartition, readSecret, timing, type ClusterConfig, type NodeConfig} from '../clusterdir/config.js'
import {lockDataDir} from '../clusterdir/data-lock.js'
import {diskFaultsReader} from '../clusterdir/disk-faults.js'
import {writePidFile} from '../clusterdir/pids.js'
import {formatMessage} from '../core/format.js'
import {members} from '../core/membership.js'
import type {NodeId} from '../core/types.js'
import {Prng} from '../lib/prng.js'
import {StorageCorruptionError, StorageIdentityError} from '../storage/errors.js'
import {RealFs} from '../storage/real-fs.js'
import {FaultyFs} from '../storage/faulty-fs.js'
import {SegmentLogStorage} from '../storage/segment-log.js'
import {describeRules, LinkFilter} from '../transport/link-filter.js'
import {NodeServer, type NodeServerStats, type RequestContext} from '../transport/server.js'
import {PeerTransport} from '../transport/peers.js'
import {nodeOrNull, parseRequest, type ClientReply, type ClientRequest, type NodeStatus} from '../protocol/protocol.js'
import {answerAdmin, type AdminDeps} from './admin.js'
import {NodeLog} from './node-log.js'
import {Replica, type ReplicaMutant, type ReplicaPorts} from './replica.js'
import {captureMode, MessageCapture} from './message-capture.js'

export interface ReplicaProcessOptions {
  dir: string
  id: NodeId
  /** Test-only: a deliberately broken replica (see `raftctl check --mutant`). */
  mutant?: ReplicaMutant
  /** Test-only: false switches PreVote / CheckQuorum off (both on by default). */
  preVote?: boolean
  checkQuorum?: boolean
}

/** RAFTCTL_TRACE=1: every Raft message sent and received goes to the node log (debugging). */
const traceMessages = process.env.RAFTCTL_TRACE === '1'

/** The replica could not start; the reason is in its log as one `cannot start: ...` line. */
export class ReplicaStartError extends Error {
  constructor(
    message: string,
    /** Another live process is this node already (its data dir is locked). */
    readonly alreadyRunning = false,
  ) {
    super(message)
  }
}

/** Exit code of a replica that found its node already running. */
export const EXIT_ALREADY_RUNNING = 3

/**
 * Runs node `id` of the cluster in `dir` until SIGTERM/SIGINT. Takes the node's data-dir lock
 * first (a second replica of the node stops there), then opens storage and listens. Whatever
 * keeps it from starting ends in one `cannot start: REASON` log line and a ReplicaStartError; an
 * I/O error later ends in one `cannot continue: REASON` line and exit 1. A broken invariant still
 * crashes with its stack.
 */
export async function runReplicaProcess(opts: ReplicaProcessOptions): Promise<void> {
  const {dir, id} = opts
  const logLine = (text: string) => {
    try {
      appendFileSync(paths.log(dir, id), `${new Date().toISOString()} [node ${id}] ${text}\n`)
    } catch {
      // Nowhere to say it.
    }
  }
  let lock: ReturnType<typeof lockDataDir>
  try {
    lock = lockDataDir(dir, id)
  } catch (err) {
    logLine(`cannot start: ${oneLine(err)}`)
    throw new ReplicaStartError(oneLine(err))
  }
  if (!lock.ok) {
    const reason = `node ${id} is already running (pid ${lock.owner})`
    logLine(`cannot start: ${reason}`)
    // The spawner wrote this process's pid in the pid file: give the file back to the owner.
    if (lock.owner > 0) writePidFile(dir, id, lock.owner)
    throw new ReplicaStartError(reason, true)
  }
  const release = lock.release
  writePidFile(dir, id, process.pid)
  process.on('uncaughtException', (err) => {
    if (!expectedFailure(err)) {
      process.stderr.write(`${err.stack ?? err}\n`)
    } else {
      logLine(`cannot continue: ${oneLine(err)}`)
    }
    release()
    removePidFile(dir, id)
    process.exit(1)
  })
  try {
    await runLocked(opts, release)
  } catch (err) {
    logLine(`cannot start: ${oneLine(err)}`)
    release()
    removePidFile(dir, id)
    throw new ReplicaStartError(oneLine(err))
  }
}

/** An operating-system error (EACCES, ENOSPC, EIO, ...) or damaged storage: not a bug in raftctl. */
function expectedFailure(err: unknown): boolean {
  return err instanceof StorageCorruptionError || /^E[A-Z0-9]+$/.test(String((err as NodeJS.ErrnoException)?.code))
}

function oneLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!
}

/** How long a stopping replica waits for an fsync in flight before it exits without it. */
const SHUTDOWN_SYNC_WAIT_MS = 10_000

async function runLocked(opts: ReplicaProcessOptions, releaseLock: () => void): Promise<void> {
  const {dir, id} = opts
  const files = openNodeFiles(opts)
  const {log, storage, self} = files
  /** Set once SIGTERM/SIGINT started the shutdown. */
  let stopping = false
  const {replica, peers, server, filter} = wireNode(opts, files, () => stopping)
  try {
    await server.listen()
  } catch (err) {
    storage.close()
    throw err
  }
  const st = replica.status()
  log.emit({type: 'started', pid: process.pid, address: `${self.host}:${self.port}`, term: st.term, lastIndex: st.lastIndex})
  if (filter.partitioned) log.emit({type: 'partition-applied', rules: describeRules(filter.rules()), group: null})

  const ticker = setInterval(() => {
    replica.tick()
    replica.process()
  }, files.tickMs)

  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    clearInterval(ticker)
    void stopReplica(signal, {dir, id, replica, server, peers, storage, capture: files.capture, log, releaseLock})
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

/** What a replica reads and opens in its cluster directory before it is wired. */
interface NodeFiles {
  config: ClusterConfig
  self: NodeConfig
  secret: string
  log: NodeLog
  storage: SegmentLogStorage
  /** RAFTCTL_CAPTURE: every (sampled) Raft message as NDJSON, for the reports' Lamport diagrams. */
  capture: MessageCapture | null
  tickMs: number
}

function openNodeFiles(opts: ReplicaProcessOptions): NodeFiles {
  const {dir, id} = opts
  const config = loadCluster(dir)
  const self = config.nodes.find((n) => n.id === id)
  if (!self) throw new Error(`node ${id} is not in ${paths.cluster(dir)}`)
  const secret = readSecret(dir)
  mkdirSync(paths.data(dir, id), {recursive: true})
  const log = new NodeLog(paths.log(dir, id), id)
  // The file port is wrapped for injected disk faults (node-N/disk-faults.json: raftctl net, check).
  const storage = new SegmentLogStorage(new FaultyFs(new RealFs(), diskFaultsReader(dir, id)), paths.data(dir, id), {
    log: (text, recovery) => log.emit({type: 'storage', text, recovery: recovery === true}),
    identity: {clusterId: config.clusterId, nodeId: id},
  })
  const mode = captureMode(process.env)
  const capture = mode ? new MessageCapture(paths.messages(dir, id), id, mode) : null
  return {config, self, secret, log, storage, capture, tickMs: timing(config).tickMs}
}

/**
 * The replica, the peers it sends to and the server it receives on, wired together: messages
 * in and out (traced and captured on the way), Raft batches scheduled after every input, requests
 * to the replica or the admin protocol. Nothing listens yet.
 */
function wireNode(opts: ReplicaProcessOptions, files: NodeFiles, stopping: () => boolean) {
  const {dir, id} = opts
  const {config, self, secret, log, storage, capture} = files
  const filter = new LinkFilter(readPartition(dir))
  let processScheduled = false
  const scheduleProcess = () => {
    if (processScheduled) return
    processScheduled = true
    setImmediate(() => {
      processScheduled = false
      replica.process()
    })
  }
  const replica = openReplica(opts, config, storage, log, {
    send: (m) => {
      if (traceMessages) log.note(`send ${formatMessage(m)}`)
      capture?.record('s', m)
      peers.send(m)
    },
    // A Ready whose fsync ran off the event loop is done: the next one has grown meanwhile.
    synced: () => scheduleProcess(),
    // Snapshot encoding steps run between network events and Raft batches.
    defer: (fn) =>
      setImmediate(() => {
        if (stopping()) return
        fn()
        scheduleProcess()
      }),
  })
  const book = new AddressBook(dir, config)
  const peers = new PeerTransport({
    nodeId: id,
    clusterId: config.clusterId,
    secret,
    peers: Object.fromEntries(config.nodes.filter((n) => n.id !== id).map((n) => [n.id, {host: n.host, port: n.port}])),
    // A member added since this node started: its address is in cluster.json by now.
    resolvePeer: (peer) => book.lookup(peer),
    filter,
  })
  const startedAt = Date.now()
  const status = (): NodeStatus => nodeStatus(id, replica, filter, server.stats(), startedAt)
  const server = new NodeServer({
    nodeId: id,
    clusterId: config.clusterId,
    secret,
    host: self.host,
    port: self.port,
    isPeer: (peer) => book.lookup(peer) !== undefined,
    filter,
    onPeerMessage: (_from, msg) => {
      if (traceMessages) log.note(`recv ${formatMessage(msg)}`)
      capture?.record('r', msg)
      replica.receive(msg)
      scheduleProcess()
    },
    onRequest: requestHandler({id, replica, filter, log, status, scheduleProcess}),
    log: (line) => log.note(line),
  })
  return {replica, peers, server, filter}
}

/** Client and admin requests: Raft requests go to the replica, the rest to the admin protocol. */
function requestHandler(admin: AdminDeps): (body: unknown, ctx: RequestContext) => Promise<unknown> | unknown {
  return (body, ctx) => {
    const parsed = parseRequest(body)
    if (!parsed.ok) throw Object.assign(new Error(parsed.problem), {code: 'bad-request'})
    const req = parsed.req
    switch (req.type) {
      case 'get':
      case 'put':
      case 'del':
      case 'cas':
      case 'register':
      case 'member':
        return new Promise<ClientReply>((resolve) => {
          admin.replica.request(req as ClientRequest, resolve)
          admin.scheduleProcess()
        })
      default:
        return answerAdmin(req, ctx, admin)
    }
  }
}

/** What a stopping replica closes, in order. */
interface Running {
  dir: string
  id: NodeId
  replica: Replica
  server: NodeServer
  peers: PeerTransport
  storage: SegmentLogStorage
  capture: MessageCapture | null
  log: NodeLog
  releaseLock: () => void
}

/**
 * The graceful stop (SIGTERM/SIGINT): the last batch is finished and made durable, the
 * connections are closed, the lock released; exit 0. A disk that does not finish an fsync in
 * flight within SHUTDOWN_SYNC_WAIT_MS is left to the operating system (exit 1).
 */
async function stopReplica(signal: string, r: Running): Promise<void> {
  const {dir, id, replica, log} = r
  log.emit({type: 'stopping', signal})
  // Let subscribers (the dashboard) receive that line before their connections close.
  await new Promise((resolve) => setTimeout(resolve, 20))
  replica.stop()
  // A Ready's fsync in flight finishes first (the stopped replica syncs on the loop from now on).
  const syncDeadline = Date.now() + SHUTDOWN_SYNC_WAIT_MS
  while (replica.syncInFlight && Date.now() < syncDeadline) await new Promise((resolve) => setTimeout(resolve, 5))
  if (replica.syncInFlight) {
    // What that fsync covers was acknowledged to nobody; the next start reads what survived.
    removePidFile(dir, id)
    r.releaseLock()
    log.emit({type: 'stopped'})
    process.exit(1)
  }
  replica.process()
  replica.abandonRequests()
  await r.server.close()
  r.peers.close()
  r.storage.sync()
  r.storage.close()
  r.capture?.close()
  removePidFile(dir, id)
  r.releaseLock()
  log.emit({type: 'stopped'})
  process.exit(0)
}

/** The replica over its storage: the driver, configured from cluster.json. */
function openReplica(
  opts: ReplicaProcessOptions,
  config: ClusterConfig,
  storage: SegmentLogStorage,
  log: NodeLog,
  ports: Pick<ReplicaPorts, 'send' | 'defer' | 'synced'>,
): Replica {
  const {id} = opts
  const {electionTicks, heartbeatTicks} = timing(config)
  try {
    return new Replica(
      {
        id,
        // The configuration an empty log starts from; a node added later learns the real one
        // from the leader (it is no voter of this one, so it never campaigns with it).
        peers: initialVoters(config),
        electionTicks,
        heartbeatTicks,
        prng: new Prng((process.pid * 2654435761 + Date.now()) >>> 0),
        snapshotEvery: config.snapshotEvery,
        mutant: opts.mutant,
        preVote: opts.preVote,
        checkQuorum: opts.checkQuorum,
      },
      {storage, log: (e) => log.emit(e), ...ports},
    )
  } catch (err) {
    // runReplicaProcess logs it as the `cannot start` line.
    if (err instanceof StorageIdentityError) {
      throw new Error(`${err.message}; to bring node ${id} back with a fresh disk, run raftctl member replace ${id} (README: "A node lost its disk")`)
    }
    throw err
  }
}

/** What `status` answers: the replica's Raft state, and what the process knows around it. */
function nodeStatus(id: NodeId, replica: Replica, filter: LinkFilter, stats: NodeServerStats, startedAt: number): NodeStatus {
  const s = replica.status()
  const matchIndex: Record<string, number> = {}
  if (s.role === 'leader') {
    for (const n of members(s.membership)) matchIndex[n] = n === id ? s.lastIndex : (replica.followerProgress(n)?.matchIndex ?? 0)
  }
  return {
    id,
    pid: process.pid,
    role: s.role,
    term: s.term,
    leader: nodeOrNull(s.leaderId),
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
    membership: s.membership,
    ...(s.role === 'leader' ? {matchIndex} : {}),
  }
}

/**
 * The members' addresses, from cluster.json: re-read (at most every 250 ms) when asked for a node
 * it does not know, so a member added since this node started is found. Removed nodes are not
 * members: they may not connect.
 */
class AddressBook {
  private nodes: Map<NodeId, NodeConfig>
  private readAt = Date.now()

  constructor(
    private readonly dir: string,
    config: ClusterConfig,
  ) {
    this.nodes = new Map(config.nodes.map((n) => [n.id, n]))
  }

  lookup(id: NodeId): NodeConfig | undefined {
    const known = this.nodes.get(id)
    if (known || Date.now() - this.readAt < 250) return known
    this.readAt = Date.now()
    try {
      this.nodes = new Map(loadCluster(this.dir).nodes.map((n) => [n.id, n]))
    } catch {
      // A damaged or half-edited cluster.json: keep what we knew.
    }
    return this.nodes.get(id)
  }
}

function removePidFile(dir: string, id: NodeId): void {
  try {
    if (readFileSync(paths.pid(dir, id), 'utf8').trim() === String(process.pid)) rmSync(paths.pid(dir, id))
  } catch {
    // Already gone.
  }
}
