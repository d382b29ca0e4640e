// The deterministic simulator. N replicas run through the same driver as the real process
// (src/server/replica.ts) over a simulated clock, network and disk; a seed decides every delay,
// loss, duplicate, partition, crash and election timeout, and the client workload. After a phase
// of faults it heals everything and requires liveness; checkers watch safety throughout and the
// client history is checked for linearizability at the end. A failing seed is a bug report that
// replays exactly (`npm run sim -- --seed S --trace`).
import {formatMessage} from '../core/format.js'
import type {Message, NodeId} from '../core/types.js'
import {InvariantError} from '../lib/assert.js'
import {Prng} from '../lib/prng.js'
import {LeaderTracker} from '../client/leader-tracker.js'
import type {ClientReply, ClientRequest} from '../server/protocol.js'
import {Replica, type ReplicaMutant} from '../server/replica.js'
import {SafetyChecker, type Violation} from './checkers.js'
import {EventHeap} from './heap.js'
import {checkLinearizable, formatOp, type HistoryOp, type KvOp, type KvResult} from './linearizability.js'
import {MemoryFs} from '../storage/memory-fs.js'
import {SegmentLogStorage} from '../storage/segment-log.js'

export interface SimOptions {
  seed: number
  mutant?: ReplicaMutant
  trace?: (line: string) => void
  /** Simulated milliseconds of faults before the final heal. */
  faultMs?: number
  /** Simulated milliseconds allowed after the heal for a leader and client progress. */
  livenessMs?: number
}

export interface SimResult {
  seed: number
  ok: boolean
  violation: Violation | null
  nodes: number
  events: number
  simMs: number
  ops: number
  committed: number
  excerpt?: string[]
}

const TICK_MS = 10
const ELECTION_TICKS = 10
const HEARTBEAT_TICKS = 2

interface SimNode {
  id: NodeId
  /** The node's disk: the real segment-file storage code runs on it, and crashes lose its unsynced writes. */
  disk: MemoryFs
  replica: Replica | null
  /** Incremented at every crash: replies and timers of an earlier incarnation are void. */
  epoch: number
  prng: Prng
  wasLeader: boolean
  commitIndex: number
}

interface NetworkState {
  /** Directed links that drop everything: `${from}>${to}`. */
  blocked: Set<string>
  lossRate: number
  dupRate: number
  /** Messages may overtake each other on a link (else FIFO, like TCP). */
  reorder: boolean
  maxDelayMs: number
}

export class Simulation {
  readonly seed: number
  private readonly prng: Prng
  private readonly heap = new EventHeap()
  private seq = 0
  now = 0
  events = 0
  private readonly nodes: SimNode[] = []
  private readonly ids: NodeId[]
  private readonly net: NetworkState
  private readonly linkClock = new Map<string, number>()
  readonly checker = new SafetyChecker()
  private readonly history: HistoryOp[] = []
  private readonly opts: Required<Omit<SimOptions, 'mutant' | 'trace'>> & Pick<SimOptions, 'mutant' | 'trace'>
  private readonly keys: string[]
  private valueCounter = 0
  private opCounter = 0
  private completedAfterHeal = 0
  private healed = false
  private committed = 0
  private readonly traceTail: string[] = []
  private readonly maxEntriesPerAppend: number
  private readonly snapshotEvery: number
  private readonly segmentBytesMax: number
  /** Probability that a newly elected leader is crashed or cut off within a few ms (leader churn). */
  private readonly churn: number

  constructor(opts: SimOptions) {
    this.opts = {faultMs: 6000, livenessMs: 6000, ...opts}
    this.seed = opts.seed
    this.prng = new Prng(opts.seed)
    const n = this.prng.pick([3, 3, 5, 5, 5])
    this.ids = Array.from({length: n}, (_, i) => i + 1)
    this.keys = this.prng.pick([['x'], ['x', 'y'], ['x', 'y', 'z']])
    this.maxEntriesPerAppend = this.prng.pick([1, 1, 2, 4, 64])
    this.snapshotEvery = this.prng.pick([8, 25, 100, 100_000])
    this.segmentBytesMax = this.prng.pick([512, 4096, 1 << 20])
    this.churn = this.prng.pick([0, 0, 0.3, 0.6, 0.9])
    this.net = {
      blocked: new Set(),
      lossRate: this.prng.pick([0, 0, 0.01, 0.05]),
      dupRate: this.prng.pick([0, 0.01, 0.03]),
      reorder: this.prng.chance(0.3),
      maxDelayMs: this.prng.pick([2, 5, 15, 40]),
    }
    for (const id of this.ids) {
      this.nodes.push({id, disk: new MemoryFs(), replica: null, epoch: 0, prng: this.prng.fork(), wasLeader: false, commitIndex: 0})
    }
  }

