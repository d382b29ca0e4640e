// The client's guess of the leader: follow a node's hint when it names one, else try the next
// node in turn. Shared by the real cluster client and the simulator's clients, so both retry the
// same way. Pure: no timers, no I/O.
import type {NodeId} from '../core/types.js'

export class LeaderTracker {
  private readonly nodes: NodeId[]
  private index: number

  constructor(nodes: NodeId[], start = 0) {
    if (nodes.length === 0) throw new Error('LeaderTracker needs at least one node')
    this.nodes = [...nodes]
    this.index = ((start % nodes.length) + nodes.length) % nodes.length
  }

  current(): NodeId {
    return this.nodes[this.index]!
  }

  /** The node we asked answered "not leader", maybe naming the leader it knows (null: none). */
  redirected(hint: NodeId | null): void {
    const at = hint !== null ? this.nodes.indexOf(hint) : -1
    if (at >= 0 && hint !== this.current()) this.index = at
    else this.next()
  }

  /** The node did not answer in time, or refused the connection. */
  next(): void {
    this.index = (this.index + 1) % this.nodes.length
  }
}
