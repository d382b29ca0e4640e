// Linearizability checker for key-value register histories (used by the simulator and soak tests).
// Owns: the register model (put/get/del/cas on independent keys, each starting absent) and the
// Wing–Gong/Lowe search over call/return events with memoised (linearized set, state)
// configurations, as in Knossos and Porcupine, plus reductions that keep it exact (reads are
// committed greedily; unknown ops are used only when the next definite op needs them,
// interchangeable ones in a fixed order, values no op can observe are merged).
// Invariant checked: for every key, there is a total order of its operations that respects real
// time (A before B whenever A.complete < B.invoke) and in which every definite result matches a
// sequential register; operations with an 'unknown' result may take effect at any point after their
// invoke, or never. Pure and deterministic: no I/O, no clocks, no randomness.

export type KvOp =
  | {kind: 'put'; key: string; value: string}
  | {kind: 'get'; key: string}
  | {kind: 'del'; key: string}
  | {kind: 'cas'; key: string; expected: string; value: string}

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

export type CheckResult =
  | {ok: true; keys: number; ops: number}
  | {ok: false; key: string; reason: string; excerpt: HistoryOp[]; detail?: ViolationDetail}

/**
 * Where the search got stuck, for reports that draw it (Porcupine-style): the op that cannot be
 * placed, the last ops of the deepest partial linearization (in linearization order) and the
 * register's value after them.
 */
export interface ViolationDetail {
  /** Id of the op that cannot take effect in any order consistent with real time. */
  stuck: number
  /** Ids of the last (at most PLACED_MAX) ops of the deepest partial linearization, in order. */
  placed: number[]
  /** How many ops that partial linearization placed in all. */
  placedCount: number
  /** The key's value after it (null: absent; undefined: a value no op reads). */
  value: string | null | undefined
}

const PLACED_MAX = 24

/** Default bound on explored (linearized-set, state) configurations, per key. */
export const DEFAULT_MAX_STATES = 2_000_000

const EXCERPT_MAX = 12

/**
 * Checks that `history` is linearizable with respect to a map of independent registers.
 * Keys are checked one by one (in order of first appearance); the first violating key is reported.
 * If a key exhausts `maxStates` explored configurations (per key) the search for it is abandoned:
 * other keys are still checked and a definite violation elsewhere is preferred, otherwise the result
 * is ok:false with a reason starting 'undecided:'.
 * Throws a TypeError on malformed input (duplicate ids, NaN times, complete < invoke for a definite op).
 */
export function checkLinearizable(history: HistoryOp[], opts?: {maxStates?: number}): CheckResult {
  const maxStates = opts?.maxStates ?? DEFAULT_MAX_STATES
  const byKey = new Map<string, HistoryOp[]>()
  const ids = new Set<number>()
  for (const h of history) {
    validate(h, ids)
    let list = byKey.get(h.op.key)
    if (list === undefined) byKey.set(h.op.key, (list = []))
    list.push(h)
  }
  let undecided: CheckResult | undefined
  for (const [key, ops] of byKey) {
    const r = checkKey(key, ops, maxStates)
    if (r.ok) continue
    if (!r.reason.startsWith('undecided:')) return r
    undecided ??= r
  }
  return undecided ?? {ok: true, keys: byKey.size, ops: history.length}
}

/** One-line canonical text, e.g. "c3 #17 put(k1,v9) -> ok [120..135]". */
export function formatOp(op: HistoryOp): string {
  const o = op.op
  let call: string
  switch (o.kind) {
    case 'put':
      call = `put(${fmtVal(o.key)},${fmtVal(o.value)})`
      break
    case 'get':
      call = `get(${fmtVal(o.key)})`
      break
    case 'del':
      call = `del(${fmtVal(o.key)})`
      break
    case 'cas':
      call = `cas(${fmtVal(o.key)},${fmtVal(o.expected)},${fmtVal(o.value)})`
      break
  }
  const r = op.result
  let res: string
  switch (r.status) {
    case 'ok':
      res = o.kind === 'get' ? `ok(${r.value == null ? 'null' : fmtVal(r.value)})` : 'ok'
      break
    case 'mismatch':
      res = `mismatch(${fmtVal(r.current)})`
      break
    default:
      res = r.status
  }
  return `c${op.client} #${op.id} ${call} -> ${res} [${fmtTime(op.invoke)}..${fmtTime(op.complete)}]`
}

