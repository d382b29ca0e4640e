// The linearized set of a search configuration and the memo of configurations already explored.
import type {EncodedKey} from './encode.js'

/**
 * The linearized set: a bitset over definite ops, the set U of other (non-fungible) unknown ops
 * used, and the fungible class counts (classUsed). Zobrist hashes are maintained incrementally:
 * two 32-bit lanes (hA, hB) over definite ops and U, and an independent third lane (hC) over U
 * alone.
 */
export class LinearizedSet {
  readonly defWords: number
  readonly bits: Uint32Array
  /** How many members of each class of interchangeable unknown ops are used (always a prefix). */
  readonly classUsed: Int32Array
  /** |U|. */
  nUsedUnknown = 0
  hA = 0
  hB = 0
  hC = 0
  private readonly zA: Int32Array
  private readonly zB: Int32Array
  private readonly zC: Int32Array

  constructor(private readonly enc: EncodedKey) {
    const n = enc.n
    this.defWords = (enc.nDefinite + 31) >>> 5
    this.bits = new Uint32Array(this.defWords)
    this.classUsed = new Int32Array(enc.classCount)
    this.zA = new Int32Array(n)
    this.zB = new Int32Array(n)
    this.zC = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      this.zA[i] = fmix32(3 * i + 1)
      this.zB[i] = fmix32((3 * i + 2) ^ 0x5bd1e995)
      this.zC[i] = fmix32((3 * i + 3) ^ 0x2545f491)
    }
  }

  /** Adds op i, which is not in the set. */
  add(i: number): void {
    this.toggle(i)
    if (i >= this.enc.nDefinite) {
      this.classUsed[this.enc.classOf[i]!]!++
      if (!this.enc.fungible[i]) this.nUsedUnknown++
    }
  }

  /** Removes op i, which is in the set. */
  remove(i: number): void {
    this.toggle(i)
    if (i >= this.enc.nDefinite) {
      this.classUsed[this.enc.classOf[i]!]!--
      if (!this.enc.fungible[i]) this.nUsedUnknown--
    }
  }

  private toggle(i: number): void {
    if (i < this.enc.nDefinite) {
      this.bits[i >>> 5]! ^= 1 << (i & 31)
    } else if (this.enc.fungible[i]) {
      return
    } else {
      this.hC ^= this.zC[i]!
    }
    this.hA ^= this.zA[i]!
    this.hB ^= this.zB[i]!
  }
}

/**
 * Memo of configurations already explored (or being explored): (definite set, U, fungible
 * counts, state, run start). A configuration is dominated by a recorded one that has the same
 * definite set, U, state and run start and no higher fungible counts: whatever completes it
 * completes that one too (using earlier members of the classes instead), so it need not be
 * explored. Buckets are keyed by a 53-bit hash of everything but the counts. The definite set
 * (kept trimmed to "lead all-ones words, a window, zeros": short, as definite ops are indexed by
 * invoke time), counts, state and run start are compared exactly; U, which can grow long, by its
 * size and the independent 32-bit lane on top of the bucket hash (a false match needs an 85-bit
 * collision). All in growable typed arrays, no per-entry objects.
 */
export class Memo {
  /** Configurations recorded so far. */
  explored = 0
  private readonly buckets = new Map<number, number>()
  private cap = 1024
  private entState = new Int32Array(this.cap)
  private entRun = new Int32Array(this.cap)
  private entLead = new Int32Array(this.cap)
  private entOff = new Int32Array(this.cap)
  private entLen = new Int32Array(this.cap)
  private entUHash = new Int32Array(this.cap)
  private entULen = new Int32Array(this.cap)
  private entNext = new Int32Array(this.cap)
  private pool = new Uint32Array(4096)
  private poolUsed = 0
  private readonly nFungible: number

  constructor(
    private readonly set: LinearizedSet,
    private readonly fungibleClasses: number[],
  ) {
    this.nFungible = fungibleClasses.length
  }

  /** Records the current configuration (the set's, state st, run start rs); false if it is dominated. */
  remember(st: number, rs: number): boolean {
    const set = this.set
    const bits = set.bits
    const defWords = set.defWords
    const nFungible = this.nFungible
    const h = this.hash(st, rs)
    const first = this.buckets.get(h) ?? -1
    for (let e = first; e !== -1; e = this.entNext[e]!) if (this.dominated(e, st, rs)) return false
    let lead = 0
    while (lead < defWords && bits[lead] === 0xffffffff) lead++
    let tail = defWords
    while (tail > lead && bits[tail - 1] === 0) tail--
    const e = this.explored++
    if (e === this.cap) {
      const cap = (this.cap *= 2)
      this.entState = grow(this.entState, cap)
      this.entRun = grow(this.entRun, cap)
      this.entLead = grow(this.entLead, cap)
      this.entOff = grow(this.entOff, cap)
      this.entLen = grow(this.entLen, cap)
      this.entUHash = grow(this.entUHash, cap)
      this.entULen = grow(this.entULen, cap)
      this.entNext = grow(this.entNext, cap)
    }
    const need = tail - lead + nFungible
    if (this.poolUsed + need > this.pool.length) this.pool = grow(this.pool, Math.max(this.pool.length * 2, this.poolUsed + need))
    const pool = this.pool
    pool.set(bits.subarray(lead, tail), this.poolUsed)
    this.entState[e] = st
    this.entRun[e] = rs
    this.entLead[e] = lead
    this.entOff[e] = this.poolUsed
    this.entLen[e] = tail - lead
    this.poolUsed += tail - lead
    for (let f = 0; f < nFungible; f++) pool[this.poolUsed++] = set.classUsed[this.fungibleClasses[f]!]!
    this.entUHash[e] = set.hC
    this.entULen[e] = set.nUsedUnknown
    this.entNext[e] = first
    this.buckets.set(h, e)
    return true
  }

  private hash(st: number, rs: number): number {
    const m = fmix32(st ^ Math.imul(rs + 3, 0x9e3779b1))
    return ((this.set.hA ^ m) >>> 0) * 0x200000 + ((this.set.hB ^ fmix32(m + 0x165667b1)) & 0x1fffff)
  }

  private dominated(e: number, st: number, rs: number): boolean {
    const set = this.set
    if (this.entState[e] !== st || this.entRun[e] !== rs || this.entULen[e] !== set.nUsedUnknown || this.entUHash[e] !== set.hC) {
      return false
    }
    const bits = set.bits
    const pool = this.pool
    const lead = this.entLead[e]!
    const off = this.entOff[e]!
    const len = this.entLen[e]!
    for (let j = 0; j < lead; j++) if (bits[j] !== 0xffffffff) return false
    for (let j = 0; j < len; j++) if (bits[lead + j] !== pool[off + j]) return false
    for (let j = lead + len; j < set.defWords; j++) if (bits[j] !== 0) return false
    const cOff = off + len
    for (let f = 0; f < this.nFungible; f++) if (pool[cOff + f]! > set.classUsed[this.fungibleClasses[f]!]!) return false
    return true
  }
}

function grow<T extends Int32Array | Uint32Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size)
  b.set(a)
  return b
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