  run(): SimResult {
    for (const node of this.nodes) this.boot(node)
    this.startNemesis()
    const clients = this.prng.int(2, 4)
    for (let c = 1; c <= clients; c++) this.startClient(c)
    this.at(TICK_MS * 50, () => this.checker.logMatching(this.liveRafts()), true)
    const end = this.opts.faultMs + this.opts.livenessMs
    this.schedule(this.opts.faultMs, () => this.healAll())
    try {
      while (this.heap.size > 0 && !this.checker.violation) {
        const e = this.heap.pop()!
        if (e.at > end) break
        this.now = e.at
        this.events++
        e.run()
      }
      if (!this.checker.violation) this.checker.logMatching(this.liveRafts())
      if (!this.checker.violation) this.checkLiveness()
      if (!this.checker.violation) this.checkHistory()
    } catch (err) {
      if (!(err instanceof InvariantError)) throw err
      this.checker.violation = {rule: 'invariant', detail: err.message}
    }
    const violation = this.checker.violation
    return {
      seed: this.seed,
      ok: violation === null,
      violation,
      nodes: this.ids.length,
      events: this.events,
      simMs: this.now,
      ops: this.history.length,
      committed: this.committed,
      excerpt: violation ? [...this.traceTail] : undefined,
    }
  }

  // ---------------------------------------------------------------- plumbing

  private schedule(delayMs: number, run: () => void): void {
    this.heap.push({at: this.now + delayMs, seq: this.seq++, run})
  }

  /** Runs `fn` every `periodMs` (while the simulation lasts). */
  private at(periodMs: number, fn: () => void, repeat: boolean): void {
    this.schedule(periodMs, () => {
      fn()
      if (repeat) this.at(periodMs, fn, repeat)
    })
  }

  private trace(line: string): void {
    const text = `${String(this.now).padStart(6)}ms ${line}`
    this.opts.trace?.(text)
    this.traceTail.push(text)
    if (this.traceTail.length > 40) this.traceTail.shift()
  }

  private liveRafts() {
    return this.nodes.filter((n) => n.replica).map((n) => n.replica!.raft)
  }

  // ---------------------------------------------------------------- replicas

  private boot(node: SimNode): void {
    const epoch = node.epoch
    const replica = new Replica(
      {
        id: node.id,
        peers: this.ids,
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: HEARTBEAT_TICKS,
        prng: node.prng.fork(),
        mutant: this.opts.mutant,
        maxEntriesPerAppend: this.maxEntriesPerAppend,
        snapshotEvery: this.snapshotEvery,
        // Tiny steps, so that snapshot jobs span several events: crashes, an InstallSnapshot
        // from the leader and new entries land in the middle of one.
        snapshotItemsPerStep: 2,
      },
      {
        storage: new SegmentLogStorage(node.disk, `/node-${node.id}`, {
          segmentBytesMax: this.segmentBytesMax,
          log: (line) => this.trace(`n${node.id} ${line}`),
        }),
        send: (m) => this.send(m),
        log: (line) => this.trace(`n${node.id} ${line}`),
        defer: (fn) =>
          this.schedule(1, () => {
            if (node.epoch !== epoch || !node.replica) return
            fn()
            this.afterStep(node)
          }),
      },
    )
    replica.onApply = (entry) => {
      this.checker.entryApplied(node.id, entry)
      if (entry.index > this.committed) this.committed = entry.index
    }
    replica.kv.onEffect = (cmd, index) => this.checker.effect(node.id, cmd, index)
    node.replica = replica
    node.wasLeader = false
    node.commitIndex = 0
    this.afterStep(node)
    const tick = () => {
      if (node.epoch !== epoch || !node.replica) return
      node.replica.tick()
      this.afterStep(node)
      this.schedule(TICK_MS, tick)
    }
    // Clocks start out of phase.
    this.schedule(node.prng.int(1, TICK_MS), tick)
  }

