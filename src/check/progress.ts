// Progress of `raftctl check` on stderr: a line per nemesis action and a periodic counter. In a
// terminal (and without NO_COLOR/CI) the counter is one line rewritten in place; elsewhere it is a
// plain line every few seconds, so logs and CI output stay readable.
import {ProgressLine} from '../lib/progress-line.js'
import {OUTCOMES, type Counts, type Outcome} from './history.js'

export interface ProgressOptions {
  stream: NodeJS.WriteStream
  env: NodeJS.ProcessEnv
}

/** No animation when the stream is not a terminal, or NO_COLOR / CI is set. */
import {animationEnabled} from '../lib/terminal.js'
export {animationEnabled}

export function stamp(ms: number): string {
  return `[${(ms / 1000).toFixed(1).padStart(5)}s]`
}

export function counterText(counts: Counts, faults: number): string {
  const sum = (o: Outcome) => Object.values(counts).reduce((n, c) => n + c[o], 0)
  const total = OUTCOMES.reduce((n, o) => n + sum(o), 0)
  return `ops ${total}: ${sum('ok')} ok, ${sum('refused')} cas refused, ${sum('failed')} failed, ${sum('indeterminate')} indeterminate; faults ${faults}`
}

export class Progress {
  private readonly status: ProgressLine
  private timer: NodeJS.Timeout | null = null

  constructor(o: ProgressOptions) {
    this.status = new ProgressLine(o.stream, o.env)
  }

  /** A line that stays (nemesis actions, phases). */
  line(text: string): void {
    this.status.line(text)
  }

  /** Starts the periodic counter: in place every 250 ms in a terminal, else a line every 2 s. */
  startCounter(clock: () => number, text: () => string): void {
    this.stopCounter()
    const intervalMs = this.status.animate ? 250 : 2000
    this.timer = setInterval(() => {
      const t = `${stamp(clock())} ${text()}`
      if (this.status.animate) this.status.redraw(t)
      else this.status.line(t)
    }, intervalMs)
    this.timer.unref()
  }

  stopCounter(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.status.clear()
  }
}
