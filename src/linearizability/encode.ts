// History encoding: one key's history turned into what the search works on. Static checks that
// need no search; the reductions that keep the search exact (values no op can tell apart merged
// into one, unknown ops that cannot matter dropped, interchangeable unknown ops grouped into
// classes); the ops indexed definite-first, each group by invoke time, with their kinds, results
// and interned values in typed arrays; and the register model's step over that encoding.
import {fmtVal} from './format.js'
import {byInvoke, isUnknown, type HistoryOp} from './history.js'

export const K_PUT = 0
export const K_GET = 1
export const K_DEL = 2
export const K_CAS = 3

export const S_OK = 0
export const S_NOT_FOUND = 1
export const S_MISMATCH = 2
export const S_UNKNOWN = 3

/** Model states are interned values: 0 = absent, 1.. = a string. INVALID marks a failed step. */
export const ABSENT = 0
export const INVALID = -1

/** Static reason why an op can never take effect, or undefined. */
function impossibleReason(h: HistoryOp, written: Set<string>): string | undefined {
  const o = h.op
  const r = h.result
  if (r.status === 'unknown') return undefined
  switch (o.type) {
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

/**
 * The first op of a key's history that can take effect in no order at all (an impossible result,
 * a read of a value never written), with why; undefined if there is none. Checked before the
 * search: it gives sharper reasons than the search would.
 */
export function impossibleOp(all: HistoryOp[]): {op: HistoryOp; why: string} | undefined {
  const written = new Set<string>()
  for (const h of all) if (h.op.type === 'put' || h.op.type === 'cas') written.add(h.op.value)
  for (const h of all) {
    const why = impossibleReason(h, written)
    if (why !== undefined) return {op: h, why}
  }
  return undefined
}

/**
 * Relevant values: those some op could tell apart from others. A get reading v, a cas reporting
 * v as current, a successful definite cas expecting v; and, transitively, the value an unknown cas
 * expects if the value it writes is relevant. All other values are indistinguishable by any op
 * and become one model value, OTHER. A present OTHER is no better than any present value: the
 * only ops that can take effect on it are blind writes (put, del) and optional ones.
 */
function relevantValues(all: HistoryOp[]): {relevant: Set<string>; hasDelOk: boolean} {
  const relevant = new Set<string>()
  let hasDelOk = false
  for (const h of all) {
    const o = h.op
    const r = h.result
    if (o.type === 'get' && r.status === 'ok' && r.value != null) relevant.add(r.value)
    if (o.type === 'cas' && r.status === 'ok') relevant.add(o.expected)
    if (r.status === 'mismatch') relevant.add(r.current)
    if (o.type === 'del' && r.status === 'ok') hasDelOk = true
  }
  const unknownCas = all.filter((h) => h.op.type === 'cas' && isUnknown(h))
  for (let grew = true; grew;) {
    grew = false
    for (const h of unknownCas) {
      if (h.op.type !== 'cas' || !relevant.has(h.op.value) || relevant.has(h.op.expected)) continue
      relevant.add(h.op.expected)
      grew = true
    }
  }
  return {relevant, hasDelOk}
}

/** One key's history, encoded for the search; op i is `ops[i]`. */
export class EncodedKey {
  /** The ops the search considers: definite ones (0..nDefinite-1), then the optional unknown ones. */
  readonly ops: HistoryOp[]
  readonly n: number
  readonly nDefinite: number
  /** Interned values: values[v] for v = ABSENT (null) and the relevant values 1..; `other` is OTHER. */
  readonly values: (string | null)[]
  readonly other: number
  readonly kind: Uint8Array
  readonly status: Uint8Array
  /** put/cas: the new value. */
  readonly argA: Int32Array
  /** cas: the expected value. */
  readonly argB: Int32Array
  /** get ok: the value read; cas mismatch: the current value reported. */
  readonly resV: Int32Array
  /** Definite ops that never change the state, whenever they can take effect. */
  readonly readOnly: Uint8Array
  /** Unknown op i's class of interchangeable ops, and its rank in it (invoke order). */
  readonly classOf: Int32Array
  readonly classRank: Int32Array
  readonly classCount: number
  /** Unknown ops of a class of two or more ("fungible": only how many are used matters). */
  readonly fungible: Uint8Array
  readonly fungibleClasses: number[]

  constructor(all: HistoryOp[]) {
    const {relevant, hasDelOk} = relevantValues(all)
    const {ops, nDefinite} = searchOps(all, relevant, hasDelOk)
    this.ops = ops
    const n = (this.n = ops.length)
    this.nDefinite = nDefinite
    const {values, intern} = internValues(relevant)
    this.values = values
    this.other = values.length
    const {kind, status, argA, argB, resV} = encodeOps(ops, intern)
    this.kind = kind
    this.status = status
    this.argA = argA
    this.argB = argB
    this.resV = resV
    const {classOf, classRank, classSize} = unknownClasses(kind, argA, argB, nDefinite, n)
    this.classOf = classOf
    this.classRank = classRank
    this.classCount = classSize.length
    this.readOnly = readOnlyOps(kind, status, argA, argB, nDefinite, n)
    // Classes of two or more interchangeable unknown ops are "fungible": for them only the number
    // used matters, and using fewer is never worse.
    this.fungibleClasses = []
    for (let c = 0; c < classSize.length; c++) if (classSize[c]! >= 2) this.fungibleClasses.push(c)
    this.fungible = new Uint8Array(n)
    for (let i = nDefinite; i < n; i++) this.fungible[i] = classSize[classOf[i]!]! >= 2 ? 1 : 0
  }

  /** The register model: the state after op i takes effect in `state`, or INVALID if it cannot. */
  step(state: number, i: number): number {
    const s = this.status[i]!
    switch (this.kind[i]) {
      case K_PUT:
        return s === S_OK || s === S_UNKNOWN ? this.argA[i]! : INVALID
      case K_GET:
        if (s === S_UNKNOWN) return state
        return s === S_OK && state === this.resV[i] ? state : INVALID
      case K_DEL:
        if (s === S_UNKNOWN) return ABSENT
        if (s === S_OK) return state !== ABSENT ? ABSENT : INVALID
        return s === S_NOT_FOUND && state === ABSENT ? ABSENT : INVALID
      case K_CAS:
        if (s === S_UNKNOWN) return state === this.argB[i] ? this.argA[i]! : state
        if (s === S_OK) return state === this.argB[i] ? this.argA[i]! : INVALID
        if (s === S_NOT_FOUND) return state === ABSENT ? ABSENT : INVALID
        return state !== ABSENT && state !== this.argB[i] && state === this.resV[i] ? state : INVALID
      default:
        return INVALID
    }
  }
}

/**
 * The ops the search considers: the definite ones, then the unknown ones that can matter.
 * Unknown ops are optional, and some can be dropped outright without losing any linearization:
 * - unknown gets have no effect and constrain nothing;
 * - an unknown cas writing an irrelevant value can at best turn a present value into OTHER;
 * - an unknown put of an irrelevant value can only matter by making the key present for a
 *   successful del, so it is useless if there is none.
 */
function searchOps(all: HistoryOp[], relevant: Set<string>, hasDelOk: boolean): {ops: HistoryOp[]; nDefinite: number} {
  const droppable = (h: HistoryOp): boolean => {
    const o = h.op
    if (o.type === 'get') return true
    if (o.type === 'cas') return !relevant.has(o.value)
    if (o.type === 'put') return !hasDelOk && !relevant.has(o.value)
    return false
  }
  // Index definite ops first, then unknown ones, each group by invoke time, so the linearized
  // bitset is "all ones, a short window, zeros" for most of the search and its trimmed form stays
  // small.
  const definite = all.filter((h) => !isUnknown(h)).sort(byInvoke)
  const optional = all.filter((h) => isUnknown(h) && !droppable(h)).sort(byInvoke)
  return {ops: definite.concat(optional), nDefinite: definite.length}
}

/** Intern values: ABSENT = 0, relevant values 1.., and OTHER (values.length) for all others. */
function internValues(relevant: Set<string>): {values: (string | null)[]; intern: (v: string | null | undefined) => number} {
  const valueIds = new Map<string, number>()
  const values: (string | null)[] = [null]
  for (const v of relevant) {
    valueIds.set(v, values.length)
    values.push(v)
  }
  const OTHER = values.length
  return {values, intern: (v) => (v == null ? ABSENT : (valueIds.get(v) ?? OTHER))}
}

/** Each op's kind, status, interned arguments and interned result, in typed arrays. */
function encodeOps(ops: readonly HistoryOp[], intern: (v: string | null | undefined) => number) {
  const n = ops.length
  const kind = new Uint8Array(n)
  const status = new Uint8Array(n)
  const argA = new Int32Array(n)
  const argB = new Int32Array(n)
  const resV = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const o = ops[i]!.op
    const r = ops[i]!.result
    status[i] = r.status === 'ok' ? S_OK : r.status === 'not-found' ? S_NOT_FOUND : r.status === 'mismatch' ? S_MISMATCH : S_UNKNOWN
    switch (o.type) {
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
    if (r.status === 'ok' && o.type === 'get') resV[i] = intern(r.value)
    else if (r.status === 'mismatch') resV[i] = intern(r.current)
  }
  return {kind, status, argA, argB, resV}
}

/**
 * Unknown ops with the same effect (same kind and interned arguments) are interchangeable once
 * invoked, as they never return: only ever linearize the earliest-invoked unused one of each
 * class, so the used members of a class are always a prefix of it (in invoke order). Any
 * linearization can be rearranged into that shape, so this loses nothing and avoids trying
 * every subset.
 */
function unknownClasses(kind: Uint8Array, argA: Int32Array, argB: Int32Array, nDefinite: number, n: number) {
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
  return {classOf, classRank, classSize}
}

/** Definite ops that never change the state, whenever they can take effect. */
function readOnlyOps(kind: Uint8Array, status: Uint8Array, argA: Int32Array, argB: Int32Array, nDefinite: number, n: number): Uint8Array {
  const readOnly = new Uint8Array(n)
  for (let i = 0; i < nDefinite; i++) {
    const k = kind[i]
    const s = status[i]
    readOnly[i] = k === K_GET || s === S_MISMATCH || s === S_NOT_FOUND || (k === K_CAS && s === S_OK && argA[i] === argB[i]) ? 1 : 0
  }
  return readOnly
}
