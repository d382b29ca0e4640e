// The connection handshake: mutual challenge–response over the cluster secret.
//
//   server → client  {k:'hello',   v:1, clusterId, nodeId, nonce}                 nonce: 32 random bytes
//   client → server  {k:'auth',    v:1, clusterId, role, nodeId?, nonce, mac}     mac = clientProof(...)
//   server → client  {k:'welcome', v:1, mac}                                      mac = serverProof(...)
//   either side      {error:'auth', message}                                      then close
//
// Both MACs are HMAC-SHA256 keyed with the secret over a length-prefixed transcript of: a direction
// label, the protocol version, the cluster id, the server's node id, the client's role and node id,
// and both nonces. The label makes a MAC from one direction useless in the other (no reflection),
// the nonces make each MAC single-use, and binding ids and role means a captured client MAC cannot
// be replayed as another peer. Nothing but these frames is accepted until the handshake completes.
// (No encryption: the threat model is a mis-pointed or foreign process on the port, not a wiretap.)

import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto'
import type {NodeId} from '../core/types.js'
import {isNodeId} from '../core/types.js'
import {show} from './validate.js'

export const PROTOCOL_VERSION = 1
export const NONCE_BYTES = 32
const MAC_BYTES = 32
/** Frames before authentication are tiny; an unauthenticated sender cannot make us buffer more. */
export const PRE_AUTH_MAX_FRAME_BYTES = 4096
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 2000

export type Secret = string | Uint8Array

export type ClientRole = 'peer' | 'client'

export interface HelloFrame {
  k: 'hello'
  v: number
  clusterId: string
  nodeId: NodeId
  nonce: Uint8Array
}

export interface AuthFrame {
  k: 'auth'
  v: number
  clusterId: string
  role: ClientRole
  /** The dialing node's id; 0 for role 'client'. */
  nodeId: NodeId | 0
  nonce: Uint8Array
  mac: Uint8Array
}

export interface WelcomeFrame {
  k: 'welcome'
  v: number
  mac: Uint8Array
}

/** A connection-level error sent just before closing: `auth`, `protocol` or `timeout`. */
export interface ErrorFrame {
  error: string
  message: string
}

export const newNonce = (): Buffer => randomBytes(NONCE_BYTES)

interface Transcript {
  clusterId: string
  serverNodeId: NodeId
  role: ClientRole
  clientNodeId: NodeId | 0
  serverNonce: Uint8Array
  clientNonce: Uint8Array
}

function mac(label: string, secret: Secret, t: Transcript): Buffer {
  const h = createHmac('sha256', secret)
  const field = (value: string | Uint8Array): void => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    const length = Buffer.allocUnsafe(4)
    length.writeUInt32BE(bytes.length, 0)
    h.update(length)
    h.update(bytes)
  }
  field(label)
  field(`raftctl-transport/${PROTOCOL_VERSION}`)
  field(t.clusterId)
  field(String(t.serverNodeId))
  field(t.role)
  field(String(t.clientNodeId))
  field(t.serverNonce)
  field(t.clientNonce)
  return h.digest()
}

/** What the dialing side proves: it holds the secret, for this server, cluster, role and id. */
export const clientProof = (secret: Secret, t: Transcript): Buffer => mac('client-proof', secret, t)
/** What the accepting side proves back. */
export const serverProof = (secret: Secret, t: Transcript): Buffer => mac('server-proof', secret, t)

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

const isBytes = (x: unknown, length: number): x is Uint8Array => x instanceof Uint8Array && x.length === length
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isClusterId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 256

export function helloProblem(x: unknown): string | null {
  if (isErrorFrame(x)) return `server refused: ${x.error}: ${x.message}`
  if (!isRecord(x) || x['k'] !== 'hello') return `expected a hello frame, got ${show(x)}`
  if (x['v'] !== PROTOCOL_VERSION) return `unsupported protocol version ${show(x['v'])}`
  if (!isClusterId(x['clusterId'])) return `bad cluster id ${show(x['clusterId'])}`
  if (!isNodeId(x['nodeId'])) return `bad node id ${show(x['nodeId'])}`
  if (!isBytes(x['nonce'], NONCE_BYTES)) return `bad nonce ${show(x['nonce'])}`
  return null
}

