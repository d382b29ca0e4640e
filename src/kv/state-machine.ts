// The replicated key-value state machine: put/get/del/cas over UTF-8 strings, with client sessions
// that make a retried write take effect at most once, also when the retry reaches another leader.
//
// Sessions are registered through the log (Raft thesis §6.3): a `register` command creates a
// session whose id is the log index it was applied at, so every replica creates the same one and
// no id is ever reused. A write carries (session, seq): a seq the session has seen answers with the
// first outcome (and the index where it took effect); a new seq takes effect; a write for an
// unknown session — evicted, or never registered — is refused as `session-expired` and NOT applied:
// it may be a retry of a write that took effect before the session was evicted, so applying it
// could apply it twice. The client then registers a new session (and, if that request was never
// sent before, may safely send it again under the new one). Sessions live in the replicated state
// and in snapshots, and are evicted deterministically, least recently used by log index first,
// never by wall-clock time, so every replica evicts the same ones.
//
// Invariant: a (session, seq) takes effect at one log index at most, on every replica.
//
// Legacy entries (a string `clientId` instead of a registered `session`) were written before
// sessions were registered; they are applied with the rules of that time, so that a log written
// by an earlier version replays to the same state.

export type KvWriteCommand =
  | {op: 'put'; key: string; value: string; session: number; seq: number}
  | {op: 'del'; key: string; session: number; seq: number}
  | {op: 'cas'; key: string; expected: string; value: string; session: number; seq: number}

export type RegisterCommand = {op: 'register'}

type LegacyWriteCommand =
  | {op: 'put'; key: string; value: string; clientId: string; seq: number}
  | {op: 'del'; key: string; clientId: string; seq: number}
  | {op: 'cas'; key: string; expected: string; value: string; clientId: string; seq: number}

export type KvCommand = KvWriteCommand | RegisterCommand | LegacyWriteCommand

/** A write as it may stand in the log (registered session, or a legacy client id). */
export type AnyWriteCommand = KvWriteCommand | LegacyWriteCommand

export type KvWriteResult =
  | {status: 'ok'; previous: string | null}
  | {status: 'not-found'}
  | {status: 'mismatch'; current: string}
  /** The session is unknown (evicted) or the request older than its last: not applied. */
  | {status: 'session-expired'}

/** What applying one command produced. */
export type KvApplied =
  | {kind: 'registered'; session: number}
  /** `index`: where the write took effect (an earlier one for an answered duplicate). */
  | {kind: 'write'; result: KvWriteResult; index: number}

interface Session {
  seq: number
  /** The outcome of `seq` (null for a session that has not written yet). */
  result: KvWriteResult | null
  /** Log index of the last command of this session (its registration, or its last write). */
  lastIndex: number
  /** Log index where `seq` took effect. */
  resultIndex: number
}

type SessionId = number | string

export interface KvSnapshot {
  data: [string, string][]
  /** [id, seq, result, lastIndex, resultIndex], least recently used first. */
  sessions: [SessionId, number, KvWriteResult | null, number, number?][]
}

export const DEFAULT_MAX_SESSIONS = 10_000

export class KvStateMachine {
  private data = new Map<string, string>()
  /** Insertion order is the order of last use (re-inserted on every command): oldest first. */
  private sessions = new Map<SessionId, Session>()
  /** Called once per write that takes effect (not for answered duplicates); checkers use it. */
  onEffect?: (cmd: AnyWriteCommand, index: number) => void

  constructor(
    private readonly maxSessions = DEFAULT_MAX_SESSIONS,
    /**
     * Mutant, for proving the simulator catches issue #12's bug 4: sessions as they were before
     * registration (an unknown session is started by its seq 1; refused forever with a later one).
     */
    private readonly implicitSessions = false,
  ) {}

  get(key: string): string | null {
    return this.data.get(key) ?? null
  }

  size(): number {
    return this.data.size
  }

  sessionCount(): number {
    return this.sessions.size
  }

