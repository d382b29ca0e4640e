// Where the dashboard's data comes from: one long-lived admin connection per node, used both for
// the status polls and for the node's event stream (`subscribe` pushes {type:'event', event}
// frames; a node that does not know `subscribe` is polled with `events` instead). A connection
// that closes (the node was killed) is reported at once so the dashboard polls again and shows
// the node down without waiting for the next tick; a down node is re-dialled on every poll.
// Invariant: at most one connection (or dial in progress) per node; close() leaves none open.
import {combineStatus, type ClusterStatus} from '../cluster/status.js'
import {loadCluster, nodeById, type ClusterConfig} from '../clusterdir/config.js'
import type {NodeId} from '../core/types.js'
import type {NodeEvent} from '../protocol/events.js'
import {asNodeStatus, eventsOf, type NodeStatus} from '../protocol/protocol.js'
import {ClientConnection} from '../transport/client.js'
import {TransportError} from '../transport/errors.js'

/** What the dashboard needs from the cluster; tests give it a fake. */
export interface StatusSource {
  poll(): Promise<ClusterStatus>
  /** Events from the nodes: a backfill when a node is first reached, then as they happen. */
  onEvents(cb: (events: NodeEvent[]) => void): void
  /** Something changed between polls (a connection dropped): poll again now. */
  onChange(cb: () => void): void
  close(): Promise<void>
}

const BACKFILL_EVENTS = 50

interface Link {
  conn: ClientConnection | null
  /** The last status the node answered, and how many polls in a row it has not answered in time since. */
  last: NodeStatus | null
  misses: number
  /** The last dial failed for want of time (not refused). */
  dialTimedOut: boolean
  dialing: Promise<ClientConnection | null> | null
  /** How this connection gets the node's events: being set up, pushed (`subscribe`), or polled. */
  events: 'starting' | 'pushed' | 'polled'
}

function newLink(): Link {
  return {conn: null, last: null, misses: 0, dialTimedOut: false, dialing: null, events: 'starting'}
}

export class ClusterSource implements StatusSource {
  private readonly links = new Map<NodeId, Link>()
  private eventsCb: (events: NodeEvent[]) => void = () => {}
  private changeCb: () => void = () => {}
  private closed = false
  private polled = false

  constructor(
    private readonly dir: string,
    private config: ClusterConfig,
    private readonly secret: string,
    private readonly timeoutMs = 500,
  ) {
    for (const n of config.nodes) this.links.set(n.id, newLink())
  }

  onEvents(cb: (events: NodeEvent[]) => void): void {
    this.eventsCb = cb
  }

  onChange(cb: () => void): void {
    this.changeCb = cb
  }

  /** Whether a poll has completed (the dashboard has shown the cluster once). */
  get polledOnce(): boolean {
    return this.polled
  }

  async poll(): Promise<ClusterStatus> {
    this.followMembers()
    const statuses = await Promise.all(this.config.nodes.map((n) => this.statusOf(n.id)))
    this.polled = true
    return combineStatus(this.dir, this.config, statuses)
  }

  /** Re-reads the address book: a member added gets a link, a removed one loses its link. */
  private followMembers(): void {
    let config: ClusterConfig
    try {
      config = loadCluster(this.dir)
    } catch {
      return // Damaged or half-written: keep the last one.
    }
    if (config.clusterId !== this.config.clusterId) return
    this.config = config
    const ids = new Set(config.nodes.map((n) => n.id))
    for (const id of ids) if (!this.links.has(id)) this.links.set(id, newLink())
    for (const [id, link] of this.links) {
      if (ids.has(id)) continue
      this.links.delete(id)
      void link.conn?.close().catch(() => {})
    }
  }

  async close(): Promise<void> {
    this.closed = true
    const conns: ClientConnection[] = []
    for (const link of this.links.values()) {
      if (link.conn) conns.push(link.conn)
      link.conn = null
    }
    const dialing = [...this.links.values()].map((l) => l.dialing).filter((d): d is Promise<ClientConnection | null> => d !== null)
    await Promise.all(conns.map((c) => c.close().catch(() => {})))
    // A dial still in flight closes its connection itself once it sees `closed`.
    await Promise.all(dialing.map((d) => d.catch(() => null)))
  }