function fmtVal(v: string): string {
  return /^[A-Za-z0-9_.:/@+-]+$/.test(v) ? v : JSON.stringify(v)
}

function fmtTime(t: number): string {
  return t === Infinity ? 'inf' : String(t)
}

function validate(h: HistoryOp, ids: Set<number>): void {
  if (ids.has(h.id)) throw new TypeError(`linearizability: duplicate op id ${h.id}`)
  ids.add(h.id)
  if (Number.isNaN(h.invoke) || Number.isNaN(h.complete)) {
    throw new TypeError(`linearizability: NaN time in op #${h.id}`)
  }
  if (h.result.status !== 'unknown' && !(h.complete >= h.invoke)) {
    throw new TypeError(`linearizability: op #${h.id} completes (${h.complete}) before it is invoked (${h.invoke})`)
  }
}

// ---- per-key search --------------------------------------------------------------------------

const K_PUT = 0
const K_GET = 1
const K_DEL = 2
const K_CAS = 3

const S_OK = 0
const S_NOT_FOUND = 1
const S_MISMATCH = 2
const S_UNKNOWN = 3

/** Model states are interned values: 0 = absent, 1.. = a string. INVALID marks a failed step. */
const ABSENT = 0
const INVALID = -1
const NO_RUN = -2

function isUnknown(h: HistoryOp): boolean {
  return h.result.status === 'unknown'
}

/** Static reason why an op can never take effect, or undefined. */
function impossibleReason(h: HistoryOp, written: Set<string>): string | undefined {
  const o = h.op
  const r = h.result
  if (r.status === 'unknown') return undefined
  switch (o.kind) {
    case 'put':
      if (r.status !== 'ok') return `impossible result: put cannot return ${r.status}`
      return undefined
    case 'get':
      if (r.status !== 'ok') return `impossible result: get cannot return ${r.status}`
      if (r.value != null && !written.has(r.value)) return `read of a value never written: ${fmtVal(r.value)}`
      return undefined
    case 'del':
      if (r.status === 'mismatch') return 'impossible result: del cannot return mismatch'
      return undefined
    case 'cas':
      if (r.status === 'mismatch') {
        if (!written.has(r.current)) return `cas reports a current value never written: ${fmtVal(r.current)}`
        if (r.current === o.expected) return 'impossible result: cas mismatch reports current === expected'
      }
      return undefined
  }
}

