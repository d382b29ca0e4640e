// The workload of `raftctl check`: concurrent clients, each with its own ClusterClient (so its own
// client id and sequence numbers), doing one read, write or cas at a time on a few keys with
// values that are never written twice, and recording every operation's invoke, completion and
// outcome. A timed-out write is indeterminate (it may still commit); a timed-out read failed.
//
// Two kinds of client:
// - roaming clients (--clients): find the leader through hints like any client; even-numbered
//   ones mix reads, writes and cas, odd-numbered ones only read (until the quiet period, when
//   everyone writes). Some writes go to write-once keys, read back by the durability verdict.
// - leader probes pinned to their node (`only`): while the node claims to lead (LeaderWatch) its
//   readers read, and while it is the newest leader its writers write. That puts reads on a
//   deposed leader that does not know it yet and writes on its successor within milliseconds of
//   the election — the window where stale reads live, which clients that follow hints meet only
//   by luck — and reads of every key on a new leader before its first entry commits.
import {ClusterClient, UnavailableError} from '../client/cluster-client.js'
import type {NodeId} from '../core/types.js'
import type {KvWriteResult} from '../kv/state-machine.js'
import type {Prng} from '../lib/prng.js'
import {roundMs, type OpName, type OpRecord} from './history.js'

export interface PlannedOp {
  type: OpName
  key: string
  value?: string
  expected?: string
}

/** Share of each operation of a mixed client. */
export const OP_WEIGHTS: Record<OpName, number> = {get: 0.6, put: 0.25, cas: 0.15}

/** Share of a mixed client's writes (outside the durability phase) that go to a write-once key. */
export const WRITE_ONCE_SHARE = 0.1

/**
 * What the clients are doing: the fault phase and the quiet period after it (readers write too
 * then), or the durability phase (every write goes to a write-once key).
 */
export type WorkloadPhase = 'faults' | 'quiet' | 'durability'

/** The keys of a run: registers (read, written, cas'd) and the prefix of write-once keys. */
export interface RunKeys {
  registers: readonly string[]
  /** Write-once keys are this prefix plus the value written, e.g. `a1b2c3/once/c2-17`. */
  oncePrefix: string
}

export function runKeys(tag: string, count: number): RunKeys {
  return {registers: Array.from({length: count}, (_, i) => `${tag}/k${i}`), oncePrefix: `${tag}/once/`}
}

export function isWriteOnceKey(keys: RunKeys, key: string): boolean {
  return key.startsWith(keys.oncePrefix)
}

/**
 * The latest value any client saw for each key (read, written, or reported by a refused cas), so
 * that a cas has a fair chance to succeed.
 */
export class KnownValues {
  private readonly latest = new Map<string, string>()

  get(key: string): string | undefined {
    return this.latest.get(key)
  }

  observe(r: OpRecord): void {
    if (r.status === 'ok' && r.op === 'get' && typeof r.value === 'string') this.latest.set(r.key, r.value)
    else if (r.status === 'ok' && (r.op === 'put' || r.op === 'cas') && typeof r.value === 'string') this.latest.set(r.key, r.value)
    else if (r.error === 'mismatch' && r.current !== undefined) this.latest.set(r.key, r.current)
  }
}

/**
 * Whether client `index` of `count` only reads: every other client (1, 3, ...) when there are at
 * least two. A client blocked on a write sent to an isolated leader cannot read meanwhile; readers
 * keep reading from the node they last found leading, which is where stale reads show up.
 */
export function isReader(index: number, count: number): boolean {
  return count >= 2 && index % 2 === 1
}

/** One client's stream of operations, drawn from its own seeded generator. */
export class OpGenerator {
  private written = 0

  constructor(
    private readonly prng: Prng,
    readonly client: number,
    keys: readonly string[] | RunKeys,
    private readonly known: KnownValues,
    /** A reader only reads (in the fault phase): it keeps asking the node it believes leads. */
    readonly readOnly = false,
    private readonly phase: () => WorkloadPhase = () => 'faults',
  ) {
    this.keys = Array.isArray(keys) ? {registers: keys, oncePrefix: ''} : (keys as RunKeys)
  }

