// Test helpers: a raw socket that speaks (or deliberately mangles) the wire protocol, and small
// fixtures for servers and messages. Not a test file itself.

import {connect, type Socket} from 'node:net'
import {once} from 'node:events'
import type {AppendEntries, Message, NodeId} from '../../src/core/types.js'
import {encodeFrame, FrameDecoder} from '../../src/transport/framing.js'
import {makeAuth, newNonce, type HelloFrame, type Secret} from '../../src/transport/handshake.js'
import {NodeServer, type NodeServerOptions} from '../../src/transport/server.js'

export const CLUSTER = 'c-test'
export const SECRET = 'secret-0123456789abcdef'

/** A socket with a frame decoder: read frames one by one, see when the server closes. */
export class RawConn {
  readonly decoder = new FrameDecoder()
  private frames: unknown[] = []
  private waiters: Array<() => void> = []
  readonly closed: Promise<void>
  isClosed = false

  private constructor(readonly socket: Socket) {
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      const {frames} = this.decoder.push(chunk)
      this.frames.push(...frames)
      this.wake()
    })
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true
        this.wake()
        resolve()
      }),
    )
  }

  static async open(port: number): Promise<RawConn> {
    const socket = connect({host: '127.0.0.1', port})
    await once(socket, 'connect')
    return new RawConn(socket)
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  /** The next frame, or null if the connection closes first. */
  async next(timeoutMs = 2000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs
    while (this.frames.length === 0) {
      if (this.isClosed) return null
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('RawConn.next: timed out')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.frames.shift()
  }

  send(obj: unknown): void {
    this.socket.write(encodeFrame(obj))
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes)
  }

  /** Resolves true if the server closes the connection within `timeoutMs`. */
  async closesWithin(timeoutMs = 2000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))
    const result = await Promise.race([this.closed.then(() => true), timeout])
    clearTimeout(timer)
    return result
  }

  destroy(): void {
    this.socket.destroy()
  }

  /** Complete the handshake by hand. Returns the frame the server answered with (welcome or error). */
  async handshake(who: {clusterId?: string; secret?: Secret; role: 'peer' | 'client'; nodeId?: NodeId}): Promise<unknown> {
    const hello = (await this.next()) as HelloFrame
    const auth = makeAuth(
      who.secret ?? SECRET,
      hello,
      {clusterId: who.clusterId ?? CLUSTER, role: who.role, nodeId: who.role === 'peer' ? (who.nodeId ?? 2) : 0},
      newNonce(),
    )
    this.send(auth)
    return this.next()
  }
}

export async function startServer(overrides: Partial<NodeServerOptions> = {}): Promise<{server: NodeServer; port: number; logs: string[]}> {
  const logs: string[] = []
  const server = new NodeServer({
    nodeId: 1,
    clusterId: CLUSTER,
    secret: SECRET,
    port: 0,
    log: (line) => logs.push(line),
    onRequest: (body) => ({echo: body}),
    ...overrides,
  })
  const {port} = await server.listen()
  return {server, port, logs}
}

export function heartbeat(from: NodeId, to: NodeId, term = 1, readSeq = 0): AppendEntries {
  return {type: 'AppendEntries', from, to, term, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, readSeq}
}

export function sampleMessages(from: NodeId, to: NodeId): Message[] {
  return [
    {type: 'RequestVote', from, to, term: 3, lastLogIndex: 10, lastLogTerm: 2, preVote: true, transfer: false},
    {type: 'RequestVoteResponse', from, to, term: 3, voteGranted: true, preVote: false},
    {
      type: 'AppendEntries',
      from,
      to,
      term: 3,
      prevLogIndex: 4,
      prevLogTerm: 2,
      entries: [
        {term: 2, index: 5, type: 'normal', data: {op: 'put', key: 'k', value: 'v'}},
        {term: 3, index: 6, type: 'noop'},
      ],
      leaderCommit: 4,
      readSeq: 7,
    },
    {type: 'AppendEntriesResponse', from, to, term: 3, success: false, matchIndex: 0, rejectedIndex: 4, conflictIndex: 3, conflictTerm: 1, readSeq: 7},
    {type: 'InstallSnapshot', from, to, term: 3, snapshot: {lastIncludedIndex: 9, lastIncludedTerm: 2, data: {kv: {a: '1'}}}},
    {type: 'InstallSnapshotResponse', from, to, term: 3, matchIndex: 9},
    {type: 'TimeoutNow', from, to, term: 3},
  ]
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
