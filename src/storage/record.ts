// The record framing shared by segment, snapshot and hard-state files:
//   u32le payloadLength | u32le crc32c(lengthBytes ++ payload) | payload (MessagePack)
// The CRC covers the length too, so a damaged length field is caught even when the payload it
// points to happens to be intact. A zero length is never written (no payload encodes to 0 bytes).
import {crc32c, crc32cView, dataViewOf} from './crc32.js'

export const RECORD_HEADER_BYTES = 8

/** Writes one record for `payload` into `out` at `offset`; returns the offset after it. */
export function writeRecord(out: Uint8Array, offset: number, payload: Uint8Array): number {
  const len = payload.length
  out[offset] = len & 0xff
  out[offset + 1] = (len >>> 8) & 0xff
  out[offset + 2] = (len >>> 16) & 0xff
  out[offset + 3] = (len >>> 24) & 0xff
  out.set(payload, offset + RECORD_HEADER_BYTES)
  const crc = crc32c(payload, 0, len, crc32c(out, offset, offset + 4))
  out[offset + 4] = crc & 0xff
  out[offset + 5] = (crc >>> 8) & 0xff
  out[offset + 6] = (crc >>> 16) & 0xff
  out[offset + 7] = (crc >>> 24) & 0xff
  return offset + RECORD_HEADER_BYTES + len
}

/** One record holding `payload`, as a fresh buffer. */
export function encodeRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length)
  writeRecord(out, 0, payload)
  return out
}

export function readU32(buf: Uint8Array, offset: number): number {
  return (buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16) | (buf[offset + 3]! << 24)) >>> 0
}

export type FrameCheck = {ok: true; payloadStart: number; end: number} | {ok: false; reason: string}

/**
 * Checks the framing of the record at `offset`: header complete, non-zero length, payload within
 * the buffer, and (when `verifyCrc`) the checksum. Does not decode the payload. Loops over one
 * buffer pass `view` (dataViewOf(buf)) to save building one per record.
 */
export function checkFrame(buf: Uint8Array, offset: number, verifyCrc: boolean, view?: DataView): FrameCheck {
  const remaining = buf.length - offset
  if (remaining < RECORD_HEADER_BYTES) return {ok: false, reason: `short record header (${remaining} bytes)`}
  const len = readU32(buf, offset)
  if (len === 0) return {ok: false, reason: 'zero record length'}
  const payloadStart = offset + RECORD_HEADER_BYTES
  const end = payloadStart + len
  if (end > buf.length) {
    return {ok: false, reason: `short payload (length ${len}, ${buf.length - payloadStart} bytes present)`}
  }
  if (verifyCrc) {
    const want = readU32(buf, offset + 4)
    const got = crc32cView(view ?? dataViewOf(buf), buf, payloadStart, end, crc32c(buf, offset, offset + 4))
    if (want !== got) return {ok: false, reason: `crc mismatch (stored ${hex(want)}, computed ${hex(got)})`}
  }
  return {ok: true, payloadStart, end}
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`
}