  private readonly keys: RunKeys

  next(): PlannedOp {
    const phase = this.phase()
    if (phase === 'durability' && this.keys.oncePrefix) return this.writeOnce()
    const key = this.prng.pick(this.keys.registers)
    const x = this.prng.next()
    const readOnly = this.readOnly && phase === 'faults'
    let op: OpName = readOnly || x < OP_WEIGHTS.get ? 'get' : x < OP_WEIGHTS.get + OP_WEIGHTS.put ? 'put' : 'cas'
    const expected = this.known.get(key)
    // A cas needs a value to expect; before anyone saw one, write instead.
    if (op === 'cas' && expected === undefined) op = 'put'
    if (op === 'get') return {type: op, key}
    if (op === 'put' && this.keys.oncePrefix && this.prng.chance(WRITE_ONCE_SHARE)) return this.writeOnce()
    const value = this.freshValue()
    return op === 'put' ? {type: op, key, value} : {type: op, key, value, expected}
  }

  private writeOnce(): PlannedOp {
    const value = this.freshValue()
    return {type: 'put', key: this.keys.oncePrefix + value, value}
  }

  /** Unique across the run: client number and a per-client counter, e.g. c2-17. */
  private freshValue(): string {
    return `c${this.client}-${++this.written}`
  }
}

/** Every how many of a probe writer's writes goes to a write-once key (the others to registers). */
export const PROBE_WRITE_ONCE_EVERY = 3

/**
 * A leader probe's stream: reads of every register in turn, or writes of fresh values to them.
 * Each time `epoch()` changes (the node's claim to lead began anew) the turn starts again at
 * register `offset`, so the reader lanes of a new leader start on different keys at once. A
 * writer given `oncePrefix` writes every PROBE_WRITE_ONCE_EVERY-th value to a write-once key
 * instead, starting with its first write of a claim: a new leader's first entries are the ones a
 * replica that keeps its own conflicting entries never applies, and the durability verdict reads
 * write-once keys back on every node.
 */
export class ProbeGenerator {
  private turn = 0
  private written = 0
  private writesThisClaim = 0
  private seenEpoch: number | undefined

  constructor(
    readonly client: number,
    private readonly registers: readonly string[],
    private readonly role: 'reader' | 'writer',
    private readonly offset = 0,
    private readonly epoch: () => number = () => 0,
    private readonly oncePrefix = '',
  ) {}

  next(): PlannedOp {
    const epoch = this.epoch()
    if (epoch !== this.seenEpoch) {
      this.seenEpoch = epoch
      this.turn = this.offset
      this.writesThisClaim = 0
    }
    if (this.role === 'reader') return {type: 'get', key: this.registers[this.turn++ % this.registers.length]!}
    const value = `c${this.client}-${++this.written}`
    if (this.oncePrefix && this.writesThisClaim++ % PROBE_WRITE_ONCE_EVERY === 0) return {type: 'put', key: this.oncePrefix + value, value}
    return {type: 'put', key: this.registers[this.turn++ % this.registers.length]!, value}
  }
}

export interface ClientLoopOptions {
  index: number
  /** The number of clients: after an indeterminate op the client's process number grows by it. */
  stride: number
  client: ClusterClient
  generator: {next(): PlannedOp}
  opTimeoutMs: number
  /** Milliseconds since the run started. */
  clock: () => number
  nextId: () => number
  /** True once the run wants the clients to stop (they finish the operation in hand). */
  stopping: () => boolean
  record: (r: OpRecord) => void
  /** Probes: resolves once the client should run its next op (false: stop). Default: at once. */
  ready?: () => Promise<boolean>
}

