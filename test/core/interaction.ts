// The verbs of the scripted interaction tests (test/core/testdata/*.txt, run by
// interaction.test.ts), over the hand-driven cluster of harness.ts. Like etcd-io/raft's
// interaction tests: a script sets up nodes, drives them (ticks, proposals, deliveries, faults)
// and prints what each step did — every Ready and every message in the canonical text form of
// src/core/format.ts, and the core's events — deterministically. Not a test file itself.
//
// Output shapes:
//   > 1 handling Ready            one Ready of node 1: the fields it has, in the order of the
//     softState: ...              driver contract (softState only when it changed), messages
//     hardState: ...              marked "(dropped)" when a drop rule or a crash discards them
//     messages:
//       1->2 AppendEntries ...
//   > 2 receiving messages        messages stepped into node 2, each followed by the events it
//     1->2 AppendEntries ...      caused ("event: ...")
//   > 2 tick 14                   the events of node 2's 14th tick in a `tick` command
//
// The harness's invariant checks (persistence ordering, election safety, state machine safety)
// run on every Ready; a violation fails the script at the directive that caused it.
import {formatEntries, formatMessage} from '../../src/core/format.js'
import type {RaftConfig} from '../../src/core/raft.js'
import type {Entry, Message, MessageType, NodeId, Ready, Snapshot} from '../../src/core/types.js'
import {Args, ScriptError, toInt, tokenize, type Directive} from './datadriven.js'
import {Cluster, type MessagePredicate, type NodeSpec} from './harness.js'

type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'peers' | 'prng'>>

const MESSAGE_TYPES: readonly MessageType[] = [
  'RequestVote',
  'RequestVoteResponse',
  'AppendEntries',
  'AppendEntriesResponse',
  'InstallSnapshot',
  'InstallSnapshotResponse',
  'TimeoutNow',
]

const MAX_ROUNDS = 500

interface Verb {
  usage: string
  /** Whether the directive may have input lines (only `cluster`: one line per preset node). */
  input?: boolean
  run(this: Interaction, a: Args, out: string[], input: string[]): void
}

