// Progress of a run on stderr: a bar redrawn in place on a terminal; a plain line every few
// seconds when stderr is not a terminal or NO_COLOR/CI is set (no animation, no escape codes).
import {animationEnabled} from '../lib/terminal.js'
import {formatDuration} from '../lib/duration.js'
import {ProgressLine} from '../lib/progress-line.js'

const thousands = (x: number) => Math.round(x).toLocaleString('en-US')

export interface ProgressStream {
  isTTY?: boolean
  write(text: string): unknown
}

export interface ProgressSnapshot {
  elapsedMs: number
  durationMs: number
  ops: number
  errors: number
}

/** A bar redrawn in place on a terminal; otherwise (or with NO_COLOR/CI) a plain line every few seconds. */
export function progressMode(stream: ProgressStream, env: NodeJS.ProcessEnv): 'bar' | 'lines' {
  return animationEnabled(stream, env) ? 'bar' : 'lines'
}

export function progressBar(s: ProgressSnapshot, width = 24): string {
  const frac = s.durationMs > 0 ? Math.min(1, s.elapsedMs / s.durationMs) : 1
  const filled = Math.round(frac * width)
  const rate = s.elapsedMs > 0 ? (s.ops * 1000) / s.elapsedMs : 0
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(s.elapsedMs / 1000).toFixed(1)}s/${formatDuration(s.durationMs)}` +
    `  ${thousands(s.ops)} ops  ${thousands(rate)} ops/s  ${s.errors} error${s.errors === 1 ? '' : 's'}`
  )
}

export function progressLine(s: ProgressSnapshot, windowOps: number, windowMs: number): string {
  const rate = windowMs > 0 ? (windowOps * 1000) / windowMs : 0
  return `bench: ${(s.elapsedMs / 1000).toFixed(0)}s/${formatDuration(s.durationMs)}  ${thousands(s.ops)} ops  ${thousands(rate)} ops/s  ${s.errors} error${s.errors === 1 ? '' : 's'}`
}

export class ProgressReporter {
  private readonly status: ProgressLine
  private lastLineAt = 0
  private lastLineOps = 0

  constructor(
    stream: ProgressStream,
    env: NodeJS.ProcessEnv,
    private readonly lineEveryMs = 3000,
  ) {
    this.status = new ProgressLine(stream, env)
  }

  /** How often update() should be called. */
  get intervalMs(): number {
    return this.status.animate ? 100 : 250
  }

  update(s: ProgressSnapshot): void {
    if (this.status.animate) {
      this.status.redraw(progressBar(s))
    } else if (s.elapsedMs - this.lastLineAt >= this.lineEveryMs) {
      this.status.line(progressLine(s, s.ops - this.lastLineOps, s.elapsedMs - this.lastLineAt))
      this.lastLineAt = s.elapsedMs
      this.lastLineOps = s.ops
    }
  }

  done(): void {
    this.status.clear()
  }
}