  /**
   * A refused or closed connection means down at once (a killed node shows within a poll). A slow
   * answer is not yet a dead node: this process may itself have been busy (the first render, a
   * loaded machine) when the timer fired, so one late answer keeps the last status and only a
   * second one in a row shows the node down.
   */
  private async statusOf(id: NodeId): Promise<NodeStatus | null> {
    const link = this.links.get(id)!
    const conn = link.conn ?? (await this.dial(id, link))
    if (this.closed) return null
    if (!conn) return this.missed(link, link.dialTimedOut)
    try {
      const status = asNodeStatus(await conn.request({type: 'status'}, this.timeoutFor()))
      link.last = status
      link.misses = 0
      if (link.events === 'polled') await this.pollEvents(id, conn, 20)
      return status
    } catch {
      if (conn.closed) return this.missed(link, false)
      const status = this.missed(link, true)
      if (status === null) {
        // Dial afresh next time.
        if (link.conn === conn) link.conn = null
        void conn.close().catch(() => {})
      }
      return status
    }
  }

  private missed(link: Link, slow: boolean): NodeStatus | null {
    if (slow && link.last !== null && link.misses === 0) {
      link.misses = 1
      return link.last
    }
    link.last = null
    link.misses = 0
    return null
  }

  /** The first poll gets longer: it runs while this process is still starting up (loading Ink, first render). */
  private timeoutFor(): number {
    return this.polled ? this.timeoutMs : Math.max(2000, this.timeoutMs)
  }

  private dial(id: NodeId, link: Link): Promise<ClientConnection | null> {
    if (link.dialing) return link.dialing
    const node = nodeById(this.config, id)
    link.dialing = (async () => {
      let conn: ClientConnection
      try {
        conn = await ClientConnection.connect({
          host: node.host,
          port: node.port,
          clusterId: this.config.clusterId,
          secret: this.secret,
          timeoutMs: this.timeoutFor(),
          expectNodeId: id,
        })
      } catch (error) {
        link.dialTimedOut = error instanceof TransportError && error.code === 'timeout'
        return null
      }
      link.dialTimedOut = false
      if (this.closed) {
        await conn.close().catch(() => {})
        return null
      }
      conn.onClose(() => {
        if (link.conn !== conn) return
        link.conn = null
        if (!this.closed) this.changeCb()
      })
      conn.subscribe((body) => {
        const b = body as {type?: unknown; event?: NodeEvent} | null
        if (b && b.type === 'event' && b.event && typeof b.event.text === 'string') this.eventsCb([b.event])
      })
      link.conn = conn
      // The event stream starts alongside the first status request (the connection multiplexes).
      void this.startEvents(id, link, conn)
      return conn
    })().finally(() => {
      link.dialing = null
    })
    return link.dialing
  }

  /** Subscribes, then fetches the recent history; events pushed meanwhile are deduplicated by the model. */
  private async startEvents(id: NodeId, link: Link, conn: ClientConnection): Promise<void> {
    link.events = 'starting'
    let pushed = false
    try {
      await conn.request({type: 'subscribe'}, this.timeoutMs)
      pushed = true
    } catch {
      // A node without `subscribe` (or a lost connection, which is dialled afresh): poll its events.
    }
    if (link.conn === conn) link.events = pushed ? 'pushed' : 'polled'
    await this.pollEvents(id, conn, BACKFILL_EVENTS)
  }

  private async pollEvents(id: NodeId, conn: ClientConnection, limit: number): Promise<void> {
    try {
      const events = eventsOf(await conn.request({type: 'events', limit}, this.timeoutMs), id)
      if (events.length > 0 && !this.closed) this.eventsCb(events)
    } catch {
      // Events are best effort; the status poll decides whether the node is up.
    }
  }
}
