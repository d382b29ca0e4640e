// A framed TCP connection, and the dialing side of the handshake (shared by PeerTransport and
// ClientConnection).
//
// FramedSocket owns one socket and its FrameDecoder. Invariants: frames are handed out strictly in
// arrival order, to one handler at a time (frames arriving while no handler is set are held, not
// lost); once the connection is closing nothing more is decoded or delivered; every socket error
// ends in exactly one 'close' notification, so owners clean up in one place.

import {connect as netConnect, type Socket} from 'node:net'
import type {NodeId} from '../core/types.js'
import {TransportError} from './errors.js'
import {DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, type FrameError} from './framing.js'
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  errorFrame,
  errorFrameCode,
  type ErrorFrame,
  type HelloFrame,
  helloProblem,
  isErrorFrame,
  makeAuth,
  newNonce,
  PRE_AUTH_MAX_FRAME_BYTES,
  type ClientRole,
  type Secret,
  verifyWelcome,
  type WelcomeFrame,
  welcomeProblem,
  type AuthFrame,
} from './handshake.js'

/** How long a closing connection may take to flush its last (error) frame before it is destroyed. */
const CLOSE_GRACE_MS = 200

export type FrameHandler = (frame: unknown) => void

export class FramedSocket {
  readonly decoder: FrameDecoder
  /** "host:port" of the other side, captured at creation (the socket forgets it once closed). */
  readonly remote: string
  /** Called when the byte stream breaks (oversized, malformed). Default: destroy the connection. */
  onFrameError: (error: FrameError) => void = () => this.destroy()
  private handler: FrameHandler | null = null
  private held: unknown[] = []
  private closeCallbacks = new Set<(error: Error | undefined) => void>()
  private lastError: Error | undefined
  private closing = false
  private isClosed = false
  private graceTimer: NodeJS.Timeout | undefined
  private corked = false

  constructor(
    readonly socket: Socket,
    options: {maxFrameBytes?: number; remote?: string} = {},
  ) {
    this.decoder = new FrameDecoder({maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES})
    this.remote = options.remote ?? `${socket.remoteAddress}:${socket.remotePort}`
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('end', () => {
      // The other side finished sending. Stopping mid-frame is a protocol error worth reporting.
      const error = this.closing ? null : this.decoder.finish()
      if (error) this.onFrameError(error)
    })
    socket.on('error', (error) => {
      this.lastError ??= error
    })
    socket.on('close', () => {
      this.isClosed = true
      this.closing = true
      clearTimeout(this.graceTimer)
      this.held = []
      for (const cb of [...this.closeCallbacks]) cb(this.lastError)
      this.closeCallbacks.clear()
    })
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** True from the moment close was requested (or happened): no more frames are delivered. */
  get isClosing(): boolean {
    return this.closing
  }

  get writableLength(): number {
    return this.socket.writableLength
  }

  /** Route frames to `handler` (null: hold them). Held frames are delivered first, in order. */
  setHandler(handler: FrameHandler | null): void {
    this.handler = handler
    while (this.handler && this.held.length > 0 && !this.closing) this.handler(this.held.shift())
  }

  /** Register a callback for the close; returns a function that unregisters it. */
  onClose(cb: (error: Error | undefined) => void): () => void {
    if (this.isClosed) {
      queueMicrotask(() => cb(this.lastError))
      return () => {}
    }
    this.closeCallbacks.add(cb)
    return () => this.closeCallbacks.delete(cb)
  }

  /** Encode and write one frame. Throws FrameError if it exceeds the limit; no-op once closing. */
  send(obj: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): boolean {
    if (this.closing) return false
    return this.write(encodeFrame(obj, maxFrameBytes))
  }

  /**
   * Write an already encoded frame; no-op once closing. Frames written in the same tick are
   * coalesced into one write (cork now, uncork on the next tick).
   */
  write(frame: Buffer): boolean {
    if (this.closing) return false
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(() => {
        this.corked = false
        this.socket.uncork()
      })
    }
    this.socket.write(frame)
    return true
  }

  /** Send a last error frame (if any), half-close, and destroy shortly after if the peer lingers. */
  closeWithError(frame: ErrorFrame | null): void {
    if (this.closing) return
    this.closing = true
    this.held = []
    try {
      if (frame) this.socket.end(encodeFrame(frame))
      else this.socket.end()
    } catch {
      this.socket.destroy()
      return
    }
    this.graceTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS)
    this.graceTimer.unref()
  }

  destroy(): void {
    this.closing = true
    this.held = []
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return
    const {frames, error} = this.decoder.push(chunk)
    for (const frame of frames) {
      if (this.closing) return
      if (this.handler) this.handler(frame)
      else this.held.push(frame)
    }
    if (error && !this.closing) this.onFrameError(error)
  }
}

export interface DialOptions {
  host: string
  port: number
  clusterId: string
  secret: Secret
  /** 'peer' (requires nodeId) for Raft traffic, 'client' for requests and events. */
  role: ClientRole
  /** Our node id when role is 'peer'. */
  nodeId?: NodeId
  /** Refuse the server unless its hello names this node id. */
  expectNodeId?: NodeId
  /** Limit on TCP connect + handshake; default 2000 ms. */
  timeoutMs?: number
  /** Frame limit after authentication; default 16 MiB. */
  maxFrameBytes?: number
}

