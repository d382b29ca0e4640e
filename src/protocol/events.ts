// What a node reports as it goes: a typed event, the same on the node log, the wire (the `events`
// and `subscribe` admin requests) and the simulator trace, and one text form for it. The dashboard
// switches on the type, never on the text: rewording a line cannot break the feed.
import type {RaftEvent} from '../core/events.js'
import {formatEvent} from '../core/format.js'
import type {NodeId} from '../core/types.js'

/** The replica driver's own events, beside the core's. */
export type ReplicaEvent =
  | RaftEvent
  | {type: 'following'; leader: NodeId; term: number}
  | {type: 'snapshot-taken'; index: number; term: number; keys: number; bytes: number; steps: number}
  | {type: 'snapshot-dropped'; index: number; replacedBy: number}
  | {type: 'snapshot-restored'; index: number}
  | {type: 'malformed-command'; index: number}

/** The replica process's events: its life, the network rules, and notes of the layers below. */
export type ProcessEvent =
  | {type: 'started'; pid: number; address: string; term: number; lastIndex: number}
  | {type: 'stopping'; signal: string}
  | {type: 'stopped'}
  /** `rules`: the partition in its one-line form; `group`: this node's group (null: applied at start). */
  | {type: 'partition-applied'; rules: string; group: number | null}
  | {type: 'partition-healed'}
  | {type: 'campaign-asked'}
  | {type: 'not-campaigning'; reason: string}
  /** A storage note; `recovery`: it repaired or fell back (a torn tail, an unreadable snapshot). */
  | {type: 'storage'; text: string; recovery: boolean}
  /** Anything else worth a log line (transport, message traces). */
  | {type: 'note'; text: string}

export type NodeEventBody = ReplicaEvent | ProcessEvent

export interface NodeEvent {
  /** Milliseconds since the epoch. */
  time: number
  node: NodeId
  /** formatNodeEvent(event): the line of the node log. */
  text: string
  event: NodeEventBody
}

export function formatNodeEvent(e: NodeEventBody): string {
  switch (e.type) {
    case 'following':
      return `following leader ${e.leader} in term ${e.term}`
    case 'snapshot-taken':
      return `snapshot taken at ${e.index} (term ${e.term}, ${e.keys} keys, ${(e.bytes / 1e6).toFixed(1)} MB${e.steps > 1 ? `, encoded in ${e.steps} steps` : ''})`
    case 'snapshot-dropped':
      return `snapshot at ${e.index} dropped: the log was replaced by a snapshot at ${e.replacedBy} meanwhile`
    case 'snapshot-restored':
      return `restored snapshot at ${e.index}`
    case 'malformed-command':
      return `skipped malformed command at index ${e.index}`
    case 'started':
      return `started (pid ${e.pid}) on ${e.address}, term ${e.term}, last index ${e.lastIndex}`
    case 'stopping':
      return `stopping on ${e.signal}`
    case 'stopped':
      return 'stopped'
    case 'partition-applied':
      return e.group === null ? `partition applied at start: ${e.rules}` : `partition applied: ${e.rules} (this node in group ${e.group})`
    case 'partition-healed':
      return 'partition healed'
    case 'campaign-asked':
      return 'asked to campaign at once (raftctl start)'
    case 'not-campaigning':
      return `not campaigning: ${e.reason}`
    case 'storage':
    case 'note':
      return e.text
    default:
      return formatEvent(e)
  }
}
