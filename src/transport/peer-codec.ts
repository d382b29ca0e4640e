// The Raft message path of a peer connection, without the socket: how one message becomes frames
// on the sending side, and how frames become a validated message on the receiving side (parts
// reassembled, the envelope checked, every field the core reads validated against the
// authenticated peer). PeerTransport and NodeServer use it over TCP; the simulator pushes the very
// same bytes through it, so no object is ever shared between two nodes. Pure code.
import type {Entry, Message, NodeId} from '../core/types.js'
import {DEFAULT_MAX_FRAME_BYTES, encodeFrameWithTail, encodeOwnedBody, encodePeerFrames, FrameDecoder, PartAssembler} from './framing.js'
import {isErrorFrame} from './handshake.js'
import {messageProblem, show} from './validate.js'

/** The bytes one Raft message travels as (a single frame, or parts when it is large). */
export function encodePeerMessage(msg: Message, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer[] {
  return encodePeerFrames({k: 'raft', msg}, maxFrameBytes)
}

/**
 * Encodes one sender's Raft messages. The entries of an AppendEntries are encoded once per slice:
 * the followers a leader sends the same entries in one round (all of them, when they keep up)
 * share those bytes, and only the message around them is encoded per follower. One slice is
 * remembered, by the identity of its first and last entry objects and its length: a leader's log
 * holds each entry as one object, and an entry is never changed once made.
 */
export class PeerEncoder {
  private slice: {first: Entry; last: Entry; n: number; bytes: Buffer} | null = null
  /** AppendEntries that reused the previous one's encoded entries. */
  reused = 0

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** The chunks one Raft message travels as; concatenated, they are its frames. */
  encode(msg: Message): Buffer[] {
    if (msg.type !== 'AppendEntries' || msg.entries.length === 0) return encodePeerMessage(msg, this.maxFrameBytes)
    const {entries, ...rest} = msg
    // `entries` goes last, as an empty array whose encoding the shared bytes replace.
    const chunks = encodeFrameWithTail({k: 'raft', msg: {...rest, entries: []}}, this.entriesBytes(entries), this.maxFrameBytes)
    return chunks ?? encodePeerMessage(msg, this.maxFrameBytes)
  }

  private entriesBytes(entries: Entry[]): Buffer {
    const first = entries[0]!
    const last = entries[entries.length - 1]!
    const s = this.slice
    if (s && s.first === first && s.last === last && s.n === entries.length) {
      this.reused++
      return s.bytes
    }
    const bytes = encodeOwnedBody(entries)
    this.slice = {first, last, n: entries.length, bytes}
    return bytes
  }
}

export type PeerFrameResult =
  | {kind: 'message'; message: Message}
  /** A part of a larger message; more frames to come. */
  | {kind: 'part'}
  /** The peer closed the connection with an error frame. */
  | {kind: 'closed'; reason: string}
  /** A frame no well-behaved peer sends: the connection must be closed. */
  | {kind: 'bad'; problem: string}

/** The receiving half of one authenticated peer connection: decoded frames in, messages out. */
export class PeerFrameReader {
  private parts: PartAssembler | null = null

  constructor(
    private readonly peerId: NodeId,
    private readonly nodeId: NodeId,
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {}

  frame(frame: unknown): PeerFrameResult {
    if (isErrorFrame(frame)) return {kind: 'closed', reason: `${frame.error}: ${frame.message}`}
    if (isEnvelope(frame, 'part')) {
      this.parts ??= new PartAssembler(this.maxFrameBytes)
      let part
      try {
        part = this.parts.push(frame)
      } catch (error) {
        return {kind: 'bad', problem: error instanceof Error ? error.message : String(error)}
      }
      if (!part.done) return {kind: 'part'}
      frame = part.envelope
    }
    if (!isEnvelope(frame, 'raft')) return {kind: 'bad', problem: `expected a raft envelope, got ${show(frame)}`}
    const msg = frame['msg']
    const problem = messageProblem(msg, {from: this.peerId, to: this.nodeId})
    if (problem) return {kind: 'bad', problem}
    return {kind: 'message', message: msg as Message}
  }
}

/**
 * Bytes in, messages out: a FrameDecoder and a PeerFrameReader for one stream (the simulator's
 * links). Returns the messages the bytes completed, or the problem that broke the stream.
 */
export class PeerStreamReader {
  private readonly decoder: FrameDecoder
  private readonly reader: PeerFrameReader

  constructor(peerId: NodeId, nodeId: NodeId, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.decoder = new FrameDecoder({maxFrameBytes})
    this.reader = new PeerFrameReader(peerId, nodeId, maxFrameBytes)
  }

  push(bytes: Uint8Array): {messages: Message[]; problem: string | null} {
    const {frames, error} = this.decoder.push(bytes)
    const messages: Message[] = []
    for (const f of frames) {
      const r = this.reader.frame(f)
      if (r.kind === 'message') messages.push(r.message)
      else if (r.kind === 'bad' || r.kind === 'closed') return {messages, problem: r.kind === 'bad' ? r.problem : r.reason}
    }
    return {messages, problem: error ? error.message : null}
  }
}

export function isEnvelope(x: unknown, k: string): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && (x as Record<string, unknown>)['k'] === k
}