/** Runs one client until `stopping()`: one operation at a time, each recorded when it ends. */
export async function runClientLoop(o: ClientLoopOptions): Promise<void> {
  // Jepsen's convention: an indeterminate op stays open forever, so the client carries on as a
  // new process (index + k * stride), and each process has at most one op in flight.
  let proc = o.index
  while (!o.stopping()) {
    if (o.ready && !(await o.ready())) break
    const planned = o.generator.next()
    const id = o.nextId()
    const invoke = o.clock()
    const outcome = await perform(o.client, planned, o.opTimeoutMs)
    const complete = o.clock()
    // The node that answered (the client's lastLeader is set by every answered request).
    const answered = outcome.status === 'ok' || outcome.error === 'mismatch' || outcome.error === 'not-found'
    o.record({
      id,
      client: o.index,
      process: proc,
      op: planned.type,
      key: planned.key,
      ...(planned.expected !== undefined ? {expected: planned.expected} : {}),
      ...(planned.value !== undefined ? {value: planned.value} : {}),
      invoke: roundMs(invoke),
      complete: roundMs(complete),
      ...outcome,
      ...(answered && o.client.lastLeader !== null ? {node: o.client.lastLeader} : {}),
    })
    if (outcome.status === 'indeterminate') proc += o.stride
  }
}

/**
 * Waits until `wanted()` holds (re-checked whenever `changed` fires, and every 50 ms) or the run
 * stops; for a probe, whose node must lead before it sends anything.
 */
export function waitUntil(wanted: () => boolean, stopping: () => boolean, changed: {wait(): Promise<void>}): () => Promise<boolean> {
  return async () => {
    while (!stopping()) {
      if (wanted()) return true
      await Promise.race([changed.wait(), new Promise((r) => setTimeout(r, 50))])
    }
    return false
  }
}

/** A signal many waiters can wait for; fire() wakes them all. */
export class Signal {
  private waiters: (() => void)[] = []

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  fire(): void {
    const w = this.waiters
    this.waiters = []
    for (const resolve of w) resolve()
  }
}

/**
 * The client index of lane `lane` of node `id`'s probes (after the roaming clients; `perNode`
 * lanes per node: its readers, then its writers).
 */
export function probeIndex(clients: number, perNode: number, id: NodeId, lane: number): number {
  return clients + (id - 1) * perNode + lane
}

type Outcome = Pick<OpRecord, 'status' | 'error' | 'current'> & {value?: string | null}

/** Performs one operation; never throws (an unexpected error is an outcome like any other). */
export async function perform(client: ClusterClient, p: PlannedOp, timeoutMs: number): Promise<Outcome> {
  try {
    switch (p.type) {
      case 'get': {
        const out = await client.get(p.key, {timeoutMs})
        return {status: 'ok', value: out.value}
      }
      case 'put':
        return writeOutcome((await client.put(p.key, p.value!, timeoutMs)).result)
      case 'cas':
        return writeOutcome((await client.cas(p.key, p.expected!, p.value!, timeoutMs)).result)
    }
  } catch (err) {
    const message = (err as Error).message ?? String(err)
    // A read that got no answer did nothing. A write that got none may still commit, unless it
    // was never sent (no session could be registered for it).
    if (p.type === 'get') return {status: 'failed', error: err instanceof UnavailableError ? 'unavailable' : message}
    if (err instanceof UnavailableError && !err.sent) return {status: 'failed', error: 'not-sent'}
    return {status: 'indeterminate', error: err instanceof UnavailableError ? 'timeout' : message}
  }
}

function writeOutcome(r: KvWriteResult): Outcome {
  switch (r.status) {
    case 'ok':
      return {status: 'ok'}
    case 'mismatch':
      return {status: 'failed', error: 'mismatch', current: r.current}
    case 'not-found':
      return {status: 'failed', error: 'not-found'}
    case 'session-expired':
      // The state machine cannot tell whether this retry already took effect.
      return {status: 'indeterminate', error: 'session-expired'}
  }
}