export interface Dialed {
  /** Authenticated; frames after the handshake are held until the caller calls setHandler(). */
  conn: FramedSocket
  serverNodeId: NodeId
}

/**
 * Connect and run the client side of the handshake. Rejects with a TransportError: 'connect'
 * (refused, unreachable), 'timeout', 'auth' (foreign cluster, wrong secret on either side, not the
 * expected node), 'protocol' or 'closed'.
 */
export function dial(options: DialOptions): Promise<Dialed> {
  const {host, port, clusterId, secret, role} = options
  const address = `${host}:${port}`
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  const nodeId = role === 'peer' ? options.nodeId : 0
  if (nodeId === undefined) throw new TypeError('dial: role peer needs nodeId')

  return new Promise<Dialed>((resolve, reject) => {
    const socket = netConnect({host, port})
    socket.setKeepAlive(true, 10_000)
    const conn = new FramedSocket(socket, {maxFrameBytes: PRE_AUTH_MAX_FRAME_BYTES, remote: address})
    let settled = false
    let connected = false
    let hello: HelloFrame | null = null
    let auth: AuthFrame | null = null

    /** Ends the attempt, either way; false if it had ended already. */
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      unClose()
      return true
    }
    const fail = ({error, reply}: Refusal): void => {
      if (!settle()) return
      if (reply) conn.closeWithError(reply)
      else conn.destroy()
      reject(error)
    }
    const timer = setTimeout(
      () => fail({error: new TransportError('timeout', `connecting to ${address} timed out after ${timeoutMs} ms`), reply: null}),
      timeoutMs,
    )
    socket.once('connect', () => {
      connected = true
    })
    const unClose = conn.onClose((error) => fail({error: closedError(address, connected, error), reply: null}))
    conn.onFrameError = (e) => fail({error: new TransportError('protocol', `${address} sent a bad frame: ${e.message}`), reply: null})

    conn.setHandler((frame) => {
      if (settled) return
      if (!hello) {
        const refusal = helloRefusal(frame, options, address)
        if (refusal) return fail(refusal)
        hello = frame as HelloFrame
        auth = makeAuth(secret, hello, {clusterId, role, nodeId}, newNonce())
        conn.send(auth, PRE_AUTH_MAX_FRAME_BYTES)
        return
      }
      const refusal = welcomeRefusal(frame, secret, hello, auth!, address)
      if (refusal) return fail(refusal)
      settle()
      conn.onFrameError = () => conn.destroy()
      conn.decoder.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
      conn.setHandler(null)
      resolve({conn, serverNodeId: hello.nodeId})
    })
  })
}

/** Why a dial fails: the error it rejects with, and the error frame (if any) sent before closing. */
interface Refusal {
  error: TransportError
  reply: ErrorFrame | null
}

/** The connection closed before the handshake finished: during it, or before TCP connected. */
function closedError(address: string, connected: boolean, error: Error | undefined): TransportError {
  if (connected) return new TransportError('closed', `${address} closed the connection during the handshake`)
  const why = (error as NodeJS.ErrnoException | undefined)?.code ?? error?.message ?? 'closed'
  return new TransportError('connect', `cannot connect to ${address} (${why})`, {cause: error})
}

/** A frame that is not the one expected (`why`): an error frame the server sent, or garbage. */
function unexpected(frame: unknown, why: string, address: string): Refusal {
  if (!isErrorFrame(frame)) return {error: new TransportError('protocol', `${address}: ${why}`), reply: errorFrame('protocol', why)}
  return {error: new TransportError(errorFrameCode(frame), `${address} refused the connection: ${frame.message}`), reply: null}
}

/** The server's hello, checked: well formed, our cluster, and the node we meant to reach. */
function helloRefusal(frame: unknown, options: DialOptions, address: string): Refusal | null {
  const why = helloProblem(frame)
  if (why) return unexpected(frame, why, address)
  const h = frame as HelloFrame
  if (h.clusterId !== options.clusterId) {
    return {
      error: new TransportError('auth', `${address} is node ${h.nodeId} of cluster ${h.clusterId}, not of cluster ${options.clusterId}`),
      reply: errorFrame('auth', `cluster id mismatch: the client belongs to cluster ${options.clusterId}`),
    }
  }
  if (options.expectNodeId !== undefined && h.nodeId !== options.expectNodeId) {
    return {
      error: new TransportError('auth', `${address} is node ${h.nodeId}, expected node ${options.expectNodeId}`),
      reply: errorFrame('auth', `node id mismatch: expected node ${options.expectNodeId}`),
    }
  }
  return null
}

/** The server's welcome, checked: well formed, and proof that it holds the cluster secret. */
function welcomeRefusal(frame: unknown, secret: Secret, hello: HelloFrame, auth: AuthFrame, address: string): Refusal | null {
  const why = welcomeProblem(frame)
  if (why) return unexpected(frame, why, address)
  if (!verifyWelcome(secret, hello, auth, frame as WelcomeFrame)) {
    return {
      error: new TransportError('auth', `${address} did not prove it holds the cluster secret (wrong secret?)`),
      reply: errorFrame('auth', 'server proof failed: the server does not hold our cluster secret'),
    }
  }
  return null
}