  /** Applies the command at log `index`. */
  apply(cmd: KvCommand, index: number): KvApplied {
    if (cmd.op === 'register') {
      this.touch(index, {seq: 0, result: null, lastIndex: index, resultIndex: 0})
      return {kind: 'registered', session: index}
    }
    if ('clientId' in cmd) return this.applyLegacy(cmd, index)
    const session = this.sessions.get(cmd.session)
    if (session === undefined && this.implicitSessions && cmd.seq === 1) {
      const result = this.execute(cmd)
      this.onEffect?.(cmd, index)
      this.touch(cmd.session, {seq: cmd.seq, result, lastIndex: index, resultIndex: index})
      return {kind: 'write', result, index}
    }
    if (session === undefined) return {kind: 'write', result: {status: 'session-expired'}, index}
    if (cmd.seq <= session.seq) {
      // The answered request again (a retry), or one older than that: never applied again.
      if (cmd.seq === session.seq && session.result !== null) return {kind: 'write', result: session.result, index: session.resultIndex}
      return {kind: 'write', result: {status: 'session-expired'}, index}
    }
    const result = this.execute(cmd)
    this.onEffect?.(cmd, index)
    this.touch(cmd.session, {seq: cmd.seq, result, lastIndex: index, resultIndex: index})
    return {kind: 'write', result, index}
  }

  /** The rules before registered sessions: an unknown client starts one with its first write. */
  private applyLegacy(cmd: LegacyWriteCommand, index: number): KvApplied {
    const session = this.sessions.get(cmd.clientId)
    if (session) {
      if (cmd.seq === session.seq && session.result !== null) return {kind: 'write', result: session.result, index: session.resultIndex}
      if (cmd.seq <= session.seq) return {kind: 'write', result: {status: 'session-expired'}, index}
    } else if (cmd.seq > 1) {
      return {kind: 'write', result: {status: 'session-expired'}, index}
    }
    const result = this.execute(cmd)
    this.onEffect?.(cmd, index)
    this.touch(cmd.clientId, {seq: cmd.seq, result, lastIndex: index, resultIndex: index})
    return {kind: 'write', result, index}
  }

  /** Stores `session` as the most recently used one and evicts beyond maxSessions. */
  private touch(id: SessionId, session: Session): void {
    this.sessions.delete(id)
    this.sessions.set(id, session)
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value as SessionId
      this.sessions.delete(oldest)
    }
  }

  private execute(cmd: KvWriteCommand | LegacyWriteCommand): KvWriteResult {
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
      sessions: [...this.sessions].map(([id, s]) => [id, s.seq, s.result, s.lastIndex, s.resultIndex]),
    }
  }

  restore(snap: KvSnapshot): void {
    this.data = new Map(snap.data)
    this.sessions = new Map(
      snap.sessions.map(([id, seq, result, lastIndex, resultIndex]) => [id, {seq, result, lastIndex, resultIndex: resultIndex ?? lastIndex}]),
    )
  }

  /**
   * A canonical text of the whole state (data and sessions, in order), for checkers that compare
   * replicas at the same applied index.
   */
  fingerprint(): string {
    return JSON.stringify(this.snapshot())
  }
}

/** True if `x` has the shape of a KvCommand (entries read back from disk or the wire). */
export function isKvCommand(x: unknown): x is KvCommand {
  if (typeof x !== 'object' || x === null) return false
  const c = x as Record<string, unknown>
  if (c.op === 'register') return true
  if (typeof c.key !== 'string' || !Number.isSafeInteger(c.seq)) return false
  const registered = Number.isSafeInteger(c.session)
  if (!registered && typeof c.clientId !== 'string') return false
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

/** The bytes a command adds to the state (keys and values), an estimate for snapshot pacing. */
export function commandBytes(cmd: KvCommand): number {
  if (cmd.op === 'register') return 0
  return cmd.key.length + (cmd.op === 'del' ? 0 : cmd.value.length) + (cmd.op === 'cas' ? cmd.expected.length : 0)
}
