// Wire framing: every frame is a 4-byte big-endian body length followed by a MessagePack body.
//
// Invariants kept here:
// - A declared length above the decoder's limit fails the moment its 4 header bytes are in, before
//   a single body byte is buffered (a 4 GiB prefix costs nothing).
// - Decoding is linear in the bytes received whatever the chunk boundaries: chunks are kept in a
//   list and a body is copied at most once (not at all when it sits inside one chunk).
// - A decoder that failed stays failed: the connection must be closed, nothing after the bad frame
//   is trusted.
// MessagePack uses msgpackr with records off, so any MessagePack implementation can decode us.

import {Packr, Unpackr} from 'msgpackr'
import {TransportError} from './errors.js'

export const FRAME_HEADER_BYTES = 4
/** Default limit on a frame body (the length prefix's value). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
const MAX_LENGTH_PREFIX = 0xffff_ffff

const packr = new Packr({useRecords: false})
const unpackOptions: Record<string, unknown> = {
  useRecords: false,
  mapsAsObjects: true,
  // Never let an untrusted peer build object graphs with back-references.
  structuredClone: false,
  // Binary values must not pin the 64 KiB socket chunk they arrived in.
  copyBuffers: true,
  // 64-bit integers from other encoders: safe ones as numbers, the rest stay bigint (and fail
  // validation) rather than silently losing precision.
  // ('auto' exists at runtime in msgpackr 2.x but is missing from its typings.)
  int64AsType: 'auto',
}
const unpackr = new Unpackr(unpackOptions)

export type FrameErrorReason = 'oversized' | 'empty' | 'malformed' | 'truncated'

/** Why a byte stream stopped being a valid frame stream. The connection must be closed. */
export class FrameError extends TransportError {
  override name = 'FrameError'
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
    /** For 'oversized': the declared body length. */
    readonly declaredBytes?: number,
  ) {
    super(reason === 'oversized' ? 'too-large' : 'protocol', message)
  }
}

/** MessagePack body alone (no length prefix). */
export function encodeBody(obj: unknown): Buffer {
  return packr.pack(obj)
}

/** Decode one complete MessagePack body; throws FrameError('malformed') on bad or trailing bytes. */
export function decodeBody(body: Uint8Array): unknown {
  if (body.length === 0) throw new FrameError('empty', 'empty frame')
  try {
    return unpackr.unpack(body)
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    throw new FrameError('malformed', `malformed MessagePack (${why.slice(0, 120)})`)
  }
}

/**
 * One frame: length prefix + MessagePack body, as a single buffer. Throws FrameError('oversized')
 * when the body exceeds `maxFrameBytes`, so a sender never emits what its receiver must refuse.
 */
export function encodeFrame(obj: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const body = packr.pack(obj)
  if (body.length > maxFrameBytes) {
    throw new FrameError('oversized', `oversized frame (${body.length} bytes, limit ${maxFrameBytes})`, body.length)
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length)
  frame.writeUInt32BE(body.length, 0)
  // packr returns a view of its shared output buffer: copy out before the next pack.
  body.copy(frame, FRAME_HEADER_BYTES)
  return frame
}

export interface FrameDecoderOptions {
  /** Largest accepted body length in bytes; default 16 MiB. Can be changed later (see setter). */
  maxFrameBytes?: number
}

export interface DecodeResult {
  /** Frames completed by this chunk, in order (those before an error included). */
  frames: unknown[]
  /** Non-null once the stream is broken; the decoder stays failed. */
  error: FrameError | null
}

/** Streaming decoder: push socket chunks in, get decoded frame values out. */
export class FrameDecoder {
  private chunks: Buffer[] = []
  /** Read offset into chunks[0]. */
  private head = 0
  /** Unread bytes across all chunks. */
  private buffered = 0
  /** Body length of the frame whose header has been consumed, or -1 while awaiting a header. */
  private bodyBytes = -1
  private failure: FrameError | null = null
  private limit: number

  constructor(options: FrameDecoderOptions = {}) {
    this.limit = checkLimit(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
  }

  get maxFrameBytes(): number {
    return this.limit
  }

  /** Raising or lowering the limit applies to the next header (e.g. after authentication). */
  set maxFrameBytes(bytes: number) {
    this.limit = checkLimit(bytes)
  }

  /** Bytes received but not yet consumed by a completed frame (header bytes of a pending body excluded). */
  get bufferedBytes(): number {
    return this.buffered
  }

  get error(): FrameError | null {
    return this.failure
  }

  push(chunk: Uint8Array): DecodeResult {
    const frames: unknown[] = []
    if (this.failure) return {frames, error: this.failure}
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
      this.buffered += chunk.length
    }
    for (;;) {
      if (this.bodyBytes < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0)
        if (length > this.limit) {
          return {
            frames,
            error: this.fail(new FrameError('oversized', `oversized frame (${length} bytes, limit ${this.limit})`, length)),
          }
        }
        if (length === 0) return {frames, error: this.fail(new FrameError('empty', 'empty frame'))}
        this.bodyBytes = length
      }
      if (this.buffered < this.bodyBytes) break
      const body = this.take(this.bodyBytes)
      this.bodyBytes = -1
      try {
        frames.push(decodeBody(body))
      } catch (e) {
        return {frames, error: this.fail(e instanceof FrameError ? e : new FrameError('malformed', String(e)))}
      }
    }
    return {frames, error: null}
  }

  /**
   * The stream ended: an error if it stopped inside a frame (header or body), else null. A clean
   * end between frames is not an error.
   */
  finish(): FrameError | null {
    if (this.failure) return this.failure
    if (this.buffered === 0 && this.bodyBytes < 0) return null
    const message =
      this.bodyBytes >= 0
        ? `truncated frame (${this.buffered} of ${this.bodyBytes} body bytes before end of stream)`
        : `truncated frame (${this.buffered} header bytes before end of stream)`
    return this.fail(new FrameError('truncated', message))
  }

  private fail(error: FrameError): FrameError {
    this.failure = error
    this.chunks = []
    this.head = 0
    this.buffered = 0
    this.bodyBytes = -1
    return error
  }

  /** Consume exactly `n` buffered bytes (caller checked n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!
    const available = first.length - this.head
    let out: Buffer
    if (available >= n) {
      out = first.subarray(this.head, this.head + n)
      this.head += n
      if (this.head === first.length) {
        this.chunks.shift()
        this.head = 0
      }
    } else {
      out = Buffer.allocUnsafe(n)
      let written = 0
      let used = 0
      while (written < n) {
        const c = this.chunks[used]!
        const start = used === 0 ? this.head : 0
        const count = Math.min(c.length - start, n - written)
        c.copy(out, written, start, start + count)
        written += count
        if (start + count === c.length) {
          used++
          this.head = 0
        } else {
          this.head = start + count
        }
      }
      this.chunks.splice(0, used)
    }
    this.buffered -= n
    return out
  }
}

function checkLimit(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > MAX_LENGTH_PREFIX) {
    throw new RangeError(`maxFrameBytes must be an integer in 1..${MAX_LENGTH_PREFIX}, got ${bytes}`)
  }
  return bytes
}

/** The MessagePack encoding of `value` in a buffer of its own (packr reuses its output buffer). */
export function encodeOwnedBody(value: unknown): Buffer {
  return Buffer.from(packr.pack(value))
}