export function authProblem(x: unknown): string | null {
  if (isErrorFrame(x)) return `client refused: ${x.error}: ${x.message}`
  if (!isRecord(x) || x['k'] !== 'auth') return `expected an auth frame, got ${show(x)}`
  if (x['v'] !== PROTOCOL_VERSION) return `unsupported protocol version ${show(x['v'])}`
  if (!isClusterId(x['clusterId'])) return `bad cluster id ${show(x['clusterId'])}`
  const role = x['role']
  if (role !== 'peer' && role !== 'client') return `unknown role ${show(role)}`
  if (role === 'peer' ? !isNodeId(x['nodeId']) : x['nodeId'] !== 0) return `bad node id ${show(x['nodeId'])} for role ${role}`
  if (!isBytes(x['nonce'], NONCE_BYTES)) return `bad nonce ${show(x['nonce'])}`
  if (!isBytes(x['mac'], MAC_BYTES)) return `bad mac ${show(x['mac'])}`
  return null
}

export function welcomeProblem(x: unknown): string | null {
  if (isErrorFrame(x)) return `server refused: ${x.error}: ${x.message}`
  if (!isRecord(x) || x['k'] !== 'welcome') return `expected a welcome frame, got ${show(x)}`
  if (x['v'] !== PROTOCOL_VERSION) return `unsupported protocol version ${show(x['v'])}`
  if (!isBytes(x['mac'], MAC_BYTES)) return `bad mac ${show(x['mac'])}`
  return null
}

export function isErrorFrame(x: unknown): x is ErrorFrame {
  return isRecord(x) && typeof x['error'] === 'string' && typeof x['message'] === 'string' && !('k' in x)
}

export function errorFrame(error: 'auth' | 'protocol' | 'timeout', message: string): ErrorFrame {
  return {error, message}
}

/** The TransportError code for an error frame received from the other side. */
export function errorFrameCode(frame: ErrorFrame): 'auth' | 'timeout' | 'protocol' {
  return frame.error === 'auth' ? 'auth' : frame.error === 'timeout' ? 'timeout' : 'protocol'
}

export function makeHello(clusterId: string, nodeId: NodeId, nonce: Uint8Array): HelloFrame {
  return {k: 'hello', v: PROTOCOL_VERSION, clusterId, nodeId, nonce}
}

/** The client's answer to a hello it has already checked (cluster id, expected node id). */
export function makeAuth(
  secret: Secret,
  hello: HelloFrame,
  who: {clusterId: string; role: ClientRole; nodeId: NodeId | 0},
  clientNonce: Uint8Array,
): AuthFrame {
  const t: Transcript = {
    clusterId: who.clusterId,
    serverNodeId: hello.nodeId,
    role: who.role,
    clientNodeId: who.nodeId,
    serverNonce: hello.nonce,
    clientNonce,
  }
  return {
    k: 'auth',
    v: PROTOCOL_VERSION,
    clusterId: who.clusterId,
    role: who.role,
    nodeId: who.nodeId,
    nonce: clientNonce,
    mac: clientProof(secret, t),
  }
}

export type AuthVerdict = {ok: true; welcome: WelcomeFrame; role: ClientRole; nodeId: NodeId | 0} | {ok: false; reason: string}

/** Server side: check an auth frame (already shape-checked) against our hello. */
export function verifyAuth(secret: Secret, server: {clusterId: string; nodeId: NodeId; nonce: Uint8Array}, auth: AuthFrame): AuthVerdict {
  if (auth.clusterId !== server.clusterId) {
    return {ok: false, reason: `wrong cluster id ${show(auth.clusterId)} (this node is in cluster ${show(server.clusterId)})`}
  }
  const t: Transcript = {
    clusterId: server.clusterId,
    serverNodeId: server.nodeId,
    role: auth.role,
    clientNodeId: auth.nodeId,
    serverNonce: server.nonce,
    clientNonce: auth.nonce,
  }
  if (!macEquals(clientProof(secret, t), auth.mac)) return {ok: false, reason: 'wrong cluster secret'}
  if (macEquals(auth.nonce, server.nonce)) return {ok: false, reason: 'nonce reflected'}
  return {
    ok: true,
    role: auth.role,
    nodeId: auth.nodeId,
    welcome: {k: 'welcome', v: PROTOCOL_VERSION, mac: serverProof(secret, t)},
  }
}

/** Client side: does the welcome prove the server holds the secret? */
export function verifyWelcome(secret: Secret, hello: HelloFrame, auth: AuthFrame, welcome: WelcomeFrame): boolean {
  const t: Transcript = {
    clusterId: auth.clusterId,
    serverNodeId: hello.nodeId,
    role: auth.role,
    clientNodeId: auth.nodeId,
    serverNonce: hello.nonce,
    clientNonce: auth.nonce,
  }
  return macEquals(serverProof(secret, t), welcome.mac)
}
