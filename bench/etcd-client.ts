// The etcd side of bench/compare-etcd.sh: the same closed loop, latency recorder, percentiles,
// summary and progress code as `raftctl bench` (imported from src/bench/), driving
// etcd's native gRPC API through a small hand-rolled client over Node's http2 — no generated
// stubs, no dependencies. gRPC framing: 1 byte compressed flag (0) + 4-byte big-endian length +
// protobuf; the two length-delimited fields of PutRequest (key=1, value=2) and RangeRequest
// (key=1) are encoded by hand; the outcome is `grpc-status` in the trailers (or in the headers of
// a trailers-only answer).
//
//   node --import tsx bench/etcd-client.ts --endpoints http://127.0.0.1:2379,... \
//     [--clients 64] [--duration 10s] [--value-size 100] [--keys 1000] [--op put|get|mixed] \
//     [--target leader|all] [--conns N] [--timeout 5s] [--json]
//
// --target leader (default) points every client at the leader's endpoint, as raftctl's clients
// end up at the leader; --target all spreads them over the endpoints (followers forward).
// Each client has its own HTTP/2 connection by default, as each raftctl bench client has its own
// TCP one; --conns N shares N connections among the clients (as etcd's own benchmark tool does).
import http2 from 'node:http2'
import {parseDuration} from '../src/lib/duration.js'
import {
  benchKey,
  benchValue,
  closedLoop,
  formatSummary,
  LeaderChangeCounter,
  pickOp,
  ProgressReporter,
  summarize,
  type BenchOp,
} from '../src/bench/index.js'

// ------------------------------------------------------------------------------ protobuf, by hand

function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Buffer.from(out)
}

/** A length-delimited field (wire type 2). */
function bytesField(field: number, value: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value])
}

export function encodePutRequest(key: Buffer, value: Buffer): Buffer {
  return Buffer.concat([bytesField(1, key), bytesField(2, value)])
}

export function encodeRangeRequest(key: Buffer): Buffer {
  return bytesField(1, key)
}

/** gRPC message framing: compressed flag 0, 4-byte big-endian length, the message. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt8(0, 0)
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

type Field = {field: number; wire: number; value: bigint | Buffer}

/** Decodes one protobuf message into its fields (varints as bigint, length-delimited as Buffer). */
export function decodeFields(buf: Buffer): Field[] {
  const fields: Field[] = []
  let i = 0
  const readVarint = (): bigint => {
    let result = 0n
    let shift = 0n
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint')
      const b = buf[i++]!
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
    }
  }
  while (i < buf.length) {
    const tag = Number(readVarint())
    const field = tag >>> 3
    const wire = tag & 7
    if (wire === 0) fields.push({field, wire, value: readVarint()})
    else if (wire === 2) {
      const len = Number(readVarint())
      fields.push({field, wire, value: buf.subarray(i, i + len)})
      i += len
    } else if (wire === 1) i += 8
    else if (wire === 5) i += 4
    else throw new Error(`unsupported wire type ${wire}`)
  }
  return fields
}

// ------------------------------------------------------------------------------ a gRPC call over http2

export class GrpcError extends Error {
  constructor(
    message: string,
    readonly grpcStatus: number | null,
  ) {
    super(message)
  }
}

/** One HTTP/2 connection to one etcd endpoint; reconnects after it fails. */
export class EtcdConnection {
  private session: http2.ClientHttp2Session | null = null

  constructor(readonly endpoint: string) {}

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session
    const s = http2.connect(this.endpoint)
    s.on('error', () => {})
    s.on('close', () => {
      if (this.session === s) this.session = null
    })
    this.session = s
    return s
  }

  /** Calls `path` with one request message; resolves with the response message. */
  call(path: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let session: http2.ClientHttp2Session
      try {
        session = this.connect()
      } catch (err) {
        return reject(err)
      }
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
      })
      const chunks: Buffer[] = []
      let status: number | null = null
      let statusMessage = ''
      const noteStatus = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) {
          status = Number(h['grpc-status'])
          statusMessage = decodeURIComponent(String(h['grpc-message'] ?? ''))
        }
      }
      const timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL)
        reject(new GrpcError(`${path}: no answer from ${this.endpoint} within ${timeoutMs} ms`, null))
      }, timeoutMs)
      req.on('response', (headers) => {
        const httpStatus = headers[':status']
        if (httpStatus !== 200) {
          clearTimeout(timer)
          reject(new GrpcError(`${path}: HTTP ${httpStatus} from ${this.endpoint}`, null))
          req.close()
          return
        }
        noteStatus(headers)
      })
      req.on('trailers', noteStatus)
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('error', (err) => {
        clearTimeout(timer)
        reject(new GrpcError(`${path}: ${err.message}`, null))
      })
      req.on('end', () => {
        clearTimeout(timer)
        if (status !== 0) {
          reject(new GrpcError(`${path}: grpc-status ${status ?? 'missing'}${statusMessage ? ` (${statusMessage})` : ''}`, status))
          return
        }
        const body = Buffer.concat(chunks)
        if (body.length < 5) return resolve(Buffer.alloc(0))
        const len = body.readUInt32BE(1)
        resolve(body.subarray(5, 5 + len))
      })
      req.end(grpcFrame(message))
    })
  }

  close(): void {
    this.session?.close()
    this.session = null
  }
}

export interface EtcdStatus {
  memberId: bigint
  leader: bigint
  raftTerm: bigint
}

