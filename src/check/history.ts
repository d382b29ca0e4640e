// The history of a `raftctl check` run: one record per client operation (invoke and completion
// times, outcome) and one per nemesis action, written as NDJSON to the cluster directory (format:
// docs/check.md), and turned into the register history the linearizability checker reads.
// Invariant: an operation's record is written once, when its outcome is known; an indeterminate
// write keeps the time the client gave up as `complete`, but the checker lets it take effect at
// any time after its invoke, or never.
import {createWriteStream, openSync, type WriteStream} from 'node:fs'
import type {HistoryOp, KvOp, KvResult} from '../linearizability/index.js'
import type {LinkFault} from '../transport/link-filter.js'

/** 2: operations named get/put/cas (version 1 said read/write/cas; both are read). */
export const HISTORY_VERSION = 2
/** The history's file name in the run's directory (check-<UTC time>/). */
export const HISTORY_FILE = 'history.ndjson'

/** The operations, named as the wire names them (put, get, cas; a del is never run by check). */
export type OpName = 'get' | 'put' | 'cas'
export const OP_NAMES: readonly OpName[] = ['get', 'put', 'cas']

/**
 * ok: took effect with this result. failed: definitely did not take effect (a read that got no
 * answer, a cas refused as mismatch/not-found — those still observed the register). indeterminate:
 * the client gave up waiting; a write may or may not have taken effect.
 */
export type OpStatus = 'ok' | 'failed' | 'indeterminate'

export interface OpRecord {
  id: number
  /** The client (0..C-1) that ran the op. */
  client: number
  /** Jepsen-style process: the client number, plus C after each of its indeterminate ops. */
  process: number
  op: OpName
  key: string
  /** put, cas: the value written. get (ok): the value read, null when the key is absent. */
  value?: string | null
  /** cas: the value the key must hold. */
  expected?: string
  /** Milliseconds since the run started (monotonic clock). */
  invoke: number
  /** When the client got its answer, or gave up (indeterminate). */
  complete: number
  status: OpStatus
  /** failed/indeterminate: why — 'mismatch', 'not-found', 'unavailable', 'timeout', ... */
  error?: string
  /** cas failed with 'mismatch': the value the key held. */
  current?: string
  /** The node that answered (ops with a result). */
  node?: number
}

export type NemesisAction =
  'partition' | 'net' | 'heal' | 'kill' | 'restart' | 'pause' | 'resume' | 'slow-disk' | 'disk-restore' | 'crash' | 'demote' | 'promote'

export interface NemesisRecord {
  nemesis: NemesisAction
  /** Milliseconds since the run started, when the action began. */
  time: number
  /** How long the action took (ms). */
  took: number
  /** The nodes it targeted (partition: the nodes cut off from the leader side, if any). */
  nodes: number[]
  /** The `--faults` kind it belongs to (partition, bridge, tethered, one-way, delay, ...). */
  fault?: string
  /** partition: isolate, isolate-leader, halves, ring, bridge, tethered, one-way, deaf; net: delay, loss, duplicate. */
  kind?: string
  groups?: number[][]
  cuts?: {from: number; to: number}[]
  /** net: the link faults pushed. */
  links?: LinkFault[]
  /** slow-disk: the added fsync delay (ms). */
  fsyncDelayMs?: number
  /** net: a background fault (a slow network held across the other faults), or its end. */
  background?: boolean
  /** Human-readable, as printed in the progress lines. */
  text: string
  /** Set when the action did not fully succeed (e.g. a node that did not answer). */
  error?: string
}

/** A history line a few times a second: what every node said of itself (null: no answer). */
export interface StatusRecord {
  status: {
    time: number
    /** The leader the answering nodes agree on, and its term. */
    leader: number | null
    term: number | null
    nodes: ({role: string; term: number; commit: number} | null)[]
  }
}

/**
 * A history line marking a phase: the final heal began; the quiet period began; the durability
 * phase began (clients write write-once keys, then every node is killed and restarted); the
 * read-back of those keys began.
 */
export interface PhaseRecord {
  phase: 'final-heal' | 'quiet' | 'durability' | 'read-back'
  time: number
}

/**
 * How the ops of a run ended, per type. `refused` is a cas that compared and found another value
 * (or no key): a normal answer, not a failure, so it is counted apart from `failed`.
 */
export type Outcome = 'ok' | 'refused' | 'failed' | 'indeterminate'
export const OUTCOMES: readonly Outcome[] = ['ok', 'refused', 'failed', 'indeterminate']
export type Counts = Record<OpName, Record<Outcome, number>>

export function emptyCounts(): Counts {
  const c = {} as Counts
  for (const op of OP_NAMES) c[op] = {ok: 0, refused: 0, failed: 0, indeterminate: 0}
  return c
}

export function outcomeOf(r: OpRecord): Outcome {
  return r.status === 'failed' && r.op === 'cas' && (r.error === 'mismatch' || r.error === 'not-found') ? 'refused' : r.status
}

