// The admin requests every node answers (never forwarded): its status, its recent events and a
// subscription to them, the partition rules to enforce, and two nudges (campaign now, transfer
// leadership). What the answers mean is the protocol's (protocol/protocol.ts); this is how a
// replica process answers them, over the parts it is made of.
import type {NodeId} from '../core/types.js'
import type {NodeEventBody} from '../protocol/events.js'
import type {AdminRequest, NodeStatus} from '../protocol/protocol.js'
import {describeRules, type LinkFilter, type PartitionRules} from '../transport/link-filter.js'
import type {RequestContext} from '../transport/server.js'
import type {NodeLog} from './node-log.js'
import type {Replica} from './replica.js'

export interface AdminDeps {
  id: NodeId
  replica: Replica
  filter: LinkFilter
  log: NodeLog
  status(): NodeStatus
  /** Runs the replica's Ready loop soon (after a nudge). */
  scheduleProcess(): void
}

export function answerAdmin(req: AdminRequest, ctx: RequestContext, d: AdminDeps): unknown {
  const emit = (e: NodeEventBody) => d.log.emit(e)
  switch (req.type) {
    case 'status':
      return d.status()
    case 'events':
      return {events: d.log.recent(req.limit)}
    case 'subscribe':
      d.log.subscribe(ctx)
      return {ok: true}
    case 'partition': {
      d.filter.set(req.rules as PartitionRules | null)
      emit(req.rules ? {type: 'partition-applied', rules: describeRules(req.rules), group: d.filter.groupOf(d.id)} : {type: 'partition-healed'})
      return {ok: true, group: d.filter.groupOf(d.id)}
    }
    case 'campaign': {
      emit({type: 'campaign-asked'})
      const result = d.replica.campaignNow()
      if (!result.ok) emit({type: 'not-campaigning', reason: result.reason})
      d.scheduleProcess()
      return result
    }
    case 'transfer': {
      const result = d.replica.transferLeadership(req.to)
      d.scheduleProcess()
      return result
    }
  }
}
