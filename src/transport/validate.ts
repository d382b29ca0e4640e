// Shape checks for everything that arrives over the wire, before any of it reaches the Raft core.
// The core trusts its inputs (a broken invariant crashes it loudly), so a buggy or hostile peer
// must be stopped here: every field the core reads is present with the right type, numbers are
// non-negative safe integers, entries are well-formed and contiguous, and `from`/`to` match the
// authenticated connection. Pure code (no node: imports) so the simulator can reuse it.

import {confChangeProblem, membershipProblem} from '../core/membership.js'
import {isIndex, isNodeId} from '../core/types.js'
import type {Entry, Message, MessageType, NodeId} from '../core/types.js'

export interface MessageExpectation {
  /** The authenticated peer id: `from` must equal it. */
  from?: NodeId
  /** This node's id: `to` must equal it. */
  to?: NodeId
}

type Check = (m: Record<string, unknown>) => string | null

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x)

function entriesCheck(m: Record<string, unknown>): string | null {
  const entries = m['entries']
  if (!Array.isArray(entries)) return `entries is not an array (${show(entries)})`
  const prevLogIndex = m['prevLogIndex'] as number
  const prevLogTerm = m['prevLogTerm'] as number
  const term = m['term'] as number
  if (prevLogTerm > term) return `prevLogTerm ${prevLogTerm} is above term ${term}`
  let lastTerm = prevLogTerm
  for (let i = 0; i < entries.length; i++) {
    const why = entryProblem(entries[i])
    if (why) return `entries[${i}]: ${why}`
    const e = entries[i] as Entry
    // Log Matching: a leader's entries are contiguous after prevLogIndex with non-decreasing terms
    // no newer than its own term. Anything else would trip the core's invariants.
    if (e.index !== prevLogIndex + 1 + i) return `entries[${i}].index is ${e.index}, expected ${prevLogIndex + 1 + i}`
    if (e.term < lastTerm || e.term > term) return `entries[${i}].term ${e.term} out of order`
    lastTerm = e.term
  }
  return null
}

/** Why `x` is not a valid log entry, or null. `data` is opaque (the state machine's command). */
export function entryProblem(x: unknown): string | null {
  if (!isRecord(x)) return `not an object (${show(x)})`
  if (!isIndex(x['term'])) return `term is not a non-negative integer (${show(x['term'])})`
  if (!isIndex(x['index']) || x['index'] < 1) return `index is not a positive integer (${show(x['index'])})`
  if (x['type'] !== 'normal' && x['type'] !== 'noop' && x['type'] !== 'config') return `unknown entry type ${show(x['type'])}`
  if (x['type'] === 'config') {
    const why = confChangeProblem(x['data'])
    if (why) return `configuration change: ${why}`
  }
  return null
}

function snapshotCheck(m: Record<string, unknown>): string | null {
  const s = m['snapshot']
  if (!isRecord(s)) return `snapshot is not an object (${show(s)})`
  for (const f of ['lastIncludedIndex', 'lastIncludedTerm']) {
    if (!isIndex(s[f])) return `snapshot.${f} is not a non-negative integer (${show(s[f])})`
  }
  if ((s['lastIncludedTerm'] as number) > (m['term'] as number)) return 'snapshot.lastIncludedTerm is above term'
  if (!('data' in s)) return 'snapshot.data is missing'
  if (s['config'] !== undefined) {
    const why = membershipProblem(s['config'])
    if (why) return `snapshot.${why}`
  }
  return null
}

type FieldKind = 'int' | 'bool' | 'entries' | 'snapshot'
type BodyFields<T extends MessageType> = Exclude<keyof Extract<Message, {type: T}>, 'type' | 'from' | 'to' | 'term'>

// Every field of every message type, by kind. The mapped type makes this table exhaustive: a field
// added to (or removed from) a message in core/types.ts is a compile error here until it is listed.
const fieldKinds: {[T in MessageType]: {[K in BodyFields<T>]: FieldKind}} = {
  RequestVote: {lastLogIndex: 'int', lastLogTerm: 'int', preVote: 'bool', transfer: 'bool'},
  RequestVoteResponse: {voteGranted: 'bool', preVote: 'bool'},
  AppendEntries: {prevLogIndex: 'int', prevLogTerm: 'int', leaderCommit: 'int', readSeq: 'int', entries: 'entries'},
  AppendEntriesResponse: {
    success: 'bool',
    matchIndex: 'int',
    rejectedIndex: 'int',
    conflictIndex: 'int',
    conflictTerm: 'int',
    readSeq: 'int',
  },
  InstallSnapshot: {snapshot: 'snapshot'},
  InstallSnapshotResponse: {matchIndex: 'int'},
  TimeoutNow: {},
}

const fieldChecks: Record<FieldKind, (m: Record<string, unknown>, field: string) => string | null> = {
  int: (m, f) => (isIndex(m[f]) ? null : `${f} is not a non-negative integer (${show(m[f])})`),
  bool: (m, f) => (typeof m[f] === 'boolean' ? null : `${f} is not a boolean (${show(m[f])})`),
  entries: (m) => entriesCheck(m),
  snapshot: (m) => snapshotCheck(m),
}

// Scalars first: the structural checks (entries, snapshot) rely on them.
const checks = Object.fromEntries(
  Object.entries(fieldKinds).map(([type, fields]) => {
    const list = Object.entries(fields as Record<string, FieldKind>)
    const scalarsFirst = [...list.filter(([, k]) => k === 'int' || k === 'bool'), ...list.filter(([, k]) => k !== 'int' && k !== 'bool')]
    return [
      type,
      scalarsFirst.map(
        ([field, kind]): Check =>
          (m) =>
            fieldChecks[kind](m, field),
      ),
    ]
  }),
) as Record<MessageType, Check[]>

const messageTypes = new Set<string>(Object.keys(checks))

/** Why `x` is not an acceptable Raft message, or null when it is. */
export function messageProblem(x: unknown, expect: MessageExpectation = {}): string | null {
  if (!isRecord(x)) return `message is not an object (${show(x)})`
  const type = x['type']
  if (typeof type !== 'string' || !messageTypes.has(type)) return `unknown message type ${show(type)}`
  if (!isNodeId(x['from'])) return `from is not a node id (${show(x['from'])})`
  if (!isNodeId(x['to'])) return `to is not a node id (${show(x['to'])})`
  if (!isIndex(x['term'])) return `term is not a non-negative integer (${show(x['term'])})`
  if (expect.from !== undefined && x['from'] !== expect.from) {
    return `from ${x['from']} does not match the authenticated peer ${expect.from}`
  }
  if (expect.to !== undefined && x['to'] !== expect.to) return `to ${x['to']} is not this node (${expect.to})`
  for (const check of checks[type as MessageType]) {
    const why = check(x)
    if (why) return `${type}: ${why}`
  }
  return null
}

export function isMessage(x: unknown, expect: MessageExpectation = {}): x is Message {
  return messageProblem(x, expect) === null
}

/** Short, bounded rendering of an untrusted value for error messages and logs. */
export function show(x: unknown): string {
  if (x === undefined) return 'undefined'
  if (typeof x === 'bigint') return `${x}n`
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)
  if (typeof x !== 'object' || x === null) return String(x)
  if (Array.isArray(x)) return `array(${x.length})`
  if (ArrayBuffer.isView(x)) return `bytes(${x.byteLength})`
  const keys = Object.keys(x)
  return `{${keys.slice(0, 6).join(',')}${keys.length > 6 ? ',…' : ''}}`
}
