// The nemesis of `raftctl check`: applies the planned faults (plan.ts) to the real cluster and
// undoes them — partitions and partial topologies and link faults through the same stored rules
// `raftctl partition` / `raftctl net` push to the nodes, SIGKILL + restart, SIGSTOP + SIGCONT,
// a slow or stalled disk through the node's disk-fault control file, and a voter demoted to a
// learner and promoted back through the same configuration changes `raftctl member` makes.
// Invariant: at most one fault is in force at a time besides one background fault (a slow
// network, held across the others; the whole-cluster crash of the durability phase is a step of
// its own), and repairAll({background: true}) always leaves the network healed, every disk at
// full speed, every node running, none paused and every node a voter — also when the run fails
// half-way.
import type {NodeId} from '../core/types.js'
import type {LinkFault, PartitionRules} from '../transport/link-filter.js'
import type {ClusterConfig} from '../clusterdir/config.js'
import {updateDiskFaults} from '../clusterdir/disk-faults.js'
import {applyPartition, findLeader, pauseNodes, resumeNodes, startNodes, stopNodes} from '../cluster/service.js'
import {demoteMember, promoteMember} from '../cluster/membership.js'
import type {TestMode} from '../protocol/test-modes.js'
import type {NemesisAction, NemesisRecord} from './history.js'
import {FAULT_KINDS, type Fault, type FaultKind} from './plan.js'

export interface NemesisOptions {
  dir: string
  config: ClusterConfig
  secret: string
  /** Restart killed nodes in the test-only mode the cluster runs in. */
  mutant: TestMode | null
  /** Milliseconds since the run started. */
  clock: () => number
  record: (r: NemesisRecord) => void
}

/** A fault while it is in force: when it began and ended (ms since the start; end null: in force). */
export interface FaultWindow {
  fault: Fault
  from: number
  to: number | null
}

/** What applying one fault takes (see Nemesis.act). */
interface FaultAction {
  action: NemesisAction
  nodes: NodeId[]
  run: () => Promise<string | undefined>
  extra: Partial<NemesisRecord>
}

/** Applies faults to the real cluster and undoes them; every action becomes a NemesisRecord. */
export class Nemesis {
  /** The network rules in force, in parts: the fault's cuts and link faults, the background's link faults. */
  private cuts: PartitionRules | null = null
  private links: LinkFault[] = []
  private backgroundLinks: LinkFault[] = []
  private background: FaultWindow | null = null
  private readonly killed = new Set<NodeId>()
  private readonly paused = new Set<NodeId>()
  private slowDisk: NodeId | null = null
  private demoted: NodeId | null = null
  private current: FaultWindow | null = null
  readonly applied = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>
  /** Every fault applied, with when it was in force. */
  readonly windows: FaultWindow[] = []

  constructor(private readonly o: NemesisOptions) {}

  faultsApplied(): number {
    return Object.values(this.applied).reduce((s, n) => s + n, 0)
  }

  /** The leader per the running nodes, or null (between leaders, or none reachable). */
  async leader(): Promise<NodeId | null> {
    try {
      return await findLeader(this.o.config, this.o.secret)
    } catch {
      return null
    }
  }

  async apply(f: Fault): Promise<void> {
    const from = this.o.clock()
    const {action, nodes, run, extra} = this.faultAction(f)
    await this.act(action, nodes, f.text, run, extra)
    this.applied[f.fault]++
    this.current = {fault: f, from, to: null}
    this.windows.push(this.current)
  }

  /** What applying `f` takes: the action recorded, the nodes it concerns, the step itself, what the record adds. */
  private faultAction(f: Fault): FaultAction {
    switch (f.type) {
      case 'partition':
        return {
          action: 'partition',
          nodes: f.nodes,
          run: () => this.push({cuts: f.rules}),
          extra: {kind: f.kind, fault: f.fault, groups: f.rules.groups, ...(f.rules.cuts ? {cuts: f.rules.cuts} : {})},
        }
      case 'net':
        return {action: 'net', nodes: f.nodes, run: () => this.push({links: f.links}), extra: {kind: f.fault, fault: f.fault, links: f.links}}
      case 'kill':
        return {action: 'kill', nodes: [f.node], run: () => this.kill(f.node), extra: {fault: 'kill'}}
      case 'pause':
        return {action: 'pause', nodes: [f.node], run: () => this.pause(f.node), extra: {fault: 'pause'}}
      case 'slow-disk':
        return {
          action: 'slow-disk',
          nodes: [f.node],
          run: () => this.slowDown(f.node, f.fsyncDelayMs),
          extra: {fault: 'slow-disk', fsyncDelayMs: f.fsyncDelayMs},
        }
      case 'member':
        return {action: 'demote', nodes: [f.node], run: () => this.demote(f.node), extra: {fault: 'member'}}
    }
  }

  private async kill(id: NodeId): Promise<undefined> {
    this.killed.add(id)
    await stopNodes(this.o.dir, [id], true)
    return undefined
  }

  private async pause(id: NodeId): Promise<undefined> {
    const r = await pauseNodes(this.o.dir, [id])
    if (r.paused.length > 0) this.paused.add(id)
    return undefined
  }

  private async slowDown(id: NodeId, fsyncDelayMs: number): Promise<undefined> {
    this.slowDisk = id
    updateDiskFaults(this.o.dir, id, {fsyncDelayMs})
    return undefined
  }

  private async demote(id: NodeId): Promise<undefined> {
    // Marked first: a demotion cut short may still take effect, and the repair promotes.
    this.demoted = id
    await demoteMember(this.o.dir, id, {force: false, timeoutMs: MEMBER_TIMEOUT_MS})
    return undefined
  }

