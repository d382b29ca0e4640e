// Polls every node's status at a fixed interval while a run lasts (bench counts leader changes
// with it, check records leader and term over time). Keeps one connection per node, reconnecting
// when one fails, so a poll costs the replicas a request rather than a TCP connect and handshake.
// A node that does not answer within the timeout (down, paused) is null in that round.
import {asNodeStatus, type NodeStatus} from '../protocol/protocol.js'
import {ClientConnection} from '../transport/client.js'
import {nodeById, type ClusterConfig} from '../clusterdir/config.js'

export interface StatusPollOptions {
  intervalMs?: number
  timeoutMs?: number
  /** Polling goes on while this returns true (checked between rounds and while waiting). */
  active: () => boolean
  /** One round's answers, in node order (null: no answer). */
  onRound: (statuses: (NodeStatus | null)[]) => void
}

export async function pollStatuses(config: ClusterConfig, secret: string, o: StatusPollOptions): Promise<void> {
  const intervalMs = o.intervalMs ?? 200
  const timeoutMs = o.timeoutMs ?? 500
  const conns = new Map<number, Promise<ClientConnection>>()
  const status = async (id: number): Promise<NodeStatus | null> => {
    let conn = conns.get(id)
    if (!conn) {
      const n = nodeById(config, id)
      conn = ClientConnection.connect({host: n.host, port: n.port, clusterId: config.clusterId, secret, timeoutMs, expectNodeId: id})
      conns.set(id, conn)
    }
    try {
      return asNodeStatus(await (await conn).request({type: 'status'}, timeoutMs))
    } catch {
      conns.delete(id)
      conn.then((c) => c.close()).catch(() => {})
      return null
    }
  }
  try {
    while (o.active()) {
      const started = Date.now()
      o.onRound(await Promise.all(config.nodes.map((n) => status(n.id))))
      const wait = intervalMs - (Date.now() - started)
      for (let waited = 0; waited < wait && o.active(); waited += 20) await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    await Promise.all([...conns.values()].map((p) => p.then((c) => c.close()).catch(() => {})))
  }
}
