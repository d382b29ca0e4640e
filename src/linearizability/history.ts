// The checker's input and output: a history of key-value operations with their results, and the
// verdict. Shared by the simulator (src/sim) and `raftctl check` (src/check), which record
// histories in this shape.

export type KvOp =
  | {type: 'put'; key: string; value: string}
  | {type: 'get'; key: string}
  | {type: 'del'; key: string}
  | {type: 'cas'; key: string; expected: string; value: string}

// Outcome of a completed operation. For indeterminate ones (client timed out) use {status: 'unknown'}.
export type KvResult =
  | {status: 'ok'; value?: string | null} // get: value (null = absent); put/del/cas: ok
  | {status: 'not-found'} // del or cas on an absent key
  | {status: 'mismatch'; current: string} // cas whose expected value differed
  | {status: 'unknown'} // indeterminate: may or may not have taken effect, at any time after invoke

export interface HistoryOp {
  id: number // unique
  client: number
  op: KvOp
  invoke: number // time (any monotone number) the call started
  /**
   * Time it returned. For 'unknown' results use Infinity (or the time the client gave up): an
   * unknown op is treated as possibly taking effect at any time after its invoke, whatever this says.
   */
  complete: number
  result: KvResult
}

export type CheckResult = {ok: true; keys: number; ops: number} | {ok: false; key: string; reason: string; excerpt: HistoryOp[]; detail?: ViolationDetail}

/**
 * Where the search got stuck, for reports that draw it (Porcupine-style): the op that cannot be
 * placed, the last ops of the deepest partial linearization (in linearization order) and the
 * register's value after them.
 */
export interface ViolationDetail {
  /** Id of the op that cannot take effect in any order consistent with real time. */
  stuck: number
  /** Ids of the last (at most PLACED_MAX, search.ts) ops of the deepest partial linearization, in order. */
  placed: number[]
  /** How many ops that partial linearization placed in all. */
  placedCount: number
  /** The key's value after it (null: absent; undefined: a value no op reads). */
  value: string | null | undefined
}

export function isUnknown(h: HistoryOp): boolean {
  return h.result.status === 'unknown'
}

export function byInvoke(a: HistoryOp, b: HistoryOp): number {
  return a.invoke - b.invoke || a.id - b.id
}
