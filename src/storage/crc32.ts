// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, slicing-by-8.
// Pure TypeScript, no `node:` imports: the same checksum is computed in the simulator and on disk.
// Check value: crc32c("123456789") === 0xE3069283.

const POLY = 0x82f63b78

/**
 * TABLES[k][b]: the CRC contribution of byte b followed by k zero bytes. Int32Array, not
 * Uint32Array: V8 keeps int32 values as small integers, uint32 values above 2^31 become doubles.
 */
const TABLES: Int32Array[] = (() => {
  const t0 = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t0[n] = c
  }
  const tables = [t0]
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!
    const t = new Int32Array(256)
    for (let n = 0; n < 256; n++) t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!
    tables.push(t)
  }
  return tables
})()

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array]

/**
 * Updates `crc` (the value returned by a previous call, 0 to start) with data[start, end).
 * Chaining calls over consecutive ranges equals one call over their concatenation.
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  return end - start >= 32 ? crc32cView(dataViewOf(data), data, start, end, crc) : crc32cBytes(data, start, end, crc)
}

/** A DataView over exactly the bytes of `data`, for crc32cView. */
export function dataViewOf(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * crc32c with a caller-provided `view` (= dataViewOf(data)), for hot loops over one buffer: it
 * reads two little-endian words per step instead of eight bytes.
 */
export function crc32cView(view: DataView, data: Uint8Array, start: number, end: number, crc = 0): number {
  let c = ~crc
  let i = start
  const end8 = end - ((end - start) & 7)
  while (i < end8) {
    const lo = c ^ view.getInt32(i, true)
    const hi = view.getInt32(i + 4, true)
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[hi & 0xff]! ^
      T2[(hi >>> 8) & 0xff]! ^
      T1[(hi >>> 16) & 0xff]! ^
      T0[hi >>> 24]!
    i += 8
  }
  while (i < end) c = (c >>> 8) ^ T0[(c ^ data[i++]!) & 0xff]!
  return ~c >>> 0
}

function crc32cBytes(data: Uint8Array, start: number, end: number, crc: number): number {
  let c = ~crc
  for (let i = start; i < end; i++) c = (c >>> 8) ^ T0[(c ^ data[i]!) & 0xff]!
  return ~c >>> 0
}