  /** A background fault (a slow network), held across the faults that come and go meanwhile. */
  async applyBackground(f: Fault & {type: 'net'}): Promise<void> {
    const from = this.o.clock()
    await this.act('net', f.nodes, f.text, () => this.push({background: f.links}), {kind: f.fault, fault: f.fault, links: f.links, background: true})
    this.applied[f.fault]++
    this.background = {fault: f, from, to: null}
    this.windows.push(this.background)
  }

  /** Whether a background fault is in force. */
  get hasBackground(): boolean {
    return this.background !== null
  }

  /** Ends the background fault, keeping the rest of the network as it is. */
  async endBackground(): Promise<void> {
    if (!this.background) return
    this.background.to = this.o.clock()
    this.background = null
    await this.act('net', [], 'the network is fast again', () => this.push({background: []}), {kind: 'end', background: true})
  }

  /**
   * Undoes the fault in force (with `background`, the background one too): resume paused nodes,
   * restore the disk, heal the network, restart killed nodes (in that order).
   */
  async repairAll(opts: {background?: boolean} = {}): Promise<void> {
    if (this.current) this.current.to = this.o.clock()
    this.current = null
    if (opts.background) await this.endBackground()
    if (this.paused.size > 0) {
      const ids = [...this.paused].sort((a, b) => a - b)
      await this.act('resume', ids, `resume node${ids.length > 1 ? 's' : ''} ${ids.join(',')}`, async () => {
        await resumeNodes(this.o.dir, ids).catch(() => undefined)
        this.paused.clear()
        return undefined
      })
    }
    if (this.slowDisk !== null) {
      const id = this.slowDisk
      await this.act('disk-restore', [id], `restore the disk of node ${id}`, async () => {
        updateDiskFaults(this.o.dir, id, {fsyncDelayMs: null})
        this.slowDisk = null
        return undefined
      })
    }
    if (this.cuts !== null || this.links.length > 0) {
      const slow = this.backgroundLinks.length > 0
      await this.act('heal', [], slow ? 'heal the network (it stays slow)' : 'heal the network', () => this.push({cuts: null, links: []}))
    }
    if (this.killed.size > 0) {
      const ids = [...this.killed].sort((a, b) => a - b)
      await this.act('restart', ids, `restart node${ids.length > 1 ? 's' : ''} ${ids.join(',')}`, async () => {
        await this.start(ids)
        this.killed.clear()
        return undefined
      })
    }
    if (this.demoted !== null) {
      const id = this.demoted
      // Last: promotion waits for the learner to catch up, which needs the network and the nodes.
      await this.act('promote', [id], `promote node ${id} back to a voter`, async () => {
        await promoteMember(this.o.dir, id, {force: false, timeoutMs: MEMBER_TIMEOUT_MS})
        this.demoted = null
        return undefined
      })
    }
  }

  /**
   * The durability phase's crash: SIGKILL every node at once (with volatile disks, a power loss of
   * the whole cluster: what was not fsynced is gone), then start them all again.
   */
  async crashAll(): Promise<void> {
    const ids = this.o.config.nodes.map((n) => n.id)
    await this.act('crash', ids, 'kill every node at once (SIGKILL)', async () => {
      for (const id of ids) this.killed.add(id)
      await stopNodes(this.o.dir, ids, true)
      return undefined
    })
    await this.act('restart', ids, 'restart every node', async () => {
      await this.start(ids)
      this.killed.clear()
      return undefined
    })
  }

  /** Restarts nodes of the cluster (in the test-only mode it runs in). */
  private async start(ids: NodeId[]): Promise<void> {
    await startNodes(this.o.dir, {ids, ...(this.o.mutant ? {mutant: this.o.mutant} : {})})
  }

  /**
   * Changes part of the network rules (the fault's cuts, its link faults, the background's) and
   * pushes them all; names the running nodes that did not apply them (a problem text).
   */
  private async push(change: {cuts?: PartitionRules | null; links?: LinkFault[]; background?: LinkFault[]}): Promise<string | undefined> {
    if (change.cuts !== undefined) this.cuts = change.cuts
    if (change.links !== undefined) this.links = change.links
    if (change.background !== undefined) this.backgroundLinks = change.background
    const links = mergeLinks(this.links, this.backgroundLinks)
    const rules: PartitionRules | null =
      this.cuts === null && links.length === 0
        ? null
        : {groups: this.cuts?.groups ?? [], ...(this.cuts?.cuts ? {cuts: this.cuts.cuts} : {}), ...(links.length > 0 ? {links} : {})}
    const r = await applyPartition(this.o.dir, this.o.config, rules)
    return r.unreachable.length > 0 ? `node(s) ${r.unreachable.join(', ')} did not apply it` : undefined
  }

  /** Runs one action and records it, with the error if it failed (the run carries on). */
  private async act(
    action: NemesisAction,
    nodes: NodeId[],
    text: string,
    fn: () => Promise<string | undefined>,
    extra: Partial<NemesisRecord> = {},
  ): Promise<void> {
    const time = this.o.clock()
    let error: string | undefined
    try {
      error = await fn()
    } catch (err) {
      error = (err as Error).message
    }
    const took = this.o.clock() - time
    this.o.record({nemesis: action, time: round(time), took: round(took), nodes, ...extra, text, ...(error ? {error} : {})})
  }
}

/** One entry per link: the fields of both lists together (a loss and a delay on one link, say). */
function mergeLinks(a: readonly LinkFault[], b: readonly LinkFault[]): LinkFault[] {
  const byLink = new Map<string, LinkFault>()
  for (const l of [...a, ...b]) {
    const key = `${l.from}>${l.to}`
    byLink.set(key, {...byLink.get(key), ...l})
  }
  return [...byLink.values()]
}

/** How long a demotion or promotion may take (a leader change on the way included). */
const MEMBER_TIMEOUT_MS = 10_000

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
