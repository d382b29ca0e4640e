// NodeServer: the one TCP port of a replica, serving peers, clients and admin requests.
//
// Every connection starts unauthenticated: the server sends its hello, accepts exactly one auth
// frame (at most PRE_AUTH_MAX_FRAME_BYTES, within the handshake timeout) and only then switches
// the connection to its role:
//   peer   — inbound Raft messages {k:'raft', msg}; each is validated (shape, from = the
//            authenticated peer, to = this node) and filtered by the LinkFilter before
//            onPeerMessage sees it. The server never writes to a peer connection after welcome.
//   client — {k:'req', id, body} → onRequest → {k:'res', id, body} or {k:'res', id, error};
//            many requests in flight, answered in completion order; ctx.push() sends {k:'evt', body}.
// Invariant: anything that breaks the protocol (bad bytes, oversize, wrong shape, unknown type,
// failed or slow handshake) closes that one connection, is counted and logged, and nothing else
// is disturbed — the node keeps serving.

import {createServer, type Server, type Socket} from 'node:net'
import type {Message, NodeId} from '../core/types.js'
import {TransportError} from './errors.js'
import {FramedSocket} from './connection.js'
import {DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameError} from './framing.js'
import {isEnvelope, PeerFrameReader} from './peer-codec.js'
import {
  authProblem,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  errorFrame,
  isErrorFrame,
  makeHello,
  newNonce,
  PRE_AUTH_MAX_FRAME_BYTES,
  type AuthFrame,
  type Secret,
  verifyAuth,
} from './handshake.js'
import type {LinkFilter} from './link-filter.js'
import {isIndex} from '../core/types.js'
import {show} from './validate.js'

export interface RequestContext {
  /** Unique per connection within this server. */
  readonly connectionId: number
  /** "host:port" of the client. */
  readonly remote: string
  readonly closed: boolean
  /**
   * Send an event frame {k:'evt', body} on this connection. Returns false when the connection is
   * closed (or was just closed for being too slow to read; see maxWriteBufferBytes).
   */
  push(body: unknown): boolean
  /** Run `cb` once when the connection closes (e.g. to drop a subscription). */
  onClose(cb: () => void): void
}

/** Requests one client connection may have in flight before the node answers `busy`. */
export const DEFAULT_MAX_INFLIGHT_REQUESTS = 1024

export interface NodeServerOptions {
  nodeId: NodeId
  clusterId: string
  secret: Secret
  /** Default 127.0.0.1. */
  host?: string
  /** 0 picks an ephemeral port (see address()). */
  port: number
  onPeerMessage?: (from: NodeId, msg: Message) => void
  onRequest?: (body: unknown, ctx: RequestContext) => unknown
  /** Consulted for every inbound peer message; client traffic is never filtered. */
  filter?: LinkFilter
  log?: (line: string) => void
  /** When given, only these node ids may authenticate as peers. */
  peerIds?: readonly NodeId[]
  /** Decides which peer ids may connect (the membership may grow); takes precedence over peerIds. */
  isPeer?: (id: NodeId) => boolean
  /** Default 16 MiB, for authenticated connections. */
  maxFrameBytes?: number
  /** Default 2000 ms. */
  handshakeTimeoutMs?: number
  /** Default 1024 simultaneous connections; more are refused by the OS layer. */
  maxConnections?: number
  /** Requests in flight per client connection before answering {error:{code:'busy'}}. Default 1024. */
  maxInflightRequests?: number
  /** A client that lets this many unread bytes pile up is closed as too slow. Default 8 MiB. */
  maxWriteBufferBytes?: number
}

export interface NodeServerStats {
  /** Frames that broke the protocol after or outside the handshake (bytes, size, shape, type). */
  badFrames: number
  /** Handshakes refused: wrong cluster id or secret, unknown peer, not an auth frame. */
  authFailures: number
  /** Connections closed for not completing the handshake in time. */
  handshakeTimeouts: number
  /** Connections open right now (any state). */
  connections: number
  /** Connections accepted since listen(). */
  accepted: number
  peerConnections: number
  clientConnections: number
  /** Peer messages delivered to onPeerMessage. */
  peerMessages: number
  /** Peer messages dropped by the LinkFilter. */
  filteredMessages: number
  requests: number
}

