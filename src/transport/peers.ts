// PeerTransport: this node's outbound Raft traffic, one authenticated connection per peer.
//
// Each direction between two nodes has its own connection (like etcd's streams): we only write on
// ours, and what a peer sends us arrives on its own outbound connection into our NodeServer.
// Invariants:
// - send() never blocks and never throws. Raft tolerates loss, so under pressure we drop rather
//   than wait: each peer's queue holds at most maxQueuedMessages (the oldest go first, newer
//   messages carry newer terms and indexes), and at most maxBufferedBytes sit in the socket's
//   write buffer, so a stalled or dead peer costs bounded memory.
// - Messages queued in one turn of the event loop go out as one write (cork/uncork → writev).
// - A lost connection is redialled with exponential backoff and jitter while there is traffic
//   for it; a successful handshake resets the backoff.
// - The LinkFilter is consulted when a message is sent and again when it is written, so a
//   partition applied in between still stops it. A link with a fault (delay, loss, duplication)
//   shapes each message on send (link-shaping.ts): a delayed copy joins the queue when its timer
//   fires, if the link still allows it then.

import type {Message, NodeId} from '../core/types.js'
import {dial, type FramedSocket} from './connection.js'
import type {TransportError} from './errors.js'
import {DEFAULT_MAX_FRAME_BYTES} from './framing.js'
import {PeerEncoder} from './peer-codec.js'
import {DEFAULT_HANDSHAKE_TIMEOUT_MS, isErrorFrame, type Secret} from './handshake.js'
import type {LinkFilter} from './link-filter.js'
import {shapeMessage} from './link-shaping.js'

export interface PeerAddress {
  host: string
  port: number
}

export interface PeerTransportOptions {
  nodeId: NodeId
  clusterId: string
  secret: Secret
  /** Every other node's address (an entry for this node itself is ignored). */
  peers: ReadonlyMap<NodeId, PeerAddress> | Readonly<Record<number, PeerAddress>>
  filter?: LinkFilter
  log?: (line: string) => void
  /**
   * Asked for the address of a peer not in `peers` (a member added since this node started); a
   * found address is kept. Without it, messages to unknown peers are dropped.
   */
  resolvePeer?: (id: NodeId) => PeerAddress | undefined
  /** Per-peer queue bound; default 1024 messages. Beyond it the oldest are dropped. */
  maxQueuedMessages?: number
  /** Bytes allowed in a socket's write buffer before we stop writing to it; default 4 MiB. */
  maxBufferedBytes?: number
  /** Reconnect backoff: first delay, cap (defaults 50 ms, 1000 ms). Each delay is jittered ±50%. */
  backoffMinMs?: number
  backoffMaxMs?: number
  /** Connect + handshake limit; default 2000 ms. */
  dialTimeoutMs?: number
  /** Frame limit (must not exceed the receiver's); default 16 MiB. */
  maxFrameBytes?: number
}

export interface PeerStats {
  connected: boolean
  queued: number
  sent: number
  dropped: number
  /** Bytes written to the socket and not yet handed to the kernel (bounded by maxBufferedBytes). */
  bufferedBytes: number
  /** Consecutive failed dial attempts. */
  failures: number
}

export interface PeerTransportStats {
  /** Messages written to a socket. */
  sent: number
  /** Messages dropped: queue overflow, partition, unknown peer, oversized, closed transport. */
  dropped: number
  /** Of those, dropped by the LinkFilter (partitions, and losses of faulty links). */
  filtered: number
  /** Extra copies sent by links that duplicate. */
  duplicated: number
  peers: Record<number, PeerStats>
}

type LinkState = 'idle' | 'dialing' | 'open' | 'backoff' | 'closed'

/** A FIFO with O(1) push and shift and a hard bound (drop-oldest). */
class BoundedQueue<T> {
  private items: (T | undefined)[] = []
  private head = 0
  constructor(private readonly limit: number) {}
  get length(): number {
    return this.items.length - this.head
  }
  /** Returns the number of items dropped to make room (0 or 1). */
  push(item: T): number {
    this.items.push(item)
    if (this.length <= this.limit) return 0
    this.shift()
    return 1
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
  clear(): number {
    const n = this.length
    this.items = []
    this.head = 0
    return n
  }
}

class PeerLink {
  state: LinkState = 'idle'
  conn: FramedSocket | null = null
  readonly queue: BoundedQueue<Message>
  failures = 0
  sent = 0
  dropped = 0
  timer: NodeJS.Timeout | undefined
  flushScheduled = false
  /** Log only the first failure of a streak, not every retry. */
  reportedDown = false

