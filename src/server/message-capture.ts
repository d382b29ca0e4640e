// Structured capture of the Raft messages a replica sends and receives, for the reports' Lamport
// diagrams: `RAFTCTL_CAPTURE=1` appends one NDJSON line per message to node-N/messages.ndjson,
// `{"t": <epoch ms, µs precision>, "n": <node>, "e": "s"|"r", "m": "<formatMessage text>"}`.
// The canonical text is identical on both sides of a message, so a report pairs a send with its
// receive by text and time. Sampled so that a long, loaded run stays small: elections, snapshots
// and leadership transfers always; AppendEntries and their responses (the bulk) only during the
// first SLOT_MS of every EVERY_MS of wall-clock time — the same slots on every node, so both ends
// of a message are kept or dropped together. `RAFTCTL_CAPTURE=all` keeps everything. Lines are
// buffered and appended every FLUSH_MS (a SIGKILL loses at most that much); the file stops
// growing at MAX_BYTES.
import {appendFileSync, statSync} from 'node:fs'
import {formatMessage} from '../core/format.js'
import type {Message, NodeId} from '../core/types.js'

export const CAPTURE_SLOT_MS = 250
export const CAPTURE_EVERY_MS = 2000
const FLUSH_MS = 50
const MAX_BYTES = 64 * 1024 * 1024

export type CaptureMode = 'sampled' | 'all'

/** The capture mode RAFTCTL_CAPTURE asks for, or null (off). */
export function captureMode(env: NodeJS.ProcessEnv): CaptureMode | null {
  const v = env.RAFTCTL_CAPTURE
  if (v === undefined || v === '' || v === '0') return null
  return v === 'all' ? 'all' : 'sampled'
}

/** Whether a message sent or received at `epochMs` is kept in `mode`. */
export function captured(m: Message, epochMs: number, mode: CaptureMode): boolean {
  if (mode === 'all') return true
  if (m.type !== 'AppendEntries' && m.type !== 'AppendEntriesResponse') return true
  return epochMs % CAPTURE_EVERY_MS < CAPTURE_SLOT_MS
}

export class MessageCapture {
  private lines: string[] = []
  private bytes: number
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly path: string,
    private readonly node: NodeId,
    private readonly mode: CaptureMode,
  ) {
    let size = 0
    try {
      size = statSync(path).size
    } catch {
      // A new file.
    }
    this.bytes = size
    this.lines.push(JSON.stringify({capture: {node, mode, slotMs: CAPTURE_SLOT_MS, everyMs: CAPTURE_EVERY_MS, t: now()}}))
    this.timer = setInterval(() => this.flush(), FLUSH_MS)
    this.timer.unref()
  }

  record(event: 's' | 'r', m: Message): void {
    const t = now()
    if (this.bytes >= MAX_BYTES || !captured(m, t, this.mode)) return
    this.lines.push(`{"t":${t},"n":${this.node},"e":"${event}","m":${JSON.stringify(formatMessage(m))}}`)
  }

  flush(): void {
    if (this.lines.length === 0) return
    const text = this.lines.join('\n') + '\n'
    this.lines = []
    try {
      appendFileSync(this.path, text)
      this.bytes += text.length
    } catch {
      // Best effort, like the node log.
    }
  }

  close(): void {
    clearInterval(this.timer)
    this.flush()
  }
}

/** Wall-clock time in ms with microseconds, comparable across the processes of one machine. */
function now(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000
}
