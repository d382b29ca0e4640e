// ClientConnection: one authenticated client connection to one node, for the CLI, the benchmark
// and the dashboard. Requests are multiplexed by id ({k:'req', id, body} → {k:'res', id, ...}),
// so any number may be in flight; events pushed by the server ({k:'evt', body}) go to subscribers.
// Invariant: every request settles exactly once — with the response, or with a TransportError
// ('timeout', 'closed', 'remote', 'protocol', 'too-large') — and a closed connection rejects all
// of them at once. Connecting costs one TCP connect and one handshake round trip.

import {dial, type FramedSocket} from './connection.js'
import {TransportError} from './errors.js'
import {DEFAULT_MAX_FRAME_BYTES, encodeFrame} from './framing.js'
import {DEFAULT_HANDSHAKE_TIMEOUT_MS, errorFrameCode, isErrorFrame, type Secret} from './handshake.js'
import type {NodeId} from '../core/types.js'
import {isIndex} from '../core/types.js'
import {show} from './validate.js'

export interface ClientConnectOptions {
  host: string
  port: number
  clusterId: string
  secret: Secret
  /** Limit on TCP connect + handshake; default 2000 ms. */
  timeoutMs?: number
  /** Refuse the server unless it is this node. */
  expectNodeId?: NodeId
  /** Default 16 MiB. */
  maxFrameBytes?: number
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: TransportError) => void
  timer: NodeJS.Timeout | undefined
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000

export class ClientConnection {
  /** The node this connection is authenticated to. */
  readonly serverNodeId: NodeId
  readonly address: string
  private readonly conn: FramedSocket
  private readonly maxFrameBytes: number
  private pending = new Map<number, Pending>()
  private nextId = 1
  private subscribers = new Set<(body: unknown) => void>()
  private closeListeners = new Set<(error: TransportError) => void>()
  private closeError: TransportError | null = null
  private closedPromise: Promise<void>

  /** Connect and authenticate (both ways). Rejects with TransportError 'connect' | 'timeout' | 'auth' | 'protocol' | 'closed'. */
  static async connect(options: ClientConnectOptions): Promise<ClientConnection> {
    const {conn, serverNodeId} = await dial({
      host: options.host,
      port: options.port,
      clusterId: options.clusterId,
      secret: options.secret,
      role: 'client',
      ...(options.expectNodeId !== undefined ? {expectNodeId: options.expectNodeId} : {}),
      timeoutMs: options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    })
    return new ClientConnection(conn, serverNodeId, options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
  }

  private constructor(conn: FramedSocket, serverNodeId: NodeId, maxFrameBytes: number) {
    this.conn = conn
    this.serverNodeId = serverNodeId
    this.address = conn.remote
    this.maxFrameBytes = maxFrameBytes
    this.closedPromise = new Promise((resolve) => {
      conn.onClose(() => {
        this.shutDown(new TransportError('closed', `connection to ${this.address} closed`))
        resolve()
      })
    })
    conn.onFrameError = (e) => this.fatal(new TransportError('protocol', `${this.address} sent a bad frame: ${e.message}`))
    conn.setHandler((frame) => this.onFrame(frame))
  }

  get closed(): boolean {
    return this.closeError !== null
  }

  /** Requests sent and not yet answered. */
  get inflight(): number {
    return this.pending.size
  }

  /**
   * Send `body` and wait for the node's answer. Rejects with TransportError: 'timeout' after
   * `timeoutMs` (default 5 s; the request may still take effect), 'closed', 'remote' (the
   * handler failed; see remoteCode), 'too-large'.
   */
  request(body: unknown, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<unknown> {
    if (this.closeError) return Promise.reject(this.closeError)
    const id = this.nextId++
    let frame: Buffer
    try {
      frame = encodeFrame({k: 'req', id, body}, this.maxFrameBytes)
    } catch (error) {
      return Promise.reject(new TransportError('too-large', `request not sent: ${error instanceof Error ? error.message : String(error)}`))
    }
    return new Promise((resolve, reject) => {
      const p: Pending = {resolve, reject, timer: undefined}
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        p.timer = setTimeout(() => {
          this.pending.delete(id)
          reject(new TransportError('timeout', `no answer from ${this.address} within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.pending.set(id, p)
      this.conn.write(frame)
    })
  }

  /**
   * Receive the events this connection is sent ({k:'evt'}). Which request starts the stream is up
   * to the application protocol. Returns an unsubscribe function.
   */
  subscribe(onEvent: (body: unknown) => void): () => void {
    this.subscribers.add(onEvent)
    return () => this.subscribers.delete(onEvent)
  }

  /** Called once when the connection closes, for whatever reason. */
  onClose(cb: (error: TransportError) => void): () => void {
    if (this.closeError) {
      const error = this.closeError
      queueMicrotask(() => cb(error))
      return () => {}
    }
    this.closeListeners.add(cb)
    return () => this.closeListeners.delete(cb)
  }

  /** Close the connection; pending requests reject with 'closed'. Resolves once the socket is closed. */
  close(): Promise<void> {
    this.shutDown(new TransportError('closed', `connection to ${this.address} closed by the client`))
    this.conn.destroy()
    return this.closedPromise
  }

  private onFrame(frame: unknown): void {
    if (typeof frame === 'object' && frame !== null && !Array.isArray(frame)) {
      const f = frame as Record<string, unknown>
      if (f['k'] === 'res' && isIndex(f['id'])) return this.onResponse(f['id'], f)
      if (f['k'] === 'evt') {
        for (const cb of [...this.subscribers]) cb(f['body'])
        return
      }
    }
    if (isErrorFrame(frame)) {
      return this.fatal(new TransportError(errorFrameCode(frame), `${this.address} closed the connection: ${frame.message}`))
    }
    this.fatal(new TransportError('protocol', `${this.address} sent an unexpected frame ${show(frame)}`))
  }

  private onResponse(id: number, f: Record<string, unknown>): void {
    const p = this.pending.get(id)
    if (!p) return // timed out already
    this.pending.delete(id)
    clearTimeout(p.timer)
    const error = f['error']
    if (error !== undefined) {
      const e = (typeof error === 'object' && error !== null ? error : {}) as {code?: unknown; message?: unknown}
      const code = typeof e.code === 'string' ? e.code : 'internal'
      const message = typeof e.message === 'string' ? e.message : 'request failed'
      p.reject(new TransportError('remote', message, {remoteCode: code}))
    } else {
      p.resolve(f['body'])
    }
  }

  private fatal(error: TransportError): void {
    this.shutDown(error)
    this.conn.destroy()
  }

  private shutDown(error: TransportError): void {
    if (this.closeError) return
    this.closeError = error
    const pending = [...this.pending.values()]
    this.pending.clear()
    for (const p of pending) {
      clearTimeout(p.timer)
      p.reject(error)
    }
    for (const cb of [...this.closeListeners]) cb(error)
    this.closeListeners.clear()
    this.subscribers.clear()
  }
}