  constructor(
    readonly id: NodeId,
    public address: PeerAddress,
    queueLimit: number,
  ) {
    this.queue = new BoundedQueue(queueLimit)
  }
}

export class PeerTransport {
  readonly nodeId: NodeId
  private readonly opts: PeerTransportOptions
  private readonly links = new Map<NodeId, PeerLink>()
  private readonly maxQueued: number
  private readonly maxBufferedBytes: number
  private readonly backoffMinMs: number
  private readonly backoffMaxMs: number
  private readonly maxFrameBytes: number
  /** Encodes every message; followers sent the same entries share their bytes. */
  private readonly encoder: PeerEncoder
  private closedFlag = false
  private totals = {sent: 0, dropped: 0, filtered: 0, duplicated: 0}
  private unknownReported = new Set<NodeId>()

  constructor(options: PeerTransportOptions) {
    this.opts = options
    this.nodeId = options.nodeId
    this.maxQueued = options.maxQueuedMessages ?? 1024
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024
    this.backoffMinMs = options.backoffMinMs ?? 50
    this.backoffMaxMs = options.backoffMaxMs ?? 1000
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.encoder = new PeerEncoder(this.maxFrameBytes)
    const peers: Iterable<[NodeId, PeerAddress]> =
      options.peers instanceof Map
        ? options.peers.entries()
        : Object.entries(options.peers as Record<string, PeerAddress>).map(([k, v]) => [Number(k), v] as [NodeId, PeerAddress])
    for (const [id, address] of peers) {
      if (id !== this.nodeId) this.links.set(id, new PeerLink(id, {...address}, this.maxQueued))
    }
  }

