// Client requests a replica answers, and its replies. Writes carry (clientId, seq) so a retry is
// applied at most once; the same seq is kept across retries to any node.
import type {NodeId} from '../core/types.js'
import type {KvWriteResult} from '../kv/state-machine.js'

export type WriteRequest =
  | {type: 'put'; key: string; value: string; clientId: string; seq: number}
  | {type: 'del'; key: string; clientId: string; seq: number}
  | {type: 'cas'; key: string; expected: string; value: string; clientId: string; seq: number}

export type ReadRequest = {type: 'get'; key: string; stale?: boolean}

export type ClientRequest = WriteRequest | ReadRequest

export type ClientReply =
  | {ok: true; result: KvWriteResult; index: number}
  | {ok: true; value: string | null; index: number}
  /** This node cannot serve the request now; `leaderHint` (0 if unknown) may. */
  | {ok: false; error: 'not-leader'; leaderHint: NodeId | 0}
  /** The node lost leadership while the write was in flight: the outcome is unknown. */
  | {ok: false; error: 'unknown-outcome'; leaderHint: NodeId | 0}
