// Encodes a snapshot record in small steps, so that a replica with a large state does not stop
// its event loop for the whole encoding (75 MB of key-value data take ~250 ms to encode and
// ~100 ms to checksum on this machine; longer under load, long enough for the followers to miss
// heartbeats and elect someone else).
//
// The result is byte for byte what `encodeRecord(packr.pack(snapshot))` would give (the test
// checks it): a MessagePack map, written by hand for the snapshot and for `snapshot.data`, whose
// array-valued fields are packed a slice of elements per step. The CRC is computed in a second
// round of steps, since it covers the length that only the end of the encoding knows.
import {Packr} from 'msgpackr'
import type {Snapshot} from '../core/types.js'
import {assert} from '../lib/assert.js'
import {crc32c} from './crc32.js'
import {RECORD_HEADER_BYTES} from './record.js'

const packr = new Packr({useRecords: false})
const STEP_BYTES = 4 * 1024 * 1024

/** A snapshot record as chunks: header (length, CRC) then the payload's pieces, in file order. */
export interface EncodedSnapshot {
  chunks: Uint8Array[]
  /** Total bytes of all chunks, header included. */
  bytes: number
}

export interface SnapshotEncoderOptions {
  /** Array elements packed per step: at most this many, and no more once 4 MiB are out. Default 2,000. */
  itemsPerStep?: number
  /** Bytes checksummed per step. Default 8 MiB. */
  crcBytesPerStep?: number
}

type Piece = Uint8Array | {array: readonly unknown[]}

export class SnapshotEncoder {
  private readonly itemsPerStep: number
  private readonly crcBytesPerStep: number
  private readonly pieces: Piece[]
  private pieceIndex = 0
  private itemIndex = 0
  private readonly out: Uint8Array[] = []
  private payloadBytes = 0
  private crc: number | null = null
  private crcChunk = 0
  private result: EncodedSnapshot | null = null

  constructor(snapshot: Snapshot, opts: SnapshotEncoderOptions = {}) {
    this.itemsPerStep = opts.itemsPerStep ?? 2000
    this.crcBytesPerStep = opts.crcBytesPerStep ?? 8 * 1024 * 1024
    assert(this.itemsPerStep >= 1 && this.crcBytesPerStep >= 1, 'SnapshotEncoder: steps must do some work')
    // The snapshot file's record (SegmentLogStorage reads it back with these keys).
    const record = snapshot.config
      ? {lastIncludedIndex: snapshot.lastIncludedIndex, lastIncludedTerm: snapshot.lastIncludedTerm, config: snapshot.config, data: snapshot.data}
      : {lastIncludedIndex: snapshot.lastIncludedIndex, lastIncludedTerm: snapshot.lastIncludedTerm, data: snapshot.data}
    this.pieces = planMap(record, 1)
  }

  /** Does a bounded amount of work; returns true once the record is complete. */
  step(): boolean {
    if (this.result) return true
    if (this.pieceIndex < this.pieces.length) {
      this.encodeStep()
      return false
    }
    this.crcStep()
    return this.result !== null
  }

  /** Runs every remaining step at once. */
  finish(): EncodedSnapshot {
    while (!this.step()) {
      // Keep going.
    }
    return this.result!
  }

  encoded(): EncodedSnapshot {
    if (!this.result) throw new Error('SnapshotEncoder: not finished')
    return this.result
  }

  private emit(buf: Uint8Array): void {
    this.out.push(buf)
    this.payloadBytes += buf.length
  }

  private encodeStep(): void {
    let budget = this.itemsPerStep
    while (budget > 0 && this.pieceIndex < this.pieces.length) {
      const piece = this.pieces[this.pieceIndex]!
      if (piece instanceof Uint8Array) {
        this.emit(piece)
        this.pieceIndex++
        continue
      }
      const end = Math.min(piece.array.length, this.itemIndex + budget)
      const parts: Uint8Array[] = []
      let size = 0
      let i = this.itemIndex
      while (i < end && size < STEP_BYTES) {
        const p = packr.pack(piece.array[i++])
        parts.push(p)
        size += p.length
      }
      if (parts.length > 0) this.emit(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size))
      budget = size >= STEP_BYTES ? 0 : budget - (i - this.itemIndex)
      this.itemIndex = i
      if (i === piece.array.length) {
        this.pieceIndex++
        this.itemIndex = 0
      }
    }
  }

  private crcStep(): void {
    if (this.crc === null) {
      if (this.payloadBytes > 0xffffffff) throw new Error(`snapshot of ${this.payloadBytes} bytes is too large for one record`)
      const header = new Uint8Array(RECORD_HEADER_BYTES)
      new DataView(header.buffer).setUint32(0, this.payloadBytes, true)
      this.out.unshift(header)
      this.crc = crc32c(header, 0, 4)
      this.crcChunk = 1
    }
    let budget = this.crcBytesPerStep
    while (budget > 0 && this.crcChunk < this.out.length) {
      const chunk = this.out[this.crcChunk++]!
      this.crc = crc32c(chunk, 0, chunk.length, this.crc)
      budget -= chunk.length
    }
    if (this.crcChunk < this.out.length) return
    new DataView(this.out[0]!.buffer).setUint32(4, this.crc >>> 0, true)
    this.result = {chunks: this.out, bytes: RECORD_HEADER_BYTES + this.payloadBytes}
  }
}

/**
 * The pieces of a MessagePack map in msgpackr's own layout (str keys in insertion order, each
 * value packed as msgpackr packs it). At `depth` 1 a plain-object value is opened up as well (the snapshot's `data`), and any
 * array value becomes a header plus an `{array}` piece packed element by element.
 */
function planMap(obj: Record<string, unknown>, depth: number): Piece[] {
  const keys = Object.keys(obj)
  const pieces: Piece[] = [mapHeader(keys.length)]
  for (const key of keys) {
    const value = obj[key]
    pieces.push(packr.pack(key))
    if (Array.isArray(value)) {
      pieces.push(arrayHeader(value.length), {array: value})
    } else if (depth > 0 && isPlainObject(value)) {
      pieces.push(...planMap(value, depth - 1))
    } else {
      pieces.push(packr.pack(value))
    }
  }
  return pieces
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

/** msgpackr writes a plain object's header as map16 even for a few keys (it counts them late). */
function mapHeader(n: number): Uint8Array {
  assert(n < 0x10000, `SnapshotEncoder: an object with ${n} keys`)
  return Uint8Array.of(0xde, n >>> 8, n & 0xff)
}

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n)
  if (n < 0x10000) return Uint8Array.of(0xdc, n >>> 8, n & 0xff)
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
}
