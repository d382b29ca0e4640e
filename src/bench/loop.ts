// The closed loop of `raftctl bench`: C clients, each with one operation in flight at a time,
// back to back until the duration is over; successful operations' latencies go to a
// LatencyRecorder, failures are counted (with the first few messages kept).
// Also the workload's pieces: values of an exact size, uniformly chosen keys, the op mix.
import {randomBytes} from 'node:crypto'
import {LatencyRecorder} from './stats.js'
import type {ProgressSnapshot} from './progress.js'
import type {OpTimeline} from './timeline.js'

export interface ClosedLoopOptions {
  clients: number
  durationMs: number
  /** One operation of client `client`: resolves when it succeeded, throws when it failed. */
  op: (client: number) => Promise<void>
  /** Called every `progressEveryMs` while the run lasts. */
  onProgress?: (s: ProgressSnapshot) => void
  progressEveryMs?: number
  /** Pause after a failed operation so a dead cluster is not hammered in a tight loop. */
  errorPauseMs?: number
  now?: () => number
  /** Also records every operation over time (bounded bins), for the report. */
  timeline?: OpTimeline
}

export interface ClosedLoopResult {
  latencies: LatencyRecorder
  errors: number
  /** From the start until the last client finished its last operation. */
  elapsedMs: number
  /** The first few distinct error messages. */
  errorSamples: string[]
}

export interface ClosedLoop {
  /** Stop issuing new operations now (e.g. on Ctrl-C); operations in flight still finish. */
  stop(): void
  result: Promise<ClosedLoopResult>
}

/** C clients, each with one operation in flight at a time, until the duration is over. */
export function closedLoop(o: ClosedLoopOptions): ClosedLoop {
  const now = o.now ?? (() => performance.now())
  const latencies = new LatencyRecorder()
  const errorSamples: string[] = []
  let errors = 0
  const start = now()
  let end = start + o.durationMs
  const worker = async (client: number) => {
    while (now() < end) {
      const t0 = now()
      try {
        await o.op(client)
        const t1 = now()
        latencies.add(t1 - t0)
        o.timeline?.add(t1 - start, t1 - t0)
      } catch (err) {
        errors++
        o.timeline?.error(now() - start)
        const msg = err instanceof Error ? err.message : String(err)
        if (errorSamples.length < 5 && !errorSamples.includes(msg)) errorSamples.push(msg)
        if ((o.errorPauseMs ?? 10) > 0) await new Promise((r) => setTimeout(r, o.errorPauseMs ?? 10))
      }
    }
  }
  const ticker = o.onProgress
    ? setInterval(() => o.onProgress!({elapsedMs: now() - start, durationMs: o.durationMs, ops: latencies.count, errors}), o.progressEveryMs ?? 250)
    : undefined
  const result = Promise.all(Array.from({length: o.clients}, (_, c) => worker(c))).then(() => {
    if (ticker) clearInterval(ticker)
    return {latencies, errors, elapsedMs: now() - start, errorSamples}
  })
  return {
    stop: () => {
      end = Math.min(end, now())
    },
    result,
  }
}

/** A printable value of exactly `bytes` bytes (random letters, so nothing compresses it away). */
export function benchValue(bytes: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  const raw = randomBytes(bytes)
  let s = ''
  for (let i = 0; i < bytes; i++) s += alphabet[raw[i]! % alphabet.length]
  return s
}

export type BenchOp = 'put' | 'get' | 'mixed'

/** The operation a client issues next: `mixed` is half linearizable gets, half puts. */
export function pickOp(op: BenchOp, random: () => number = Math.random): 'put' | 'get' {
  return op === 'mixed' ? (random() < 0.5 ? 'get' : 'put') : op
}

export const benchKey = (keys: number, random: () => number = Math.random) => `bench-${Math.floor(random() * keys)}`