function checkKey(key: string, all: HistoryOp[], maxStates: number): CheckResult {
  // Static checks first: they give sharper reasons than the search would.
  const written = new Set<string>()
  for (const h of all) if (h.op.kind === 'put' || h.op.kind === 'cas') written.add(h.op.value)
  for (const h of all) {
    const why = impossibleReason(h, written)
    if (why !== undefined) {
      return {ok: false, key, reason: `${why} in ${formatOp(h)}`, excerpt: excerptAround(all, h, []), detail: {stuck: h.id, placed: [], placedCount: 0, value: undefined}}
    }
  }

  // Relevant values: those some op could tell apart from others. A get reading v, a cas reporting
  // v as current, a successful definite cas expecting v; and, transitively, the value an unknown cas
  // expects if the value it writes is relevant. All other values are indistinguishable by any op
  // and become one model value, OTHER. A present OTHER is no better than any present value: the
  // only ops that can take effect on it are blind writes (put, del) and optional ones.
  const relevant = new Set<string>()
  let hasDelOk = false
  for (const h of all) {
    const o = h.op
    const r = h.result
    if (o.kind === 'get' && r.status === 'ok' && r.value != null) relevant.add(r.value)
    if (o.kind === 'cas' && r.status === 'ok') relevant.add(o.expected)
    if (r.status === 'mismatch') relevant.add(r.current)
    if (o.kind === 'del' && r.status === 'ok') hasDelOk = true
  }
  const unknownCas = all.filter((h) => h.op.kind === 'cas' && isUnknown(h))
  for (let grew = true; grew; ) {
    grew = false
    for (const h of unknownCas) {
      if (h.op.kind !== 'cas' || !relevant.has(h.op.value) || relevant.has(h.op.expected)) continue
      relevant.add(h.op.expected)
      grew = true
    }
  }
  // Unknown ops are optional, and some can be dropped outright without losing any linearization:
  // - unknown gets have no effect and constrain nothing;
  // - an unknown cas writing an irrelevant value can at best turn a present value into OTHER;
  // - an unknown put of an irrelevant value can only matter by making the key present for a
  //   successful del, so it is useless if there is none.
  const droppable = (h: HistoryOp): boolean => {
    const o = h.op
    if (o.kind === 'get') return true
    if (o.kind === 'cas') return !relevant.has(o.value)
    if (o.kind === 'put') return !hasDelOk && !relevant.has(o.value)
    return false
  }
  // Index definite ops first, then unknown ones, each group by invoke time, so the linearized bitset
  // is "all ones, a short window, zeros" for most of the search and its trimmed form stays small.
  const definite = all.filter((h) => !isUnknown(h)).sort(byInvoke)
  const optional = all.filter((h) => isUnknown(h) && !droppable(h)).sort(byInvoke)
  const ops = definite.concat(optional)
  const n = ops.length
  const nDefinite = definite.length
  if (nDefinite === 0) return {ok: true, keys: 1, ops: all.length}

  // Intern values: ABSENT = 0, relevant values 1.., and OTHER for all others.
  const valueIds = new Map<string, number>()
  const values: (string | null)[] = [null]
  for (const v of relevant) {
    valueIds.set(v, values.length)
    values.push(v)
  }
  const OTHER = values.length
  const intern = (v: string | null | undefined): number => (v == null ? ABSENT : valueIds.get(v) ?? OTHER)
  const kind = new Uint8Array(n)
  const status = new Uint8Array(n)
  const argA = new Int32Array(n) // put/cas: new value; cas: see argB
  const argB = new Int32Array(n) // cas: expected
  const resV = new Int32Array(n) // get ok: value read; cas mismatch: current
  for (let i = 0; i < n; i++) {
    const o = ops[i]!.op
    const r = ops[i]!.result
    status[i] = r.status === 'ok' ? S_OK : r.status === 'not-found' ? S_NOT_FOUND : r.status === 'mismatch' ? S_MISMATCH : S_UNKNOWN
    switch (o.kind) {
      case 'put':
        kind[i] = K_PUT
        argA[i] = intern(o.value)
        break
      case 'get':
        kind[i] = K_GET
        break
      case 'del':
        kind[i] = K_DEL
        break
      case 'cas':
        kind[i] = K_CAS
        argA[i] = intern(o.value)
        argB[i] = intern(o.expected)
        break
    }
    if (r.status === 'ok' && o.kind === 'get') resV[i] = intern(r.value)
    else if (r.status === 'mismatch') resV[i] = intern(r.current)
  }

  // Unknown ops with the same effect (same kind and interned arguments) are interchangeable once
  // invoked, as they never return: only ever linearize the earliest-invoked unused one of each class,
  // so the used members of a class are always a prefix of it (in invoke order). Any linearization
  // can be rearranged into that shape, so this loses nothing and avoids trying every subset.
  const classOf = new Int32Array(n)
  const classRank = new Int32Array(n)
  const classIds = new Map<string, number>()
  const classSize: number[] = []
  for (let i = nDefinite; i < n; i++) {
    const ck = `${kind[i]}:${argA[i]}:${argB[i]}`
    let c = classIds.get(ck)
    if (c === undefined) {
      c = classSize.length
      classIds.set(ck, c)
      classSize.push(0)
    }
    classOf[i] = c
    classRank[i] = classSize[c]!++
  }
  const classUsed = new Int32Array(classSize.length)

  // Definite ops that never change the state, whenever they can take effect.
  const readOnly = new Uint8Array(n)
  for (let i = 0; i < nDefinite; i++) {
    const k = kind[i]
    const s = status[i]
    readOnly[i] =
      k === K_GET || s === S_MISMATCH || s === S_NOT_FOUND || (k === K_CAS && s === S_OK && argA[i] === argB[i]) ? 1 : 0
  }

  const step = (state: number, i: number): number => {
    const s = status[i]!
    switch (kind[i]) {
      case K_PUT:
        return s === S_OK || s === S_UNKNOWN ? argA[i]! : INVALID
      case K_GET:
        if (s === S_UNKNOWN) return state
        return s === S_OK && state === resV[i] ? state : INVALID
      case K_DEL:
        if (s === S_UNKNOWN) return ABSENT
        if (s === S_OK) return state !== ABSENT ? ABSENT : INVALID
        return s === S_NOT_FOUND && state === ABSENT ? ABSENT : INVALID
      case K_CAS:
        if (s === S_UNKNOWN) return state === argB[i] ? argA[i]! : state
        if (s === S_OK) return state === argB[i] ? argA[i]! : INVALID
        if (s === S_NOT_FOUND) return state === ABSENT ? ABSENT : INVALID
        return state !== ABSENT && state !== argB[i] && state === resV[i] ? state : INVALID
      default:
        return INVALID
    }
  }

  // Events: a call per op, a return per definite op; sorted by time, calls before returns on ties
  // (so A precedes B only if A.complete < B.invoke strictly). Unknown ops never return.
  const nEvents = n + nDefinite
  const evOp = new Int32Array(nEvents)
  const evIsCall = new Uint8Array(nEvents)
  const evTime = new Float64Array(nEvents)
  for (let i = 0; i < n; i++) {
    evOp[i] = i
    evIsCall[i] = 1
    evTime[i] = ops[i]!.invoke
  }
  for (let i = 0; i < nDefinite; i++) {
    evOp[n + i] = i
    evIsCall[n + i] = 0
    evTime[n + i] = ops[i]!.complete
  }
  const order = Array.from({length: nEvents}, (_, e) => e)
  order.sort((a, b) => evTime[a]! - evTime[b]! || evIsCall[b]! - evIsCall[a]! || evOp[a]! - evOp[b]!)

  // Doubly linked list over positions 0..nEvents-1 in sorted order; HEAD is a sentinel.
  const HEAD = nEvents
  const NIL = -1
  const next = new Int32Array(nEvents + 1)
  const prev = new Int32Array(nEvents + 1)
  const posOp = new Int32Array(nEvents)
  const posIsCall = new Uint8Array(nEvents)
  const matchPos = new Int32Array(nEvents).fill(NIL) // call position -> its return position
  const callPos = new Int32Array(n)
  const retPos = new Int32Array(n).fill(NIL)
  for (let p = 0; p < nEvents; p++) {
    const e = order[p]!
    posOp[p] = evOp[e]!
    posIsCall[p] = evIsCall[e]!
    if (evIsCall[e]) callPos[evOp[e]!] = p
    else retPos[evOp[e]!] = p
    next[p] = p + 1 < nEvents ? p + 1 : NIL
    prev[p] = p === 0 ? HEAD : p - 1
  }
  next[HEAD] = nEvents > 0 ? 0 : NIL
  prev[HEAD] = NIL
  for (let i = 0; i < nDefinite; i++) matchPos[callPos[i]!] = retPos[i]!

  const unlink = (p: number): void => {
    next[prev[p]!] = next[p]!
    if (next[p] !== NIL) prev[next[p]!] = prev[p]!
  }
  const relink = (p: number): void => {
    next[prev[p]!] = p
    if (next[p] !== NIL) prev[next[p]!] = p
  }
  const lift = (p: number): void => {
    unlink(p)
    if (matchPos[p] !== NIL) unlink(matchPos[p]!)
  }
  const unlift = (p: number): void => {
    if (matchPos[p] !== NIL) relink(matchPos[p]!)
    relink(p)
  }

  // Classes of two or more interchangeable unknown ops are "fungible": for them only the number
  // used matters (see classUsed), and using fewer is never worse.
  const fungibleClasses: number[] = []
  for (let c = 0; c < classSize.length; c++) if (classSize[c]! >= 2) fungibleClasses.push(c)
  const nFungible = fungibleClasses.length
  const fungible = new Uint8Array(n)
  for (let i = nDefinite; i < n; i++) fungible[i] = classSize[classOf[i]!]! >= 2 ? 1 : 0

  // The linearized set: a bitset over definite ops, the set U of other (non-fungible) unknown ops
  // used, and the fungible class counts (classUsed). Zobrist hashes are maintained incrementally:
  // two 32-bit lanes over definite ops and U, and an independent third lane over U alone.
  const defWords = (nDefinite + 31) >>> 5
  const bits = new Uint32Array(defWords)
  let nUsedUnknown = 0
  const zA = new Int32Array(n)
  const zB = new Int32Array(n)
  const zC = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    zA[i] = fmix32(3 * i + 1)
    zB[i] = fmix32((3 * i + 2) ^ 0x5bd1e995)
    zC[i] = fmix32((3 * i + 3) ^ 0x2545f491)
  }
  let hA = 0
  let hB = 0
  let hC = 0
  const toggle = (i: number): void => {
    if (i < nDefinite) {
      bits[i >>> 5] ^= 1 << (i & 31)
    } else if (fungible[i]) {
      return
    } else {
      hC ^= zC[i]!
    }
    hA ^= zA[i]!
    hB ^= zB[i]!
  }

  // Memo of configurations already explored (or being explored): (definite set, U, fungible
  // counts, state, run start). A configuration is dominated by a recorded one that has the same
  // definite set, U, state and run start and no higher fungible counts: whatever completes it
  // completes that one too (using earlier members of the classes instead), so it need not be
  // explored. Buckets are keyed by a 53-bit hash of everything but the counts. The definite set
  // (kept trimmed to "lead all-ones words, a window, zeros": short, as definite ops are indexed by
  // invoke time), counts, state and run start are compared exactly; U, which can grow long, by its
  // size and the independent 32-bit lane on top of the bucket hash (a false match needs an 85-bit
  // collision). All in growable typed arrays, no per-entry objects.
  const memo = new Map<number, number>()
  let cap = 1024
  let entState = new Int32Array(cap)
  let entRun = new Int32Array(cap)
  let entLead = new Int32Array(cap)
  let entOff = new Int32Array(cap)
  let entLen = new Int32Array(cap)
  let entUHash = new Int32Array(cap)
  let entULen = new Int32Array(cap)
  let entNext = new Int32Array(cap)
  let pool = new Uint32Array(4096)
  let poolUsed = 0
  let explored = 0
  const memoHash = (st: number, rs: number): number => {
    const m = fmix32(st ^ Math.imul(rs + 3, 0x9e3779b1))
    return ((hA ^ m) >>> 0) * 0x200000 + ((hB ^ fmix32(m + 0x165667b1)) & 0x1fffff)
  }
  const dominated = (e: number, st: number, rs: number): boolean => {
    if (entState[e] !== st || entRun[e] !== rs || entULen[e] !== nUsedUnknown || entUHash[e] !== hC) return false
    const lead = entLead[e]!
    const off = entOff[e]!
    const len = entLen[e]!
    for (let j = 0; j < lead; j++) if (bits[j] !== 0xffffffff) return false
    for (let j = 0; j < len; j++) if (bits[lead + j] !== pool[off + j]) return false
    for (let j = lead + len; j < defWords; j++) if (bits[j] !== 0) return false
    const cOff = off + len
    for (let f = 0; f < nFungible; f++) if (pool[cOff + f]! > classUsed[fungibleClasses[f]!]!) return false
    return true
  }
  const grow = <T extends Int32Array | Uint32Array>(a: T, size: number): T => {
    const b = new (a.constructor as new (n: number) => T)(size)
    b.set(a)
    return b
  }
  /** Records the current configuration (state st, run start rs); false if it is dominated. */
  const remember = (st: number, rs: number): boolean => {
    const h = memoHash(st, rs)
    const first = memo.get(h) ?? -1
    for (let e = first; e !== -1; e = entNext[e]!) if (dominated(e, st, rs)) return false
    let lead = 0
    while (lead < defWords && bits[lead] === 0xffffffff) lead++
    let tail = defWords
    while (tail > lead && bits[tail - 1] === 0) tail--
    const e = explored++
    if (e === cap) {
      cap *= 2
      entState = grow(entState, cap)
      entRun = grow(entRun, cap)
      entLead = grow(entLead, cap)
      entOff = grow(entOff, cap)
      entLen = grow(entLen, cap)
      entUHash = grow(entUHash, cap)
      entULen = grow(entULen, cap)
      entNext = grow(entNext, cap)
    }
    const need = tail - lead + nFungible
    if (poolUsed + need > pool.length) pool = grow(pool, Math.max(pool.length * 2, poolUsed + need))
    pool.set(bits.subarray(lead, tail), poolUsed)
    entState[e] = st
    entRun[e] = rs
    entLead[e] = lead
    entOff[e] = poolUsed
    entLen[e] = tail - lead
    poolUsed += tail - lead
    for (let f = 0; f < nFungible; f++) pool[poolUsed++] = classUsed[fungibleClasses[f]!]!
    entUHash[e] = hC
    entULen[e] = nUsedUnknown
    entNext[e] = first
    memo.set(h, e)
    return true
  }

  const stackPos = new Int32Array(n)
  const stackState = new Int32Array(n)
  const stackForced = new Uint8Array(n)
  const stackRun = new Int32Array(n)
  let depth = 0
  let state: number = ABSENT
  // Unknown ops are only ever linearized in runs directly before a definite op that could not take
  // effect without the run (runStart: the state before the current run of unknown ops, or NO_RUN).
  // Any linearization can be brought to that shape: delay each unknown op to just before the next
  // definite one (or drop it if there is none); a run the next definite op does not need either
  // leaves the state unchanged or precedes a blind write (put, del), so it can be dropped.
  let runStart = NO_RUN
  /** May definite op i be linearized next, given the current run of unknown ops? */
  const runNeeded = (i: number): boolean => runStart === NO_RUN || step(runStart, i) === INVALID
  let remainingReturns = nDefinite

  /** Linearizes the call at list position p, giving state ns; false if that configuration was seen. */
  const push = (p: number, ns: number, forced: boolean): boolean => {
    const i = posOp[p]!
    const unknown = i >= nDefinite
    toggle(i)
    if (unknown) {
      classUsed[classOf[i]!]++
      if (!fungible[i]) nUsedUnknown++
    }
    const rs = unknown ? (runStart === NO_RUN ? state : runStart) : NO_RUN
    if (!remember(ns, rs)) {
      toggle(i)
      if (unknown) {
        classUsed[classOf[i]!]--
        if (!fungible[i]) nUsedUnknown--
      }
      return false
    }
    stackPos[depth] = p
    stackState[depth] = state
    stackRun[depth] = runStart
    stackForced[depth] = forced ? 1 : 0
    depth++
    state = ns
    runStart = rs
    if (!unknown) remainingReturns--
    lift(p)
    return true
  }
  /** Undoes the most recent push; returns its list position. */
  const pop = (): number => {
    depth--
    const p = stackPos[depth]!
    const i = posOp[p]!
    state = stackState[depth]!
    runStart = stackRun[depth]!
    toggle(i)
    if (i < nDefinite) remainingReturns++
    else {
      classUsed[classOf[i]!]--
      if (!fungible[i]) nUsedUnknown--
    }
    unlift(p)
    return p
  }

  // Deepest point reached: furthest return event (in time order) at which the search got stuck.
  let bestRet = -1
  let bestDepth = -1
  let bestState = ABSENT
  let bestRecent: number[] = []
  let bestPlaced: number[] = []

  let entry = next[HEAD]!
  let fresh = true // just entered a new configuration
  let dead = false // the current configuration has no completion
  while (remainingReturns > 0) {
    if (explored > maxStates) {
      const focus = bestRet >= 0 ? ops[posOp[bestRet]!]! : ops[0]!
      return {
        ok: false,
        key,
        reason: `undecided: explored more than ${maxStates} states for key ${fmtVal(key)} (${all.length} ops) without deciding`,
        excerpt: excerptAround(all, focus, bestRecent.map((j) => ops[j]!)),
      }
    }
    if (fresh) {
      fresh = false
      entry = next[HEAD]!
      // A definite read-only op (one that never changes the state: a get, a failed cas or del) that
      // can take effect now may as well go first: moving it to the front of any completion keeps
      // that completion valid. So commit to it, with no alternatives to explore.
      let forcedPos = NIL
      for (let p = entry; p !== NIL && posIsCall[p]; p = next[p]!) {
        const i = posOp[p]!
        if (readOnly[i] && step(state, i) === state && runNeeded(i)) {
          forcedPos = p
          break
        }
      }
      if (forcedPos !== NIL) {
        if (push(forcedPos, state, true)) {
          fresh = true
          continue
        }
        dead = true
      }
    }
    if (!dead) {
      if (posIsCall[entry]) {
        const i = posOp[entry]!
        const ns = step(state, i)
        // An unknown op that would change nothing is never worth linearizing: leaving it out yields
        // an equally valid order. (Eligible read-only ops were handled above.)
        const allowed = i < nDefinite ? runNeeded(i) : ns !== state && classRank[i] === classUsed[classOf[i]!]
        if (ns !== INVALID && allowed && push(entry, ns, false)) {
          fresh = true
          continue
        }
        entry = next[entry]!
        continue
      }
      // A return event: its op has not been linearized and cannot be deferred past its return.
      if (entry > bestRet || (entry === bestRet && depth > bestDepth)) {
        bestRet = entry
        bestDepth = depth
        bestState = state
        bestRecent = []
        for (let d = Math.max(0, depth - 4); d < depth; d++) bestRecent.push(posOp[stackPos[d]!]!)
        bestPlaced = []
        for (let d = Math.max(0, depth - PLACED_MAX); d < depth; d++) bestPlaced.push(posOp[stackPos[d]!]!)
      }
    }
    // Backtrack: undo forced steps (their configuration is dead too) up to the last free choice,
    // and try the alternatives after it.
    dead = false
    let resumed = false
    while (depth > 0) {
      const forced = stackForced[depth - 1] === 1
      const p = pop()
      if (!forced) {
        entry = next[p]!
        resumed = true
        break
      }
    }
    if (!resumed) break
  }
  if (remainingReturns === 0) return {ok: true, keys: 1, ops: all.length}

  const stuck = bestRet >= 0 ? ops[posOp[bestRet]!]! : ops[0]!
  const recent = bestRecent.map((j) => ops[j]!)
  const stateText = bestState === ABSENT ? ' absent' : bestState === OTHER ? ' holding a value no op reads' : `=${fmtVal(values[bestState]!)}`
  const last = recent.length > 0 ? `; last placed: ${formatOp(recent[recent.length - 1]!)}` : ''
  const reason =
    `not linearizable: ${formatOp(stuck)} cannot take effect in any order consistent with real time ` +
    `(deepest partial order placed ${bestDepth} of ${n} ops, leaving ${fmtVal(key)}${stateText}${last})`
  const detail: ViolationDetail = {
    stuck: stuck.id,
    placed: bestPlaced.map((j) => ops[j]!.id),
    placedCount: Math.max(0, bestDepth),
    value: bestState === ABSENT ? null : bestState === OTHER ? undefined : values[bestState]!,
  }
  return {ok: false, key, reason, excerpt: excerptAround(all, stuck, recent), detail}
}