  /** Queue `msg` for msg.to. Never blocks, never throws; the message may be lost. */
  send(msg: Message): void {
    try {
      if (this.closedFlag) return this.drop(null)
      const link = this.links.get(msg.to) ?? this.resolve(msg.to)
      if (!link) {
        if (!this.unknownReported.has(msg.to)) {
          this.unknownReported.add(msg.to)
          this.log(`dropping messages to unknown peer ${msg.to}`)
        }
        return this.drop(null)
      }
      if (!this.allowed(msg)) return this.drop(link, true)
      const fault = this.opts.filter?.linkFault(msg.from, msg.to)
      if (fault) return this.sendShaped(link, msg, shapeMessage(fault, Math.random))
      this.enqueue(link, msg)
    } catch (error) {
      // A bug here must not take the Raft loop down with it; losing a message is allowed.
      this.log(`send to peer ${msg?.to} failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  private enqueue(link: PeerLink, msg: Message): void {
    if (link.queue.push(msg) > 0) this.drop(link)
    switch (link.state) {
      case 'open':
        return this.scheduleFlush(link)
      case 'idle':
        return this.connect(link)
      default:
        return // dialing or backing off: the queue waits
    }
  }

  /** A faulty link: no copy (lost), or copies that join the queue now or after their delay. */
  private sendShaped(link: PeerLink, msg: Message, delays: number[]): void {
    if (delays.length === 0) return this.drop(link, true)
    if (delays.length > 1) this.totals.duplicated += delays.length - 1
    for (const ms of delays) {
      if (ms < 1) {
        this.enqueue(link, msg)
        continue
      }
      setTimeout(() => {
        if (this.closedFlag) return
        if (!this.allowed(msg)) return this.drop(link, true)
        this.enqueue(link, msg)
      }, ms).unref()
    }
  }

  /** Point a peer at a new address; its current connection is dropped and redialled on demand. */
  private setPeerAddress(id: NodeId, address: PeerAddress): void {
    if (id === this.nodeId || this.closedFlag) return
    const link = this.links.get(id)
    if (!link) {
      this.links.set(id, new PeerLink(id, {...address}, this.maxQueued))
      return
    }
    link.address = {...address}
    link.conn?.destroy()
  }

  private resolve(id: NodeId): PeerLink | undefined {
    if (id === this.nodeId) return undefined
    const address = this.opts.resolvePeer?.(id)
    if (!address) return undefined
    this.setPeerAddress(id, address)
    this.unknownReported.delete(id)
    return this.links.get(id)
  }

  isConnected(id: NodeId): boolean {
    return this.links.get(id)?.state === 'open'
  }

  stats(): PeerTransportStats {
    const peers: Record<number, PeerStats> = {}
    for (const [id, l] of this.links) {
      peers[id] = {
        connected: l.state === 'open',
        queued: l.queue.length,
        sent: l.sent,
        dropped: l.dropped,
        bufferedBytes: l.conn?.writableLength ?? 0,
        failures: l.failures,
      }
    }
    return {...this.totals, peers}
  }

  /** Close every connection and stop redialling; later sends are dropped. */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    for (const link of this.links.values()) {
      clearTimeout(link.timer)
      link.state = 'closed'
      link.queue.clear()
      link.conn?.destroy()
      link.conn = null
    }
  }

  private log(line: string): void {
    this.opts.log?.(line)
  }

  private allowed(msg: Message): boolean {
    return !this.opts.filter || this.opts.filter.allows(msg.from, msg.to)
  }

  private drop(link: PeerLink | null, filtered = false): void {
    this.totals.dropped++
    if (filtered) this.totals.filtered++
    if (link) link.dropped++
  }

  private connect(link: PeerLink): void {
    if (this.closedFlag) return
    link.state = 'dialing'
    const {host, port} = link.address
    dial({
      host,
      port,
      clusterId: this.opts.clusterId,
      secret: this.opts.secret,
      role: 'peer',
      nodeId: this.nodeId,
      expectNodeId: link.id,
      timeoutMs: this.opts.dialTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxFrameBytes: this.maxFrameBytes,
    }).then(
      ({conn}) => this.opened(link, conn),
      (error: TransportError) => this.dialFailed(link, error),
    )
  }

  private opened(link: PeerLink, conn: FramedSocket): void {
    if (this.closedFlag || link.state !== 'dialing') {
      conn.destroy()
      return
    }
    link.state = 'open'
    link.conn = conn
    link.failures = 0
    if (link.reportedDown) this.log(`connected to peer ${link.id} at ${conn.remote}`)
    link.reportedDown = false
    // The server writes nothing after its welcome but an error frame before closing.
    conn.setHandler((frame) => {
      if (isErrorFrame(frame)) this.log(`peer ${link.id} closed our connection: ${frame.error}: ${frame.message}`)
      else this.log(`peer ${link.id} sent an unexpected frame; reconnecting`)
      conn.destroy()
    })
    conn.socket.on('drain', () => this.flush(link))
    conn.onClose((error) => this.lost(link, conn, error))
    this.flush(link)
  }

  private dialFailed(link: PeerLink, error: TransportError): void {
    if (this.closedFlag) return
    link.failures++
    if (!link.reportedDown) {
      link.reportedDown = true
      this.log(`peer ${link.id} unreachable: ${error.message}; retrying`)
    }
    this.backoff(link)
  }

  private lost(link: PeerLink, conn: FramedSocket, error: Error | undefined): void {
    if (link.conn !== conn) return
    link.conn = null
    if (this.closedFlag) return
    if (!link.reportedDown) {
      link.reportedDown = true
      this.log(`lost connection to peer ${link.id}${error ? ` (${(error as NodeJS.ErrnoException).code ?? error.message})` : ''}; reconnecting`)
    }
    // The first redial after a working connection is immediate-ish (backoff from the minimum).
    this.backoff(link)
  }

  private backoff(link: PeerLink): void {
    link.state = 'backoff'
    const exp = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** Math.min(link.failures, 20))
    const delayMs = exp / 2 + Math.random() * (exp / 2)
    clearTimeout(link.timer)
    link.timer = setTimeout(() => {
      link.timer = undefined
      if (this.closedFlag || link.state !== 'backoff') return
      if (link.queue.length > 0) this.connect(link)
      else link.state = 'idle'
    }, delayMs)
    link.timer.unref()
  }

  private scheduleFlush(link: PeerLink): void {
    if (link.flushScheduled) return
    link.flushScheduled = true
    // setImmediate: everything sent during this event-loop turn (a whole Ready batch, or many
    // handlers' worth of responses) goes out in one write.
    setImmediate(() => {
      link.flushScheduled = false
      this.flush(link)
    })
  }

  private flush(link: PeerLink): void {
    const conn = link.conn
    if (link.state !== 'open' || !conn || conn.isClosing) return
    if (conn.writableLength >= this.maxBufferedBytes || link.queue.length === 0) return
    const socket = conn.socket
    socket.cork()
    try {
      while (link.queue.length > 0 && socket.writableLength < this.maxBufferedBytes) {
        const msg = link.queue.shift()!
        if (!this.allowed(msg)) {
          this.drop(link, true)
          continue
        }
        let frames: Buffer[]
        try {
          frames = this.encoder.encode(msg)
        } catch (error) {
          this.log(`dropping ${msg.type} to peer ${link.id}: ${error instanceof Error ? error.message : String(error)}`)
          this.drop(link)
          continue
        }
        for (const frame of frames) socket.write(frame)
        link.sent++
        this.totals.sent++
      }
    } finally {
      socket.uncork()
    }
    // Anything left waits for 'drain'.
  }
}
