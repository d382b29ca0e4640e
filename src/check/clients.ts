// Everything that talks to the cluster while a `raftctl check` runs, started and stopped together:
// the roaming clients, the leader probes (per node: a writer and a reader lane per key, driven by
// the LeaderWatch) and the status poller (leader and term over time, for the report and the
// liveness verdict). Every operation is recorded as it completes; stop() waits for the operations
// in hand.
import {ClusterClient} from '../client/cluster-client.js'
import type {ClusterConfig} from '../clusterdir/config.js'
import {agreedLeader} from '../cluster/status.js'
import {pollStatuses} from '../cluster/status-poller.js'
import type {NodeId} from '../core/types.js'
import type {Prng} from '../lib/prng.js'
import type {NodeStatus} from '../protocol/protocol.js'
import {roundMs, type OpRecord, type StatusRecord} from './history.js'
import {LeaderWatch} from './leader-watch.js'
import {
  isReader,
  KnownValues,
  OpGenerator,
  probeIndex,
  ProbeGenerator,
  runClientLoop,
  Signal,
  waitUntil,
  type ClientLoopOptions,
  type RunKeys,
  type WorkloadPhase,
} from './workload.js'

const STATUS_POLL_MS = 200
/**
 * Reader lanes per node. A new leader's first ReadIndex rounds race its first append: a read it
 * confirms before that append commits is served at the commit index it inherited. Each lane's
 * first read of a claim starts a round of its own (STAGGER_MS apart), so the heartbeats of
 * several rounds, each delayed on its own, race the one append.
 */
const READER_LANES = 8
/**
 * Writer lanes per node, while it is the newest leader. A new leader lags only writes its
 * predecessor acknowledged but had not yet announced as committed (the last network delay's
 * worth); each writer keeps one write in flight, so several writers (each starting on a register
 * of its own) make it likely that such a write exists, on any register, when a leader falls.
 */
const WRITER_LANES = 3
/** Probe lanes per node: the reader lanes, then the writer lanes. */
const PROBE_LANES = READER_LANES + WRITER_LANES
/** How far apart the reader lanes' first reads of a claim start. */
const STAGGER_MS = 2
/** How long after a node starts to claim leadership its extra reader lanes read. */
const FRESH_CLAIM_MS = 500

export interface ClientsOptions {
  config: ClusterConfig
  secret: string
  keys: RunKeys
  clients: number
  opTimeoutMs: number
  /** Start the leader probes (default: yes). */
  probes: boolean
  prng: Prng
  /** The node the roaming clients try first. */
  startAt: NodeId
  clock: () => number
  /** Every op, when its outcome is known. */
  record: (r: OpRecord) => void
  /** Every status round. */
  status: (s: StatusRecord) => void
}

export interface RunningClients {
  /** What the clients do from now on. */
  setPhase(p: WorkloadPhase): void
  /** Stops everything (the ops in hand finish first). */
  stop(): Promise<void>
  /** The number of clients (roaming and probes): process numbers grow by it. */
  stride: number
}

/** What every client loop of a run shares. */
type CommonLoop = Pick<ClientLoopOptions, 'stride' | 'opTimeoutMs' | 'clock' | 'nextId' | 'stopping' | 'record'>

/** One client and the loop that drives it. */
interface Lane {
  client: ClusterClient
  loop: Promise<void>
}