type Phase = 'handshake' | 'peer' | 'client'

interface Conn {
  id: number
  framed: FramedSocket
  phase: Phase
  peerId: NodeId | 0
  nonce: Buffer
  handshakeTimer: NodeJS.Timeout | undefined
  inflight: number
  ctx: RequestContext | null
  /** Peer connections: a large message arriving in parts. */
  peerReader: PeerFrameReader | null
}

export class NodeServer {
  readonly nodeId: NodeId
  private readonly opts: NodeServerOptions
  private readonly host: string
  private server: Server | null = null
  private bound: {host: string; port: number} | null = null
  private conns = new Set<Conn>()
  private peers = new Map<NodeId, Conn>()
  private nextConnId = 1
  private closing = false
  private counters = {
    badFrames: 0,
    authFailures: 0,
    handshakeTimeouts: 0,
    accepted: 0,
    peerMessages: 0,
    filteredMessages: 0,
    requests: 0,
  }
  private readonly maxFrameBytes: number
  private readonly handshakeTimeoutMs: number
  private readonly maxInflight: number
  private readonly maxWriteBufferBytes: number

  constructor(options: NodeServerOptions) {
    this.opts = options
    this.nodeId = options.nodeId
    this.host = options.host ?? '127.0.0.1'
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    this.maxInflight = options.maxInflightRequests ?? DEFAULT_MAX_INFLIGHT_REQUESTS
    this.maxWriteBufferBytes = options.maxWriteBufferBytes ?? 8 * 1024 * 1024
  }