  private afterStep(node: SimNode): void {
    const r = node.replica!
    r.process()
    const isLeader = r.raft.role === 'leader'
    const committed = r.raft.commitIndex > node.commitIndex
    node.commitIndex = r.raft.commitIndex
    if (isLeader && !node.wasLeader) {
      this.checker.becameLeader(r.raft)
      if (this.now < this.opts.faultMs && this.prng.chance(this.churn)) this.churnLeader(node, 30)
    } else if (isLeader && committed && this.now < this.opts.faultMs && this.prng.chance(this.churn / 4)) {
      // Kill the leader right after it commits, before followers learn of it.
      this.churnLeader(node, 3)
    }
    node.wasLeader = isLeader
  }

  private crash(node: SimNode): void {
    if (!node.replica) return
    this.trace(`n${node.id} CRASH`)
    node.replica = null
    node.epoch++
    node.disk.crash(node.prng)
  }

  private restart(node: SimNode): void {
    if (node.replica) return
    this.trace(`n${node.id} RESTART`)
    this.boot(node)
  }

  // ---------------------------------------------------------------- network

  private send(m: Message): void {
    if (this.net.blocked.has(`${m.from}>${m.to}`)) return
    const sender = this.nodes[m.from - 1]!
    const epoch = sender.epoch
    if (this.prng.chance(this.net.lossRate)) return
    const copies = this.prng.chance(this.net.dupRate) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      let delay = this.prng.int(1, this.net.maxDelayMs)
      if (!this.net.reorder) {
        // FIFO per link, like a TCP stream.
        const link = `${m.from}>${m.to}`
        const at = Math.max(this.now + delay, this.linkClock.get(link) ?? 0)
        this.linkClock.set(link, at)
        delay = at - this.now
      }
      this.schedule(delay, () => {
        // A sender that crashed meanwhile may not have got the bytes out of its buffers.
        if (sender.epoch !== epoch && this.prng.chance(0.5)) return
        this.deliver(m)
      })
    }
  }

  private deliver(m: Message): void {
    const node = this.nodes[m.to - 1]!
    if (!node.replica) return
    // A partition cuts messages already in flight, too.
    if (this.net.blocked.has(`${m.from}>${m.to}`)) return
    if (this.opts.trace) this.trace(`n${m.to} <- ${formatMessage(m)}`)
    node.replica.receive(m)
    this.afterStep(node)
  }

  private setBlocked(pairs: [NodeId, NodeId][], label: string): void {
    this.net.blocked = new Set(pairs.map(([a, b]) => `${a}>${b}`))
    this.trace(`NEMESIS ${label}`)
  }

  private partition(groups: NodeId[][], label: string): void {
    const groupOf = new Map<NodeId, number>()
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)))
    const pairs: [NodeId, NodeId][] = []
    for (const a of this.ids) for (const b of this.ids) if (a !== b && groupOf.get(a) !== groupOf.get(b)) pairs.push([a, b])
    this.setBlocked(pairs, label)
  }

  // ---------------------------------------------------------------- nemesis

  private leader(): SimNode | undefined {
    let best: SimNode | undefined
    for (const n of this.nodes) {
      const r = n.replica?.raft
      if (r?.role === 'leader' && (!best || r.currentTerm > best.replica!.raft.currentTerm)) best = n
    }
    return best
  }

  private startNemesis(): void {
    const step = () => {
      if (this.now >= this.opts.faultMs) return
      this.nemesisAction()
      this.schedule(this.prng.int(100, 700), step)
    }
    this.schedule(this.prng.int(200, 600), step)
  }

  private nemesisAction(): void {
    const p = this.prng
    const ids = this.ids
    const action = p.pick([
      'halves', 'isolate-leader', 'ring', 'one-way', 'heal', 'heal', 'crash', 'crash-leader', 'crash-all', 'restart', 'loss',
    ])
    switch (action) {
      case 'halves': {
        const shuffled = p.shuffle([...ids])
        const cut = p.int(1, ids.length - 1)
        const groups = [shuffled.slice(0, cut), shuffled.slice(cut)]
        return this.partition(groups, `partition ${groups.map((g) => g.join(',')).join(' | ')}`)
      }
      case 'isolate-leader': {
        const l = this.leader()
        if (!l) return
        return this.partition([[l.id], ids.filter((i) => i !== l.id)], `isolate leader ${l.id}`)
      }
      case 'ring': {
        // Each node reaches only its ring neighbours: everyone sees a majority, no two the same one.
        // (With 5 nodes each sees its two neighbours; with 3 the ring is complete.)
        const order = p.shuffle([...ids])
        const pairs: [NodeId, NodeId][] = []
        for (let i = 0; i < order.length; i++) {
          for (let j = 0; j < order.length; j++) {
            const d = Math.min(Math.abs(i - j), order.length - Math.abs(i - j))
            if (d > 1) pairs.push([order[i]!, order[j]!])
          }
        }
        return this.setBlocked(pairs, `majorities ring ${order.join('-')}`)
      }
      case 'one-way': {
        const a = p.pick(ids)
        const others = ids.filter((i) => i !== a)
        const pairs = others.map((b): [NodeId, NodeId] => (p.chance(0.5) ? [a, b] : [b, a]))
        return this.setBlocked(pairs, `one-way cuts ${pairs.map(([x, y]) => `${x}>${y}`).join(' ')}`)
      }
      case 'heal':
        return this.setBlocked([], 'heal')
      case 'crash':
      case 'crash-leader': {
        const target = action === 'crash-leader' ? this.leader() : p.pick(this.nodes)
        if (!target) return
        this.crash(target)
        this.schedule(p.int(50, 1500), () => {
          if (this.now < this.opts.faultMs) this.restart(target)
        })
        return
      }
      case 'crash-all': {
        // Power loss of the whole cluster, then everyone comes back.
        for (const n of this.nodes) this.crash(n)
        this.schedule(p.int(50, 500), () => {
          for (const n of this.nodes) if (this.now < this.opts.faultMs) this.restart(n)
        })
        return
      }
      case 'restart': {
        const down = this.nodes.filter((n) => !n.replica)
        if (down.length > 0) this.restart(p.pick(down))
        return
      }
      case 'loss':
        this.net.lossRate = p.pick([0, 0.02, 0.1, 0.3])
        this.trace(`NEMESIS loss ${this.net.lossRate}`)
        return
    }
  }

  /** Leader churn: the new leader dies or is cut off before it has replicated much. */
  private churnLeader(node: SimNode, withinMs: number): void {
    const epoch = node.epoch
    this.schedule(this.prng.int(0, withinMs), () => {
      if (node.epoch !== epoch || this.now >= this.opts.faultMs) return
      if (this.prng.chance(0.7)) {
        this.crash(node)
        this.schedule(this.prng.int(20, 300), () => {
          if (this.now < this.opts.faultMs) this.restart(node)
        })
      } else {
        this.partition([[node.id], this.ids.filter((i) => i !== node.id)], `churn: isolate new leader ${node.id}`)
      }
    })
  }

  private healAll(): void {
    this.setBlocked([], 'final heal')
    this.net.lossRate = 0
    for (const n of this.nodes) this.restart(n)
    this.healed = true
  }

  private checkLiveness(): void {
    const up = this.nodes.filter((n) => n.replica)
    const leaders = up.filter((n) => n.replica!.raft.role === 'leader')
    const top = this.leader()
    if (!top || leaders.length !== 1) {
      this.checker.violation = {
        rule: 'liveness',
        detail: `${leaders.length} leaders ${this.opts.livenessMs}ms after the final heal (roles: ${up.map((n) => `${n.id}=${n.replica!.raft.role}@${n.replica!.raft.currentTerm}`).join(' ')})`,
      }
      return
    }
    if (this.completedAfterHeal === 0) {
      this.checker.violation = {rule: 'liveness', detail: `no client operation completed in ${this.opts.livenessMs}ms after the final heal`}
    }
  }

  private checkHistory(): void {
    const result = checkLinearizable(this.history)
    if (!result.ok) {
      this.checker.violation = {rule: 'linearizability', detail: `key ${result.key}: ${result.reason}`}
      this.traceTail.length = 0
      for (const op of result.excerpt) this.traceTail.push(formatOp(op))
    }
  }

  // ---------------------------------------------------------------- clients

  private startClient(client: number): void {
    const clientId = `c${client}`
    const p = this.prng.fork()
    const tracker = new LeaderTracker(this.ids, p.int(0, this.ids.length - 1))
    let seq = 0
    let lastValue: string | null = null
    const nextOp = () => {
      const end = this.opts.faultMs + this.opts.livenessMs
      if (this.now > end - 1500) return
      const key = p.pick(this.keys)
      const roll = p.next()
      let op: KvOp
      let req: ClientRequest
      if (roll < 0.4) {
        op = {kind: 'get', key}
        req = {type: 'get', key}
      } else if (roll < 0.8 || lastValue === null) {
        const value = `v${++this.valueCounter}`
        op = {kind: 'put', key, value}
        req = {type: 'put', key, value, clientId, seq: ++seq}
      } else {
        const value = `v${++this.valueCounter}`
        const expected = p.chance(0.7) ? lastValue : `v${p.int(1, this.valueCounter)}`
        op = {kind: 'cas', key, expected, value}
        req = {type: 'cas', key, expected, value, clientId, seq: ++seq}
      }
      this.runOp(client, tracker, op, req, (result) => {
        if (result.status === 'ok' && op.kind === 'get') lastValue = result.value ?? null
        if (result.status === 'ok' && op.kind !== 'get' && 'value' in op) lastValue = op.value
        if (result.status === 'mismatch') lastValue = result.current
        this.schedule(p.int(1, 30), nextOp)
      })
    }
    this.schedule(p.int(0, 50), nextOp)
  }

  /** One client operation: try nodes (following leader hints) until it completes or times out. */
  private runOp(client: number, tracker: LeaderTracker, op: KvOp, req: ClientRequest, done: (r: KvResult) => void): void {
    const id = ++this.opCounter
    const invoke = this.now
    const deadline = invoke + 1500
    let finished = false
    const finish = (result: KvResult) => {
      if (finished) return
      finished = true
      const complete = result.status === 'unknown' ? Infinity : this.now
      this.history.push({id, client, op, invoke, complete, result})
      if (result.status !== 'unknown' && this.healed) this.completedAfterHeal++
      this.trace(`c${client} ${op.kind}(${'key' in op ? op.key : ''}${'value' in op ? `,${op.value}` : ''}) -> ${JSON.stringify(result)}`)
      done(result)
    }
    const attempt = (n: number) => {
      if (finished) return
      if (this.now >= deadline) {
        return finish({status: 'unknown'})
      }
      const target = this.nodes[tracker.current() - 1]!
      let answered = false
      const timeout = () => {
        if (answered || finished) return
        answered = true
        tracker.next()
        attempt(n + 1)
      }
      this.schedule(200, timeout)
      // Client traffic is not partitioned (as with `raftctl partition`), but it has latency.
      this.schedule(this.prng.int(1, 5), () => {
        const replica = target.replica
        if (!replica) return
        const epoch = target.epoch
        replica.request(req, (reply: ClientReply) => {
          if (target.epoch !== epoch) return
          this.schedule(this.prng.int(1, 5), () => {
            if (answered || finished) return
            answered = true
            const result = toResult(reply)
            if (result) return finish(result)
            if (!reply.ok) tracker.redirected(reply.leaderHint)
            this.schedule(reply.ok ? 0 : 5, () => attempt(n + 1))
          })
        })
        this.afterStep(target)
      })
    }
    attempt(0)
  }
}

function toResult(reply: ClientReply): KvResult | null {
  if (!reply.ok) return null
  if ('value' in reply) return {status: 'ok', value: reply.value}
  const r = reply.result
  switch (r.status) {
    case 'ok':
      return {status: 'ok'}
    case 'not-found':
      return {status: 'not-found'}
    case 'mismatch':
      return {status: 'mismatch', current: r.current}
    case 'session-expired':
      return {status: 'unknown'}
  }
}

export function runSeed(opts: SimOptions): SimResult {
  return new Simulation(opts).run()
}