export function startClients(o: ClientsOptions): RunningClients {
  let stopping = false
  let phase: WorkloadPhase = 'faults'
  let opId = 0
  const known = new KnownValues()
  const record = (r: OpRecord) => {
    known.observe(r)
    o.record(r)
  }
  const ids = o.config.nodes.map((n) => n.id)
  const stride = o.clients + (o.probes ? PROBE_LANES * ids.length : 0)
  const common: CommonLoop = {stride, opTimeoutMs: o.opTimeoutMs, clock: o.clock, nextId: () => ++opId, stopping: () => stopping, record}
  const roaming = startRoaming(o, common, known, () => phase)

  // Probes run in the fault phase and the quiet period: pinned clients are no use to the
  // durability phase's writes, and a node they wait for may be gone then.
  const changed = new Signal()
  const watch = o.probes ? new LeaderWatch(o.config, o.secret, () => changed.fire()) : null
  const probesOn = () => phase !== 'durability'
  const probes = watch
    ? ids.flatMap((id) => Array.from({length: PROBE_LANES}, (_, lane) => startProbe(o, common, {id, lane, watch, changed, on: probesOn})))
    : []

  const poller = pollStatuses(o.config, o.secret, {
    intervalMs: STATUS_POLL_MS,
    active: () => !stopping,
    onRound: (statuses) => o.status(statusRecord(o.clock(), statuses)),
  })

  return {
    stride,
    setPhase(p) {
      phase = p
      changed.fire()
    },
    async stop() {
      stopping = true
      changed.fire()
      const all = [...roaming, ...probes]
      await Promise.all(all.map((c) => c.loop))
      await watch?.stop()
      await poller
      await Promise.all(all.map((c) => c.client.close()))
    },
  }
}

/** The roaming clients: each follows the leader, doing what its generator plans for the phase. */
function startRoaming(o: ClientsOptions, common: CommonLoop, known: KnownValues, phase: () => WorkloadPhase): Lane[] {
  return Array.from({length: o.clients}, (_, i) => {
    const client = new ClusterClient({nodes: o.config.nodes, clusterId: o.config.clusterId, secret: o.secret, startAt: o.startAt})
    const generator = new OpGenerator(o.prng.fork(), i, o.keys, known, isReader(i, o.clients), phase)
    return {client, loop: runClientLoop({...common, index: i, client, generator})}
  })
}

/** One probe lane: which node it is pinned to, which lane of it, and what drives it. */
interface ProbeLane {
  id: NodeId
  lane: number
  watch: LeaderWatch
  changed: Signal
  /** Whether probes run in the current phase. */
  on: () => boolean
}

/**
 * Per node: the writers write while the node is the newest leader; reader lane 0 reads while
 * it claims to lead at all (a deposed leader that does not know it yet included); the other
 * lanes join in while the claim is fresh or contested, lane k first STAGGER_MS * k after the
 * claim began. Each lane starts a new claim on its own key (lane k on key k, in turn), so a
 * new leader's first reads cover every key.
 */
function startProbe(o: ClientsOptions, common: CommonLoop, {id, lane, watch, changed, on}: ProbeLane): Lane {
  const lanes = READER_LANES
  const role = lane >= lanes ? 'writer' : 'reader'
  const index = probeIndex(o.clients, PROBE_LANES, id, lane)
  const client = new ClusterClient({nodes: o.config.nodes, clusterId: o.config.clusterId, secret: o.secret, only: id})
  const wanted =
    role === 'writer'
      ? () => on() && watch.newest() === id
      : lane === 0
        ? () => on() && watch.claimants().has(id)
        : () => on() && watch.claimants().has(id) && (watch.claimants().size > 1 || watch.claimAge(id) < FRESH_CLAIM_MS)
  // Writer w starts on register w; writer 0 alone puts write-once keys among a new leader's first entries.
  const offset = role === 'writer' ? lane - lanes : lane
  const generator = new ProbeGenerator(index, o.keys.registers, role, offset, () => watch.claimStart(id), lane === lanes ? o.keys.oncePrefix : '')
  const wait = waitUntil(wanted, common.stopping, changed)
  const ready =
    role === 'writer' || lane === 0
      ? wait
      : async () => {
          if (!(await wait())) return false
          const early = lane * STAGGER_MS - watch.claimAge(id)
          if (early > 0) await new Promise((r) => setTimeout(r, early))
          return !common.stopping()
        }
  return {client, loop: runClientLoop({...common, index, client, generator, ready})}
}

/** A history line: each node's role, term and commit index (null: no answer), the agreed leader. */
export function statusRecord(time: number, statuses: readonly (NodeStatus | null)[]): StatusRecord {
  const leader = agreedLeader([...statuses])
  return {
    status: {
      time: roundMs(time),
      leader,
      term: leader !== null ? (statuses.find((s) => s?.id === leader)?.term ?? null) : null,
      nodes: statuses.map((s) => (s === null ? null : {role: s.role, term: s.term, commit: s.commitIndex})),
    },
  }
}