/** MurmurHash3's 32-bit finalizer: a cheap bijective mix. */
function fmix32(x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x | 0
}

function byInvoke(a: HistoryOp, b: HistoryOp): number {
  return a.invoke - b.invoke || a.id - b.id
}

/**
 * A small window of the key's history around `focus`, at most EXCERPT_MAX ops sorted by invoke:
 * the focus op, the last ops of the deepest partial linearization, definite ops concurrent with the
 * focus (nearest first), a few unknown ops invoked before it ends (latest first), then definite ops
 * that completed just before it, then any other unknown ops.
 */
function excerptAround(all: HistoryOp[], focus: HistoryOp, recent: HistoryOp[]): HistoryOp[] {
  const picked = new Set<HistoryOp>([focus])
  const add = (h: HistoryOp): void => {
    if (picked.size < EXCERPT_MAX) picked.add(h)
  }
  for (let i = recent.length - 1; i >= 0; i--) add(recent[i]!)
  const lo = focus.invoke
  const hi = isUnknown(focus) ? Infinity : focus.complete
  const others = all.filter((h) => h !== focus)
  const definite = others.filter((h) => !isUnknown(h))
  const unknown = others.filter((h) => isUnknown(h) && h.invoke <= hi).sort((a, b) => b.invoke - a.invoke || b.id - a.id)
  definite
    .filter((h) => h.invoke <= hi && h.complete >= lo)
    .sort((a, b) => Math.abs(a.invoke - lo) - Math.abs(b.invoke - lo) || a.id - b.id)
    .forEach(add)
  unknown.slice(0, 3).forEach(add)
  definite
    .filter((h) => h.complete < lo)
    .sort((a, b) => b.complete - a.complete || b.id - a.id)
    .forEach(add)
  unknown.forEach(add)
  return [...picked].sort(byInvoke)
}