const VERBS: Record<string, Verb> = {
  cluster: {
    usage:
      'cluster 1 2 3 [seed=1] [prevote=true] [checkquorum=true] [election=10] [heartbeat=2] [maxentries=256] [inflight=64] [maxapply=4096], then per preset node a line "ID [term=T] [vote=V] [commit=C] [log=T1,T2,..] [snap=I@T]"',
    input: true,
    run(a, out, input) {
      this.createCluster(a, input)
      this.printStatus(this.c.ids, out)
    },
  },
  campaign: {
    usage: 'campaign ID (campaignNow: a PreVote round when enabled; refused while a leader is known)',
    run(a, out) {
      const [id] = this.nodeIds(a, 1)
      this.answer(out, id!, this.live(id!).campaignNow())
    },
  },
  elect: {
    usage: 'elect ID (campaign and stabilize without printing; ID must win; prints status)',
    run(a, out) {
      const [id] = this.nodeIds(a, 1)
      const r = this.live(id!).campaignNow()
      if (!r.ok) throw new ScriptError(`node ${id} cannot campaign: ${r.reason}`)
      this.stabilize(() => true, [])
      const st = this.c.node(id!).status()
      if (st.role !== 'leader') throw new ScriptError(`node ${id} did not win: it is ${st.role} in term ${st.term}`)
      this.printStatus(this.c.ids, out)
    },
  },
  tick: {
    usage: 'tick [ID...] [n=1] (all live nodes without IDs; one tick of each node per round)',
    run(a, out) {
      const ids = this.nodeIds(a)
      const n = a.int('n', 1)
      const targets = ids.length > 0 ? ids : this.c.ids.filter((id) => !this.c.down.has(id))
      for (let t = 1; t <= n; t++) {
        for (const id of targets) {
          this.live(id).tick()
          if (this.unseenEvents() > 0) {
            out.push(`> ${id} tick ${t}`)
            this.flushEvents(out, '  ', id)
          }
        }
      }
      if (out.length === 0) out.push('ok')
    },
  },
  propose: {
    usage: 'propose ID DATA',
    run(a, out) {
      const {id, word} = this.nodeAndWord(a)
      const r = this.live(id).propose(word)
      this.answer(out, id, r, r.ok ? `ok index=${r.index} term=${r.term}` : '')
    },
  },
  read: {
    usage: 'read ID CTX (readIndex: the read state comes out of a later Ready)',
    run(a, out) {
      const {id, word} = this.nodeAndWord(a)
      this.answer(out, id, this.live(id).readIndex(word))
    },
  },
  transfer: {
    usage: 'transfer ID to=ID (transferLeadership)',
    run(a, out) {
      const [id] = this.nodeIds(a, 1)
      const to = this.nodeId(String(a.int('to')))
      this.answer(out, id!, this.live(id!).transferLeadership(to))
    },
  },
  compact: {
    usage: 'compact ID index=I [data=D] (the node takes a snapshot at I and drops the entries it covers)',
    run(a, out) {
      const [id] = this.nodeIds(a, 1)
      const index = a.int('index')
      const snap = this.c.compact(this.liveId(id!), index, a.get('data') ?? `state@${index}`)
      out.push(`snapshot ${formatSnapshot(snap)}`)
    },
  },
  ready: {
    usage: 'ready [ID...] (one Ready turn of each node, all live nodes without IDs: persist, send, apply, advance)',
    run(a, out) {
      const ids = this.nodeIds(a)
      for (const id of ids.length > 0 ? ids : this.c.ids) {
        if (ids.length > 0) this.liveId(id)
        this.handleReady(id, out)
      }
      if (out.length === 0) out.push('(no Ready)')
    },
  },
  deliver: {
    usage: 'deliver [from=ID,..] [to=ID,..] [type=TYPE,..] (steps the pending messages that match, in send order)',
    run(a, out) {
      if (this.deliver(this.filter(a), out) === 0) out.push('(no messages)')
    },
  },
  drop: {
    usage: 'drop [from=ID,..] [to=ID,..] [type=TYPE,..] (discards the pending messages that match)',
    run(a, out) {
      for (const m of this.c.dropPending(this.filter(a))) out.push(`dropped ${formatMessage(m)}`)
      if (out.length === 0) out.push('(no messages)')
    },
  },
  stabilize: {
    usage: 'stabilize [from=ID,..] [to=ID,..] [type=TYPE,..] (Ready and deliver until quiet; only matching messages are delivered)',
    run(a, out) {
      this.stabilize(this.filter(a), out)
      if (out.length === 0) out.push('(quiet)')
    },
  },
  isolate: {
    usage: 'isolate ID... (cuts every link of each node until heal)',
    run(a, out) {
      for (const id of this.nodeIds(a, 'some')) this.c.isolate(id)
      out.push('ok')
    },
  },
  cut: {
    usage: 'cut ID ID (cuts the link between two nodes, both ways, until heal)',
    run(a, out) {
      const [x, y] = this.nodeIds(a, 2)
      this.c.cut(x!, y!)
      out.push('ok')
    },
  },
  heal: {
    usage: 'heal (removes every cut; pending messages stay pending)',
    run(_a, out) {
      this.c.heal()
      out.push('ok')
    },
  },
  crash: {
    usage: 'crash ID... (no ticks, no Ready; messages to and from it are lost; its storage survives)',
    run(a, out) {
      for (const id of this.nodeIds(a, 'some')) this.c.crash(this.liveId(id))
      out.push('ok')
    },
  },
  restart: {
    usage: 'restart ID (rebuilds the node from its storage; prints its status)',
    run(a, out) {
      const [id] = this.nodeIds(a, 1)
      if (!this.c.down.has(id!)) throw new ScriptError(`node ${id} is not down`)
      this.c.restart(id!)
      this.soft.set(id!, INITIAL_SOFT)
      this.printStatus([id!], out)
    },
  },
  status: {
    usage: "status [ID...] (role, term, vote, leader, last/commit/applied index; a leader its followers' progress)",
    run(a, out) {
      const ids = this.nodeIds(a)
      this.printStatus(ids.length > 0 ? ids : this.c.ids, out)
    },
  },
  log: {
    usage: 'log ID (the entries the node holds, with their data; a down node: what its storage holds)',
    run(a, out) {
      const [id] = this.nodeIds(a, 1)
      const {snapshot, entries} = this.logOf(id!)
      if (this.c.down.has(id!)) out.push('(down: its storage)')
      if (snapshot) out.push(`snapshot ${formatSnapshot(snapshot)}`)
      for (const e of entries) out.push(`${e.index}@${e.term} ${e.type === 'noop' ? 'noop' : formatData(e.data)}`)
      if (!snapshot && entries.length === 0) out.push('(empty)')
    },
  },
  terms: {
    usage: "terms [ID...] (each node's log as the terms of its entries, the way the paper draws logs)",
    run(a, out) {
      const ids = this.nodeIds(a)
      for (const id of ids.length > 0 ? ids : this.c.ids) {
        const {snapshot, entries} = this.logOf(id)
        const parts = [snapshot ? `snap=${formatSnapshot(snapshot)}` : '', ...entries.map((e) => String(e.term))]
        const shown = parts.filter(Boolean).join(' ')
        out.push(`${id}: ${shown === '' ? '(empty)' : shown}${this.c.down.has(id) ? ' (down)' : ''}`)
      }
    },
  },
}