const EMPTY_ARRAY = 0x90

/**
 * One frame whose body is `head`'s encoding with its last value, an empty array, replaced by
 * `tail`: the encoding of that array's real contents (encodeOwnedBody). MessagePack containers
 * count elements, not bytes, so the splice is exact. The frame comes as two chunks, the tail
 * shared and never copied (several followers' AppendEntries carry the same one). Null when the
 * frame would exceed `maxFrameBytes` (the caller encodes it whole, in parts).
 */
export function encodeFrameWithTail(head: unknown, tail: Buffer, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer[] | null {
  const body = packr.pack(head)
  if (body[body.length - 1] !== EMPTY_ARRAY) throw new TypeError('encodeFrameWithTail: the head must end with an empty array')
  const length = body.length - 1 + tail.length
  if (length > maxFrameBytes) return null
  const prefix = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length - 1)
  prefix.writeUInt32BE(length, 0)
  body.copy(prefix, FRAME_HEADER_BYTES, 0, body.length - 1)
  return [prefix, tail]
}

/**
 * Peer messages larger than one frame (an InstallSnapshot of a large state) travel as parts:
 * frames {k:'part', i, n, bytes} carrying consecutive slices of the message's MessagePack body,
 * reassembled in order by the receiver. A whole message is at most MAX_MESSAGE_BYTES.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024 * 1024

export function partBytes(maxFrameBytes: number): number {
  return Math.max(1024, Math.min(4 * 1024 * 1024, Math.floor(maxFrameBytes / 2)))
}

/** The frames of one peer envelope: a single frame, or parts when the body is too large. */
export function encodePeerFrames(envelope: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer[] {
  const body = packr.pack(envelope)
  if (body.length <= maxFrameBytes) {
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length)
    frame.writeUInt32BE(body.length, 0)
    body.copy(frame, FRAME_HEADER_BYTES)
    return [frame]
  }
  if (body.length > MAX_MESSAGE_BYTES) {
    throw new FrameError('oversized', `message too large (${body.length} bytes, limit ${MAX_MESSAGE_BYTES})`, body.length)
  }
  const whole = Buffer.from(body) // packr reuses its buffer: copy before packing the parts
  const size = partBytes(maxFrameBytes)
  const n = Math.ceil(whole.length / size)
  const frames: Buffer[] = []
  for (let i = 0; i < n; i++) frames.push(encodeFrame({k: 'part', i, n, bytes: whole.subarray(i * size, (i + 1) * size)}, maxFrameBytes))
  return frames
}

/** Reassembles parts in order; returns the decoded envelope when the last part arrives. */
export class PartAssembler {
  private chunks: Uint8Array[] = []
  private expected = 0
  private size = 0

  constructor(private readonly maxFrameBytes: number) {}

  /** Throws FrameError('malformed') on parts out of order, of a wrong size or beyond the limit. */
  push(frame: Record<string, unknown>): {done: false} | {done: true; envelope: unknown} {
    const {i, n, bytes} = frame
    const maxParts = Math.ceil(MAX_MESSAGE_BYTES / partBytes(this.maxFrameBytes))
    if (!Number.isSafeInteger(n) || (n as number) < 2 || (n as number) > maxParts) throw new FrameError('malformed', `bad part count ${String(n)}`)
    if (i !== this.chunks.length) throw new FrameError('malformed', `part ${String(i)} out of order (expected ${this.chunks.length})`)
    if (this.chunks.length > 0 && n !== this.expected) throw new FrameError('malformed', 'part count changed mid-message')
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new FrameError('malformed', 'part without bytes')
    this.expected = n as number
    this.size += bytes.length
    if (this.size > MAX_MESSAGE_BYTES) throw new FrameError('oversized', `message larger than ${MAX_MESSAGE_BYTES} bytes`, this.size)
    this.chunks.push(bytes)
    if (this.chunks.length < this.expected) return {done: false}
    const body = Buffer.concat(this.chunks)
    this.chunks = []
    this.expected = 0
    this.size = 0
    return {done: true, envelope: decodeBody(body)}
  }
}
