// A replica process's events: each one a line of its node log (node-N/replica.log), kept in a
// ring of the last ones for the `events` admin request, and pushed to `subscribe`d clients (the
// dashboard). Writing the log is best effort: a full disk must not stop the replica serving.
import {appendFileSync} from 'node:fs'
import type {NodeId} from '../core/types.js'
import {formatNodeEvent, type NodeEvent, type NodeEventBody} from '../protocol/events.js'
import type {RequestContext} from '../transport/server.js'

export const EVENT_BUFFER = 200

export class NodeLog {
  private readonly ring: NodeEvent[] = []
  private readonly subscribers = new Set<RequestContext>()

  constructor(
    private readonly path: string,
    private readonly node: NodeId,
  ) {}

  emit(body: NodeEventBody): void {
    const event: NodeEvent = {time: Date.now(), node: this.node, text: formatNodeEvent(body), event: body}
    this.ring.push(event)
    if (this.ring.length > EVENT_BUFFER) this.ring.shift()
    try {
      appendFileSync(this.path, `${new Date(event.time).toISOString()} [node ${this.node}] ${event.text}\n`)
    } catch {
      // The log is best effort; the replica keeps serving.
    }
    for (const sub of this.subscribers) if (!sub.push({type: 'event', event})) this.subscribers.delete(sub)
  }

  /** A free line (transport, storage notes). */
  note(text: string): void {
    this.emit({type: 'note', text})
  }

  recent(limit = EVENT_BUFFER): NodeEvent[] {
    return this.ring.slice(-limit)
  }

  subscribe(ctx: RequestContext): void {
    this.subscribers.add(ctx)
    ctx.onClose(() => this.subscribers.delete(ctx))
  }
}