export const VERB_NAMES = Object.keys(VERBS)

const INITIAL_SOFT = 'role=follower leader=0'

/** One script's state: the cluster it built and what has been printed of it. */
export class Interaction {
  private cluster: Cluster | null = null
  /** Each node's last printed softState. */
  readonly soft = new Map<NodeId, string>()
  private eventsSeen = 0
  private violationsSeen = 0

  /** `overrides` apply to every node of every cluster the script builds (e.g. a mutant). */
  constructor(private readonly overrides: ConfigOverrides = {}) {}

  get c(): Cluster {
    if (!this.cluster) throw new ScriptError('no cluster yet: start the script with "cluster ..."')
    return this.cluster
  }

  /** The handler for runScript. */
  run(d: Directive): string {
    const verb = VERBS[d.verb]
    if (!verb) throw new ScriptError(`unknown command "${d.verb}"; the commands are: ${VERB_NAMES.join(', ')}`)
    if (d.input.length > 0 && !verb.input) throw new ScriptError(`${d.verb} takes no input lines`)
    const a = new Args(d.verb, d.tokens)
    const out: string[] = []
    try {
      verb.run.call(this, a, out, d.input)
      a.done()
    } catch (e) {
      if (e instanceof ScriptError) throw new ScriptError(`${e.message}\n  usage: ${verb.usage}`)
      throw e
    }
    // Events nobody printed yet (should not happen: every verb that calls the core prints them).
    this.flushEvents(out, '')
    if (this.cluster && this.cluster.violations.length > this.violationsSeen) {
      const found = this.cluster.violations.slice(this.violationsSeen)
      this.violationsSeen = this.cluster.violations.length
      throw new Error(`invariant violated:\n  ${found.join('\n  ')}`)
    }
    return out.join('\n')
  }

  // ------------------------------------------------------------ set-up

  createCluster(a: Args, input: string[]): void {
    const ids = a.words().map((w) => toInt(w, 'a node id'))
    if (ids.length === 0) throw new ScriptError('a cluster needs node ids')
    if (new Set(ids).size !== ids.length || ids.some((id) => id <= 0)) throw new ScriptError('node ids must be distinct and positive')
    const config: ConfigOverrides = {}
    const opt = (key: string, set: (v: number) => void) => {
      const v = a.get(key)
      if (v !== undefined) set(toInt(v, key))
    }
    opt('election', (v) => (config.electionTicks = v))
    opt('heartbeat', (v) => (config.heartbeatTicks = v))
    opt('maxentries', (v) => (config.maxEntriesPerAppend = v))
    opt('inflight', (v) => (config.maxInflight = v))
    opt('maxapply', (v) => (config.maxApplyBatch = v))
    config.preVote = a.bool('prevote', true)
    config.checkQuorum = a.bool('checkquorum', true)
    const seed = a.int('seed', 1)
    const initial: Record<number, NodeSpec> = {}
    for (const line of input) {
      const {id, spec} = parseNodeSpec(line, ids)
      if (initial[id]) throw new ScriptError(`node ${id} is preset twice`)
      initial[id] = spec
    }
    this.cluster = new Cluster(ids, {config: {...config, ...this.overrides}, initial, seed})
    this.soft.clear()
    for (const id of ids) this.soft.set(id, INITIAL_SOFT)
    this.eventsSeen = 0
    this.violationsSeen = 0
  }

  // ------------------------------------------------------------ arguments

  nodeId(text: string): NodeId {
    const id = toInt(text, 'a node id')
    if (!this.c.ids.includes(id)) throw new ScriptError(`no node ${id} (the nodes are ${this.c.ids.join(', ')})`)
    return id
  }

  /** The bare words as node ids: any number, exactly `count`, or at least one ('some'). */
  nodeIds(a: Args, count?: number | 'some'): NodeId[] {
    const ids = a.words().map((w) => this.nodeId(w))
    if (count === 'some' && ids.length === 0) throw new ScriptError(`${a.verb} needs node ids`)
    if (typeof count === 'number' && ids.length !== count) throw new ScriptError(`${a.verb} needs ${count === 1 ? 'a node id' : `${count} node ids`}`)
    return ids
  }

