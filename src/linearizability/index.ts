// Linearizability checker for key-value register histories (used by the simulator and by
// `raftctl check`). A leaf: it imports nothing else of raftctl.
// Owns: the register model (put/get/del/cas on independent keys, each starting absent) and the
// Wing–Gong/Lowe search over call/return events with memoised (linearized set, state)
// configurations, as in Knossos and Porcupine, plus reductions that keep it exact (reads are
// committed greedily; unknown ops are used only when the next definite op needs them,
// interchangeable ones in a fixed order, values no op can observe are merged).
// Invariant checked: for every key, there is a total order of its operations that respects real
// time (A before B whenever A.complete < B.invoke) and in which every definite result matches a
// sequential register; operations with an 'unknown' result may take effect at any point after their
// invoke, or never. Pure and deterministic: no I/O, no clocks, no randomness.
//
// The steps, one file each: history.ts (the input and verdict types), encode.ts (static checks,
// reductions, the encoded ops and the register model), events.ts (the call/return event list),
// memo.ts (the linearized set and the memo of explored configurations), search.ts (the search),
// explain.ts (reason, excerpt and detail of a failure), check.ts (validation, keys, the steps in
// order), format.ts (the text form of an op).

export {checkLinearizable, DEFAULT_MAX_STATES} from './check.js'
export {formatOp} from './format.js'
export type {CheckResult, HistoryOp, KvOp, KvResult, ViolationDetail} from './history.js'
