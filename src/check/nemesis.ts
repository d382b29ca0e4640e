// The nemesis of `raftctl check`: applies the planned faults (plan.ts: partitions, SIGKILL +
// restart, SIGSTOP + SIGCONT) to the real cluster and undoes them.
// Invariant: at most one fault is in force at a time, and repairAll() always leaves the cluster
// healed, every node running and none paused — also when the run fails half-way.
import type {NodeId} from '../core/types.js'
import type {PartitionRules} from '../transport/link-filter.js'
import type {ClusterConfig} from '../clusterdir/config.js'
import {applyPartition, findLeader, pauseNodes, resumeNodes, startNodes, stopNodes} from '../cluster/service.js'
import type {NemesisAction, NemesisRecord} from './history.js'
import type {Fault, FaultKind} from './plan.js'

export interface NemesisOptions {
  dir: string
  config: ClusterConfig
  secret: string
  /** Restart killed nodes in the test-only stale-reads mode (the mode the cluster runs in). */
  unsafeStaleReads: boolean
  /** Milliseconds since the run started. */
  clock: () => number
  record: (r: NemesisRecord) => void
}

/** Applies faults to the real cluster and undoes them; every action becomes a NemesisRecord. */
export class Nemesis {
  private partition: PartitionRules | null = null
  private readonly killed = new Set<NodeId>()
  private readonly paused = new Set<NodeId>()
  readonly applied: Record<FaultKind, number> = {partition: 0, kill: 0, pause: 0}

  constructor(private readonly o: NemesisOptions) {}

  faultsApplied(): number {
    return this.applied.partition + this.applied.kill + this.applied.pause
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
    switch (f.type) {
      case 'partition':
        await this.act('partition', f.nodes, f.text, async () => {
          this.partition = f.rules
          return this.push(f.rules)
        }, {kind: f.kind, groups: f.rules.groups, ...(f.rules.cuts ? {cuts: f.rules.cuts} : {})})
        break
      case 'kill':
        await this.act('kill', [f.node], f.text, async () => {
          this.killed.add(f.node)
          await stopNodes(this.o.dir, [f.node], true)
          return undefined
        })
        break
      case 'pause':
        await this.act('pause', [f.node], f.text, async () => {
          const r = await pauseNodes(this.o.dir, [f.node])
          if (r.paused.length > 0) this.paused.add(f.node)
          return undefined
        })
        break
    }
    this.applied[f.type]++
  }

  /** Undoes whatever is in force: resume paused nodes, heal, restart killed nodes (in that order). */
  async repairAll(): Promise<void> {
    if (this.paused.size > 0) {
      const ids = [...this.paused].sort((a, b) => a - b)
      await this.act('resume', ids, `resume node${ids.length > 1 ? 's' : ''} ${ids.join(',')}`, async () => {
        await resumeNodes(this.o.dir, ids).catch(() => undefined)
        this.paused.clear()
        return undefined
      })
    }
    if (this.partition !== null) {
      await this.act('heal', [], 'heal the network', async () => {
        this.partition = null
        return this.push(null)
      })
    }
    if (this.killed.size > 0) {
      const ids = [...this.killed].sort((a, b) => a - b)
      await this.act('restart', ids, `restart node${ids.length > 1 ? 's' : ''} ${ids.join(',')}`, async () => {
        const c = this.o.config
        await startNodes(this.o.dir, {
          ids,
          init: {nodes: c.nodes.length, basePort: c.nodes[0]!.port - 1, host: c.nodes[0]!.host, electionTimeoutMs: c.electionTimeoutMs, heartbeatMs: c.heartbeatMs},
          nodesGiven: false,
          unsafeStaleReads: this.o.unsafeStaleReads,
        })
        this.killed.clear()
        return undefined
      })
    }
  }

  /** Pushes partition rules; names the running nodes that did not apply them (a problem text). */
  private async push(rules: PartitionRules | null): Promise<string | undefined> {
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

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