  /** "ID WORD": a node and one word (a proposal's data, a read's context). */
  nodeAndWord(a: Args): {id: NodeId; word: string} {
    const [id, word, ...rest] = a.words()
    if (id === undefined || word === undefined || rest.length > 0) throw new ScriptError(`${a.verb} needs a node id and one word`)
    return {id: this.nodeId(id), word}
  }

  liveId(id: NodeId): NodeId {
    if (this.c.down.has(id)) throw new ScriptError(`node ${id} is down`)
    return id
  }

  live(id: NodeId) {
    return this.c.node(this.liveId(id))
  }

  filter(a: Args): MessagePredicate {
    const ids = (key: string) => a.list(key)?.map((w) => this.nodeId(w))
    const from = ids('from')
    const to = ids('to')
    const types = a.list('type')
    for (const t of types ?? []) {
      if (!MESSAGE_TYPES.includes(t as MessageType)) throw new ScriptError(`unknown message type "${t}" (the types are ${MESSAGE_TYPES.join(', ')})`)
    }
    return (m: Message) => (!from || from.includes(m.from)) && (!to || to.includes(m.to)) && (!types || types.includes(m.type))
  }

  // ------------------------------------------------------------ driving and printing

  /** Prints the answer of a request to node `id` (`okText` if granted) and the events it caused. */
  answer(out: string[], id: NodeId, r: {ok: true} | {ok: false; reason: string; leaderHint?: NodeId | 0}, okText = 'ok'): void {
    out.push(r.ok ? okText : `refused: ${r.reason}${r.leaderHint === undefined ? '' : ` (leader hint ${r.leaderHint})`}`)
    this.flushEvents(out, '', id)
  }

  unseenEvents(): number {
    return this.c.events.length - this.eventsSeen
  }

  /** Prints the events not printed yet; those of node `id` without their node id. */
  flushEvents(out: string[], indent: string, id?: NodeId): void {
    if (!this.cluster) return
    for (const e of this.cluster.events.slice(this.eventsSeen)) {
      const colon = e.indexOf(': ')
      const from = Number(e.slice(0, colon))
      out.push(`${indent}event${from === id ? '' : ` ${from}`}: ${e.slice(colon + 2)}`)
    }
    this.eventsSeen = this.cluster.events.length
  }

  /** One Ready turn of node `id`, printed; false when it had nothing to do (or is down). */
  handleReady(id: NodeId, out: string[]): boolean {
    const c = this.c
    const sentBefore = c.sent.length
    const rd = c.process(id)
    if (!rd) return false
    out.push(`> ${id} handling Ready`)
    this.flushEvents(out, '  ', id) // events of making the Ready (sending a snapshot)
    out.push(...formatReady(rd, this.soft.get(id)).map((l) => `  ${l}`))
    for (const r of c.sent.slice(sentBefore)) {
      // Ready.messages in order, as they went onto the network.
      out.push(`    ${formatMessage(r.message)}${r.dropped ? ' (dropped)' : ''}`)
    }
    const committed = formatCommitted(rd)
    if (committed.length > 0) out.push(...committed.map((l) => `  ${l}`))
    this.soft.set(id, softText(rd))
    return true
  }

  /** Steps the pending messages matching `pred`, grouped by recipient (in id order), each in send order. */
  deliver(pred: MessagePredicate, out: string[]): number {
    const c = this.c
    const batch = c.pending.filter(pred)
    for (const id of c.ids) {
      const mine = batch.filter((m) => m.to === id)
      if (mine.length === 0) continue
      out.push(`> ${id} receiving messages`)
      for (const m of mine) {
        const stepped = c.deliver((x) => x === m).length > 0
        out.push(`  ${formatMessage(m)}${stepped ? '' : ' (dropped)'}`)
        this.flushEvents(out, '  ', id)
      }
    }
    return batch.length
  }

  /** Ready on every live node, then deliver what matches, until quiet (the harness's stabilize, printed). */
  stabilize(pred: MessagePredicate, out: string[]): void {
    const c = this.c
    for (let round = 0; round < MAX_ROUNDS; round++) {
      for (const id of c.ids) this.handleReady(id, out)
      const quiet = c.ids.every((id) => c.down.has(id) || !c.node(id).hasReady())
      if (quiet && c.pending.filter(pred).length === 0) return
      this.deliver(pred, out)
    }
    throw new ScriptError(`the cluster did not stabilize within ${MAX_ROUNDS} rounds`)
  }

