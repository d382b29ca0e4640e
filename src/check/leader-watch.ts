// Which nodes believe they lead, as they say it, the moment they say it: `raftctl check` subscribes
// to every node's event stream (the admin `subscribe` request, as the dashboard does) and follows
// its typed events: `became-leader` (term T) / `stepped-down` or `following`. A status poll every 200 ms is far too slow
// for the windows the probes aim at (a deposed leader that does not know it yet; a new leader
// before its first entry commits), which last milliseconds to a few hundred.
// A node whose connection is lost (killed) stops counting as a claimant; a paused one keeps its
// claim (it is a paused leader), and its probes simply wait.
import type {NodeId} from '../core/types.js'
import {nodeById, type ClusterConfig} from '../clusterdir/config.js'
import type {NodeEvent, NodeEventBody} from '../protocol/events.js'
import {asNodeStatus} from '../protocol/protocol.js'
import {ClientConnection} from '../transport/client.js'

const RECONNECT_MS = 100
const CONNECT_TIMEOUT_MS = 500

export class LeaderWatch {
  /** Node → the term it claims to lead. */
  private readonly claims = new Map<NodeId, number>()
  /** Node → when its claim began (performance.now()). */
  private readonly since = new Map<NodeId, number>()
  private readonly conns = new Map<NodeId, ClientConnection>()
  private active = true
  private readonly loops: Promise<void>[]

  constructor(
    private readonly config: ClusterConfig,
    private readonly secret: string,
    /** Told whenever the set of claimants changes. */
    private readonly onChange: () => void,
  ) {
    this.loops = config.nodes.map((n) => this.watch(n.id))
  }

  /** The nodes that claim to lead, and their terms. */
  claimants(): ReadonlyMap<NodeId, number> {
    return this.claims
  }

  /** When node `id`'s current claim began (performance.now(); -1 when it claims nothing). */
  claimStart(id: NodeId): number {
    return this.since.get(id) ?? -1
  }

  /** How long node `id` has claimed to lead (ms; Infinity when it does not). */
  claimAge(id: NodeId): number {
    const t = this.since.get(id)
    return t === undefined ? Infinity : performance.now() - t
  }

  /** The claimant of the highest term (the newest leader), or null. */
  newest(): NodeId | null {
    let best: NodeId | null = null
    for (const [id, term] of this.claims) if (best === null || term > this.claims.get(best)!) best = id
    return best
  }

  async stop(): Promise<void> {
    this.active = false
    for (const c of this.conns.values()) await c.close().catch(() => undefined)
    await Promise.all(this.loops)
  }

  private set(id: NodeId, term: number | null): void {
    const before = this.claims.get(id)
    if (term === null) {
      this.claims.delete(id)
      this.since.delete(id)
    } else {
      this.claims.set(id, term)
      if (before !== term) this.since.set(id, performance.now())
    }
    if (before !== (term ?? undefined)) this.onChange()
  }

  private async watch(id: NodeId): Promise<void> {
    const node = nodeById(this.config, id)
    while (this.active) {
      let conn: ClientConnection | null = null
      try {
        conn = await ClientConnection.connect({
          host: node.host,
          port: node.port,
          clusterId: this.config.clusterId,
          secret: this.secret,
          timeoutMs: CONNECT_TIMEOUT_MS,
          expectNodeId: id,
        })
        if (!this.active) break
        this.conns.set(id, conn)
        const closed = new Promise<void>((resolve) => conn!.onClose(() => resolve()))
        conn.subscribe((body) => {
          const e = (body as {type?: string; event?: NodeEvent})?.event
          if ((body as {type?: string}).type === 'event' && e?.event) this.onEvent(id, e.event)
        })
        await conn.request({type: 'subscribe'}, CONNECT_TIMEOUT_MS)
        const s = asNodeStatus(await conn.request({type: 'status'}, CONNECT_TIMEOUT_MS))
        if (s.role === 'leader') this.set(id, s.term)
        else if (this.claims.has(id)) this.set(id, null)
        await closed
      } catch {
        // Not up (killed, restarting) or not answering: try again shortly.
      } finally {
        this.conns.delete(id)
        await conn?.close().catch(() => undefined)
      }
      if (this.claims.has(id)) this.set(id, null)
      if (this.active) await new Promise((r) => setTimeout(r, RECONNECT_MS))
    }
  }

  private onEvent(id: NodeId, e: NodeEventBody): void {
    switch (e.type) {
      case 'became-leader':
        return this.set(id, e.term)
      case 'stepped-down':
      case 'following':
        return this.set(id, null)
    }
  }
}