export function countOps(ops: readonly OpRecord[]): Counts {
  const c = emptyCounts()
  for (const r of ops) c[r.op][outcomeOf(r)]++
  return c
}

/**
 * The register history the checker reads. Reads that failed have no effect and constrain
 * nothing, so they are left out (as are reads that somehow became indeterminate); indeterminate
 * writes and cas become 'unknown' ops that may take effect any time after their invoke, or never.
 */
export function toCheckerHistory(ops: readonly OpRecord[]): HistoryOp[] {
  const out: HistoryOp[] = []
  for (const r of ops) {
    const op = kvOp(r)
    const result = kvResult(r)
    if (result === null) continue
    // An unknown op keeps the time its client gave up: the checker lets it take effect any time
    // after its invoke whatever `complete` says, and excerpts show when the client stopped waiting.
    out.push({id: r.id, client: r.client, op, invoke: r.invoke, complete: r.complete, result})
  }
  return out
}

function kvOp(r: OpRecord): KvOp {
  switch (r.op) {
    case 'get':
      return {type: 'get', key: r.key}
    case 'put':
      return {type: 'put', key: r.key, value: req(r.value, r, 'value')}
    case 'cas':
      return {type: 'cas', key: r.key, expected: req(r.expected, r, 'expected'), value: req(r.value, r, 'value')}
  }
}

/** The checker's result for a record, or null when the op is left out. */
function kvResult(r: OpRecord): KvResult | null {
  if (r.op === 'get') return r.status === 'ok' ? {status: 'ok', value: r.value ?? null} : null
  if (r.status === 'ok') return {status: 'ok'}
  if (r.status === 'indeterminate') return {status: 'unknown'}
  // Failed writes: a cas refused after reading the register is a definite observation.
  if (r.op === 'cas' && r.error === 'mismatch') return {status: 'mismatch', current: req(r.current, r, 'current')}
  if (r.op === 'cas' && r.error === 'not-found') return {status: 'not-found'}
  // Any other failure: the write was refused before it took effect.
  return null
}

function req<T>(v: T | null | undefined, r: OpRecord, field: string): T {
  if (v === undefined || v === null) throw new TypeError(`history: op #${r.id} (${r.op}) has no ${field}`)
  return v
}

export interface ParsedHistory {
  ops: OpRecord[]
  nemesis: NemesisRecord[]
  meta: Record<string, unknown> | null
  statuses: StatusRecord['status'][]
  phases: PhaseRecord[]
  /** The last line of a finished run (null if the run did not finish). */
  verdict: Record<string, unknown> | null
}

/** The names a version 1 history gave the operations. */
const LEGACY_OP_NAMES: Record<string, OpName> = {read: 'get', write: 'put'}

/** Reads an NDJSON history file's text back, line by line (lines of other kinds are skipped). */
export function parseHistory(text: string): ParsedHistory {
  const ops: OpRecord[] = []
  const nemesis: NemesisRecord[] = []
  const statuses: StatusRecord['status'][] = []
  const phases: PhaseRecord[] = []
  let meta: Record<string, unknown> | null = null
  let verdict: Record<string, unknown> | null = null
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    let x: Record<string, unknown>
    try {
      x = JSON.parse(line) as Record<string, unknown>
    } catch {
      throw new TypeError(`history: line ${i + 1} is not JSON`)
    }
    if (typeof x.op === 'string') ops.push({...x, op: LEGACY_OP_NAMES[x.op] ?? x.op} as unknown as OpRecord)
    else if (typeof x.nemesis === 'string') nemesis.push(x as unknown as NemesisRecord)
    else if (typeof x.meta === 'object' && x.meta !== null) meta = x.meta as Record<string, unknown>
    else if (typeof x.status === 'object' && x.status !== null) statuses.push(x.status as StatusRecord['status'])
    else if (typeof x.phase === 'string') phases.push(x as unknown as PhaseRecord)
    else if (typeof x.verdict === 'string') verdict = x
  }
  return {ops, nemesis, meta, statuses, phases, verdict}
}

/** Rounds a clock reading (ms) to microseconds, so the file stays readable. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** Appends records to the history file as they happen, so a crashed run still leaves them. */
export class HistoryWriter {
  private readonly stream: WriteStream
  private failure: Error | null = null

  constructor(readonly path: string) {
    // 'wx': never overwrite the history of another run. Opened here so a failure throws now.
    const fd = openSync(path, 'wx')
    this.stream = createWriteStream('', {fd})
    this.stream.on('error', (err) => {
      this.failure ??= err
    })
  }

  write(record: object): void {
    if (this.failure === null) this.stream.write(JSON.stringify(record) + '\n')
  }

  /** Flushes and closes; rejects if any write failed. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve))
    if (this.failure) throw this.failure
  }
}