  printStatus(ids: NodeId[], out: string[]): void {
    for (const id of ids) {
      if (this.c.down.has(id)) {
        out.push(`${id}: down`)
        continue
      }
      const n = this.c.node(id)
      const s = n.status()
      const snap = s.snapshotIndex > 0 ? ` snap=${s.snapshotIndex}@${s.snapshotTerm}` : ''
      out.push(
        `${id}: ${s.role} term=${s.term} vote=${s.votedFor} leader=${s.leaderId} last=${s.lastIndex}@${s.lastTerm} commit=${s.commitIndex} applied=${s.appliedIndex}${snap}`,
      )
      for (const f of this.c.ids) {
        const pr = f === id ? undefined : n.followerProgress(f)
        if (pr) out.push(`  progress ${f}: ${pr.state} match=${pr.matchIndex} next=${pr.nextIndex}`)
      }
    }
  }

  /** A live node's log, or what a down node's storage holds. */
  logOf(id: NodeId): {snapshot: {lastIncludedIndex: number; lastIncludedTerm: number} | null; entries: Entry[]} {
    if (this.c.down.has(id)) {
      const st = this.c.storage.get(id)!
      return {snapshot: st.snapshot, entries: st.entries}
    }
    const log = this.c.node(id).log()
    const snapshot = log.snapshotIndex > 0 ? {lastIncludedIndex: log.snapshotIndex, lastIncludedTerm: log.snapshotTerm} : null
    return {snapshot, entries: log.entries()}
  }
}

/** A preset node line of `cluster`: "ID [term=T] [vote=V] [commit=C] [log=T1,T2,..] [snap=I@T]". */
function parseNodeSpec(line: string, ids: NodeId[]): {id: NodeId; spec: NodeSpec} {
  const {verb: idText, tokens} = tokenize(line)
  const a = new Args('a preset node line', tokens)
  if (a.words().length > 0) throw new ScriptError(`"${line}": a preset node line starts with one node id`)
  const id = toInt(idText, 'a node id')
  if (!ids.includes(id)) throw new ScriptError(`"${line}": no node ${id} in this cluster`)
  const spec: NodeSpec = {currentTerm: a.int('term', 0), votedFor: a.int('vote', 0), commitIndex: a.int('commit', 0)}
  const log = a.list('log')
  if (log) spec.log = log.map((t) => toInt(t, 'a term in log='))
  const snap = a.get('snap')
  if (snap !== undefined) {
    const m = /^(\d+)@(\d+)$/.exec(snap)
    if (!m) throw new ScriptError(`snap= must be INDEX@TERM, not "${snap}"`)
    const index = Number(m[1])
    spec.snapshot = {lastIncludedIndex: index, lastIncludedTerm: Number(m[2]), data: `state@${index}`}
  }
  a.done()
  return {id, spec}
}

function softText(rd: Ready): string {
  return `role=${rd.softState.role} leader=${rd.softState.leaderId}`
}

/** The fields of a Ready up to its messages (which the caller prints from the send records). */
function formatReady(rd: Ready, prevSoft: string | undefined): string[] {
  const out: string[] = []
  if (softText(rd) !== prevSoft) out.push(`softState: ${softText(rd)}`)
  const hs = rd.hardState
  if (hs) out.push(`hardState: term=${hs.currentTerm} vote=${hs.votedFor} commit=${hs.commitIndex}`)
  if (rd.snapshot) out.push(`snapshot: ${formatSnapshot(rd.snapshot)}`)
  if (rd.entries.length > 0) out.push(`entries: ${formatEntries(rd.entries)}`)
  if (rd.messages.length > 0) out.push('messages:')
  return out
}

/** The fields of a Ready after its messages. */
function formatCommitted(rd: Ready): string[] {
  const out: string[] = []
  if (rd.committedEntries.length > 0) out.push(`committedEntries: ${formatEntries(rd.committedEntries)}`)
  for (const r of rd.readStates) out.push(`readState: ctx=${formatData(r.ctx)} index=${r.index}`)
  return out
}

function formatSnapshot(s: Pick<Snapshot, 'lastIncludedIndex' | 'lastIncludedTerm'>): string {
  return `${s.lastIncludedIndex}@${s.lastIncludedTerm}`
}

function formatData(data: unknown): string {
  return typeof data === 'string' && /^\S+$/.test(data) ? data : (JSON.stringify(data) ?? 'undefined')
}