/** Maintenance.Status of one endpoint: its member id (from the header), the leader it knows, its term. */
export async function etcdStatus(conn: EtcdConnection, timeoutMs = 500): Promise<EtcdStatus> {
  const msg = await conn.call('/etcdserverpb.Maintenance/Status', Buffer.alloc(0), timeoutMs)
  let memberId = 0n
  let leader = 0n
  let raftTerm = 0n
  for (const f of decodeFields(msg)) {
    if (f.field === 1 && f.wire === 2) {
      for (const h of decodeFields(f.value as Buffer)) if (h.field === 2 && h.wire === 0) memberId = h.value as bigint
    } else if (f.field === 4 && f.wire === 0) leader = f.value as bigint
    else if (f.field === 6 && f.wire === 0) raftTerm = f.value as bigint
  }
  return {memberId, leader, raftTerm}
}

/** The 1-based index of the endpoint that every answering endpoint names as leader, or null. */
export function agreedEtcdLeader(statuses: (EtcdStatus | null)[]): {index: number; term: number} | null {
  const up = statuses.filter((s): s is EtcdStatus => s !== null)
  if (up.length === 0) return null
  const leader = up[0]!.leader
  if (leader === 0n || up.some((s) => s.leader !== leader)) return null
  const index = statuses.findIndex((s) => s !== null && s.memberId === leader)
  if (index < 0) return null
  return {index: index + 1, term: Number(up.reduce((t, s) => (s.raftTerm > t ? s.raftTerm : t), 0n))}
}

// ------------------------------------------------------------------------------ the benchmark

function flag(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  if (i >= 0) return process.argv[i + 1]
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`))
  return eq ? eq.slice(name.length + 3) : fallback
}

function die(message: string, code = 2): never {
  process.stderr.write(`Error: ${message}\n`)
  process.exit(code)
}

function intArg(name: string, fallback: number, min: number, max: number): number {
  const text = flag(name, String(fallback))!
  if (!/^\d+$/.test(text)) die(`--${name} must be an integer, got ${JSON.stringify(text)}`)
  const n = Number(text)
  if (n < min || n > max) die(`--${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

function durationArg(name: string, fallback: string): number {
  const r = parseDuration(flag(name, fallback)!)
  if (!r.ok) die(`--${name}: ${r.problem}`)
  if (r.ms <= 0) die(`--${name} must be more than 0`)
  return r.ms
}

async function main(): Promise<void> {
  const endpoints = (flag('endpoints') ?? die('--endpoints is required (comma-separated http://host:port)')).split(',').filter(Boolean)
  const clients = intArg('clients', 64, 1, 4096)
  const durationMs = durationArg('duration', '10s')
  const timeoutMs = durationArg('timeout', '5s')
  const valueSize = intArg('value-size', 100, 0, 1024 * 1024)
  const keys = intArg('keys', 1000, 1, 100_000_000)
  const op = (flag('op', 'put') as BenchOp)
  if (!['put', 'get', 'mixed'].includes(op)) die(`--op must be put, get or mixed, got ${JSON.stringify(op)}`)
  const target = flag('target', 'leader')
  if (target !== 'leader' && target !== 'all') die(`--target must be leader or all, got ${JSON.stringify(target)}`)
  const json = process.argv.includes('--json')

  const admin = endpoints.map((e) => new EtcdConnection(e))
  const statusAll = () => Promise.all(admin.map((c) => etcdStatus(c).catch(() => null)))
  let initial: {index: number; term: number} | null = null
  const deadline = Date.now() + 10_000
  while (!(initial = agreedEtcdLeader(await statusAll()))) {
    if (Date.now() > deadline) die('etcd has no agreed leader within 10s', 4)
    await new Promise((r) => setTimeout(r, 50))
  }

  // --conns N: the clients share N HTTP/2 connections (streams multiplex); default one per client.
  const connCount = intArg('conns', clients, 1, clients)
  const shared = Array.from({length: connCount}, (_, c) => new EtcdConnection(target === 'leader' ? endpoints[initial!.index - 1]! : endpoints[c % endpoints.length]!))
  const conns = Array.from({length: clients}, (_, c) => shared[c % connCount]!)
  const values = conns.map(() => Buffer.from(benchValue(valueSize)))
  const one = async (c: number) => {
    const key = Buffer.from(benchKey(keys))
    if (pickOp(op) === 'get') await conns[c]!.call('/etcdserverpb.KV/Range', encodeRangeRequest(key), timeoutMs)
    else await conns[c]!.call('/etcdserverpb.KV/Put', encodePutRequest(key, values[c]!), timeoutMs)
  }

  const watch = new LeaderChangeCounter()
  watch.observe(initial.index, initial.term)
  await Promise.all(conns.map((_, c) => one(c).catch(() => {})))
  const progress = new ProgressReporter(process.stderr, process.env)
  const loop = closedLoop({clients, durationMs, op: one, onProgress: (s) => progress.update(s), progressEveryMs: progress.intervalMs})
  let polling = true
  const poller = (async () => {
    while (polling) {
      const l = agreedEtcdLeader(await statusAll())
      watch.observe(l?.index ?? null, l?.term ?? null)
      await new Promise((r) => setTimeout(r, 200))
    }
  })()
  const r = await loop.result
  polling = false
  await poller
  progress.done()
  for (const c of [...shared, ...admin]) c.close()
  const result = summarize(r.latencies, r.elapsedMs, r.errors, watch.changes)
  if (json) process.stdout.write(JSON.stringify(result) + '\n')
  else {
    process.stdout.write(formatSummary(result, {op, clients, durationMs, valueSize, keys, target: `etcd (${endpoints.length} members, clients on ${target === 'leader' ? 'the leader' : 'all members'})`}))
    if (r.errorSamples.length > 0) process.stderr.write(`First errors:\n${r.errorSamples.map((e) => `  ${e}\n`).join('')}`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => die(err instanceof Error ? err.message : String(err), 1))
}