  /** Start listening. Rejects with TransportError('listen') naming the address and the reason. */
  listen(): Promise<{host: string; port: number}> {
    if (this.server) return Promise.reject(new Error('NodeServer.listen() called twice'))
    const server = createServer({noDelay: true}, (socket) => this.accept(socket))
    server.maxConnections = this.opts.maxConnections ?? 1024
    this.server = server
    const where = `${this.host}:${this.opts.port}`
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        this.server = null
        const reason =
          error.code === 'EADDRINUSE'
            ? 'address already in use'
            : error.code === 'EACCES'
              ? 'permission denied'
              : error.code === 'EADDRNOTAVAIL'
                ? 'address not available on this machine'
                : error.message
        reject(
          new TransportError('listen', `node ${this.nodeId} cannot listen on ${where}: ${reason}${error.code ? ` (${error.code})` : ''}`, {
            cause: error,
          }),
        )
      }
      server.once('error', onError)
      server.listen({host: this.host, port: this.opts.port, exclusive: true}, () => {
        server.off('error', onError)
        server.on('error', (error) => this.log(`server error: ${error.message}`))
        const a = server.address()
        this.bound = typeof a === 'object' && a ? {host: a.address, port: a.port} : {host: this.host, port: this.opts.port}
        resolve({...this.bound})
      })
    })
  }

  /** The bound address (the real port when listening on port 0). */
  address(): {host: string; port: number} {
    if (!this.bound) throw new Error('NodeServer is not listening')
    return {...this.bound}
  }

  stats(): NodeServerStats {
    let peerConnections = 0
    let clientConnections = 0
    for (const c of this.conns) {
      if (c.phase === 'peer') peerConnections++
      else if (c.phase === 'client') clientConnections++
    }
    return {...this.counters, connections: this.conns.size, peerConnections, clientConnections}
  }

  /** Stop accepting, close every connection, resolve once the listening socket is closed. */
  close(): Promise<void> {
    this.closing = true
    const server = this.server
    this.server = null
    for (const c of this.conns) c.framed.destroy()
    if (!server) return Promise.resolve()
    return new Promise((resolve) => server.close(() => resolve()))
  }

  private log(line: string): void {
    this.opts.log?.(line)
  }

  private who(c: Conn): string {
    return c.phase === 'peer' ? `peer ${c.peerId} (${c.framed.remote})` : c.framed.remote
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy()
      return
    }
    this.counters.accepted++
    socket.setKeepAlive(true, 10_000)
    const framed = new FramedSocket(socket, {maxFrameBytes: PRE_AUTH_MAX_FRAME_BYTES})
    const c: Conn = {
      id: this.nextConnId++,
      framed,
      phase: 'handshake',
      peerId: 0,
      nonce: newNonce(),
      handshakeTimer: undefined,
      inflight: 0,
      peerReader: null,
      ctx: null,
    }
    this.conns.add(c)
    framed.onClose(() => this.closed(c))
    framed.onFrameError = (e) => this.badFrame(c, e.message)
    c.handshakeTimer = setTimeout(() => {
      this.counters.handshakeTimeouts++
      this.log(`handshake timeout from ${framed.remote} after ${this.handshakeTimeoutMs} ms`)
      framed.closeWithError(errorFrame('timeout', `handshake not completed within ${this.handshakeTimeoutMs} ms`))
    }, this.handshakeTimeoutMs)
    framed.setHandler((frame) => this.onHandshakeFrame(c, frame))
    framed.send(makeHello(this.opts.clusterId, this.nodeId, c.nonce), PRE_AUTH_MAX_FRAME_BYTES)
  }

  private closed(c: Conn): void {
    clearTimeout(c.handshakeTimer)
    this.conns.delete(c)
    if (c.phase === 'peer' && this.peers.get(c.peerId) === c) {
      this.peers.delete(c.peerId)
      if (!this.closing) this.log(`peer ${c.peerId} disconnected (${c.framed.remote})`)
    }
  }

  private badFrame(c: Conn, why: string): void {
    this.counters.badFrames++
    this.log(`bad frame from ${this.who(c)}: ${why}`)
    c.framed.closeWithError(errorFrame('protocol', why))
  }

  private authFailure(c: Conn, why: string): void {
    this.counters.authFailures++
    this.log(`auth failure from ${c.framed.remote}: ${why}`)
    c.framed.closeWithError(errorFrame('auth', why))
  }

  private onHandshakeFrame(c: Conn, frame: unknown): void {
    const problem = authProblem(frame)
    if (problem) return this.authFailure(c, problem)
    const auth = frame as AuthFrame
    const verdict = verifyAuth(this.opts.secret, {clusterId: this.opts.clusterId, nodeId: this.nodeId, nonce: c.nonce}, auth)
    if (!verdict.ok) return this.authFailure(c, verdict.reason)
    if (verdict.role === 'peer') {
      if (verdict.nodeId === this.nodeId) return this.authFailure(c, `peer claims this node's own id ${this.nodeId}`)
      const member = this.opts.isPeer ? this.opts.isPeer(verdict.nodeId) : !this.opts.peerIds || this.opts.peerIds.includes(verdict.nodeId)
      if (!member) {
        return this.authFailure(c, `node ${verdict.nodeId} is not a member of this cluster`)
      }
    }
    clearTimeout(c.handshakeTimer)
    c.handshakeTimer = undefined
    c.framed.send(verdict.welcome, PRE_AUTH_MAX_FRAME_BYTES)
    c.framed.decoder.maxFrameBytes = this.maxFrameBytes
    if (verdict.role === 'peer') {
      c.phase = 'peer'
      c.peerId = verdict.nodeId
      const previous = this.peers.get(c.peerId)
      this.peers.set(c.peerId, c)
      // A peer redials when it thinks its old connection died; believe it, free the old one.
      if (previous) previous.framed.destroy()
      this.log(`peer ${c.peerId} connected from ${c.framed.remote}`)
      c.framed.setHandler((f) => this.onPeerFrame(c, f))
    } else {
      c.phase = 'client'
      c.ctx = this.makeContext(c)
      c.framed.setHandler((f) => this.onClientFrame(c, f))
    }
  }

  private onPeerFrame(c: Conn, frame: unknown): void {
    c.peerReader ??= new PeerFrameReader(c.peerId, this.nodeId, this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    const r = c.peerReader.frame(frame)
    switch (r.kind) {
      case 'part':
        return
      case 'closed':
        this.log(`peer ${c.peerId} closed the connection: ${r.reason}`)
        return c.framed.destroy()
      case 'bad':
        return this.badFrame(c, r.problem)
      case 'message':
        break
    }
    const m = r.message
    if (this.opts.filter && !this.opts.filter.allows(m.from, m.to)) {
      this.counters.filteredMessages++
      return
    }
    this.counters.peerMessages++
    // Not caught: a throwing Raft handler is a broken invariant and must crash loudly.
    this.opts.onPeerMessage?.(m.from, m)
  }

  private onClientFrame(c: Conn, frame: unknown): void {
    if (isErrorFrame(frame)) {
      if (frame.error === 'auth') {
        this.counters.authFailures++
        this.log(`auth failure from ${c.framed.remote}: client refused: ${frame.message}`)
      }
      return c.framed.destroy()
    }
    if (!isEnvelope(frame, 'req') || !isIndex(frame['id'])) {
      return this.badFrame(c, `expected a request envelope {k:'req', id, body}, got ${show(frame)}`)
    }
    const id = frame['id']
    const body = frame['body']
    if (c.inflight >= this.maxInflight) {
      return this.reply(c, {k: 'res', id, error: {code: 'busy', message: `more than ${this.maxInflight} requests in flight`}})
    }
    this.counters.requests++
    const handler = this.opts.onRequest
    if (!handler) return this.reply(c, {k: 'res', id, error: {code: 'unsupported', message: 'this server takes no requests'}})
    c.inflight++
    const done = (res: object): void => {
      c.inflight--
      this.reply(c, res)
    }
    const failed = (error: unknown): void => {
      const code = typeof (error as {code?: unknown})?.code === 'string' ? (error as {code: string}).code : 'internal'
      const message = error instanceof Error ? error.message : String(error)
      if (code === 'internal') this.log(`request handler failed: ${error instanceof Error ? (error.stack ?? message) : message}`)
      done({k: 'res', id, error: {code, message}})
    }
    let result: unknown
    try {
      result = handler(body, c.ctx!)
    } catch (error) {
      return failed(error)
    }
    if (isPromiseLike(result)) result.then((value) => done({k: 'res', id, body: value}), failed)
    else done({k: 'res', id, body: result})
  }

  private reply(c: Conn, res: object): void {
    if (c.framed.isClosing) return
    let frame: Buffer
    try {
      frame = encodeFrame(res, this.maxFrameBytes)
    } catch (error) {
      const code = error instanceof FrameError ? 'too-large' : 'internal'
      const message = error instanceof Error ? error.message : String(error)
      this.log(`cannot encode response: ${message}`)
      frame = encodeFrame({k: 'res', id: (res as {id: number}).id, error: {code, message: `cannot send the response: ${message}`}})
    }
    this.writeToClient(c, frame)
  }

  private writeToClient(c: Conn, frame: Buffer): boolean {
    if (!c.framed.write(frame)) return false
    if (c.framed.writableLength > this.maxWriteBufferBytes) {
      this.log(`closing slow client ${c.framed.remote}: ${c.framed.writableLength} bytes unread`)
      c.framed.destroy()
      return false
    }
    return true
  }

  private makeContext(c: Conn): RequestContext {
    return {
      connectionId: c.id,
      remote: c.framed.remote,
      get closed() {
        return c.framed.isClosing
      },
      push: (body: unknown): boolean => {
        if (c.framed.isClosing) return false
        let frame: Buffer
        try {
          frame = encodeFrame({k: 'evt', body}, this.maxFrameBytes)
        } catch (error) {
          this.log(`cannot encode event: ${error instanceof Error ? error.message : String(error)}`)
          return false
        }
        return this.writeToClient(c, frame)
      },
      onClose: (cb: () => void): void => {
        c.framed.onClose(() => cb())
      },
    }
  }
}

function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as {then?: unknown}).then === 'function'
}
