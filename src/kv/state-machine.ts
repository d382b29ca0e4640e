// The replicated key-value state machine: put/get/del/cas over UTF-8 strings, with client sessions
// (client id + sequence number) that make a retried write take effect at most once, also when the
// retry reaches another leader. Sessions live in the replicated state (and in snapshots) and are
// evicted deterministically by the log index of their last write, never by wall-clock time, so
// every replica evicts the same ones.

export type KvCommand =
  | {op: 'put'; key: string; value: string; clientId: string; seq: number}
  | {op: 'del'; key: string; clientId: string; seq: number}
  | {op: 'cas'; key: string; expected: string; value: string; clientId: string; seq: number}

export type KvWriteResult =
  | {status: 'ok'; previous: string | null}
  | {status: 'not-found'}
  | {status: 'mismatch'; current: string}
  /** The session was evicted and this may be a retry of a write that already took effect. */
  | {status: 'session-expired'}

interface Session {
  seq: number
  result: KvWriteResult
  lastIndex: number
}

export interface KvSnapshot {
  data: [string, string][]
  sessions: [string, number, KvWriteResult, number][]
}

export const DEFAULT_MAX_SESSIONS = 10_000

export class KvStateMachine {
  private data = new Map<string, string>()
  /** Insertion order is the order of last write (re-inserted on every write): oldest first. */
  private sessions = new Map<string, Session>()
  /** Called once per write that takes effect (not for answered duplicates); checkers use it. */
  onEffect?: (cmd: KvCommand, index: number) => void

  constructor(private readonly maxSessions = DEFAULT_MAX_SESSIONS) {}

  get(key: string): string | null {
    return this.data.get(key) ?? null
  }

  size(): number {
    return this.data.size
  }

  sessionCount(): number {
    return this.sessions.size
  }

  /**
   * Applies the write at log `index`, or answers a retry of the client's last write with its
   * first outcome and the index where it took effect.
   */
  apply(cmd: KvCommand, index: number): {result: KvWriteResult; index: number} {
    const session = this.sessions.get(cmd.clientId)
    if (session) {
      if (cmd.seq === session.seq) return {result: session.result, index: session.lastIndex}
      if (cmd.seq < session.seq) return {result: {status: 'session-expired'}, index}
    } else if (cmd.seq > 1) {
      // Unknown client past its first request: its session was evicted, so this may be a retry.
      return {result: {status: 'session-expired'}, index}
    }
    const result = this.execute(cmd)
    this.onEffect?.(cmd, index)
    this.sessions.delete(cmd.clientId)
    this.sessions.set(cmd.clientId, {seq: cmd.seq, result, lastIndex: index})
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string
      this.sessions.delete(oldest)
    }
    return {result, index}
  }

  private execute(cmd: KvCommand): KvWriteResult {
    const current = this.data.get(cmd.key)
    switch (cmd.op) {
      case 'put':
        this.data.set(cmd.key, cmd.value)
        return {status: 'ok', previous: current ?? null}
      case 'del':
        if (current === undefined) return {status: 'not-found'}
        this.data.delete(cmd.key)
        return {status: 'ok', previous: current}
      case 'cas':
        if (current === undefined) return {status: 'not-found'}
        if (current !== cmd.expected) return {status: 'mismatch', current}
        this.data.set(cmd.key, cmd.value)
        return {status: 'ok', previous: current}
    }
  }

  snapshot(): KvSnapshot {
    return {
      data: [...this.data],
      sessions: [...this.sessions].map(([id, s]) => [id, s.seq, s.result, s.lastIndex]),
    }
  }

  restore(snap: KvSnapshot): void {
    this.data = new Map(snap.data)
    this.sessions = new Map(snap.sessions.map(([id, seq, result, lastIndex]) => [id, {seq, result, lastIndex}]))
  }
}

/** True if `x` has the shape of a KvCommand (entries read back from disk or the wire). */
export function isKvCommand(x: unknown): x is KvCommand {
  if (typeof x !== 'object' || x === null) return false
  const c = x as Record<string, unknown>
  if (typeof c.key !== 'string' || typeof c.clientId !== 'string' || !Number.isSafeInteger(c.seq)) return false
  switch (c.op) {
    case 'put':
      return typeof c.value === 'string'
    case 'del':
      return true
    case 'cas':
      return typeof c.value === 'string' && typeof c.expected === 'string'
    default:
      return false
  }
}
