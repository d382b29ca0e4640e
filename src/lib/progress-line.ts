// One progress line on a stream (stderr), for check's counter and bench's bar: on a terminal
// without NO_COLOR/CI (terminal.ts) it is redrawn in place and cleared before a line that stays
// and at the end; elsewhere nothing is redrawn, and the callers print plain lines now and then.
import {animationEnabled} from './terminal.js'

export interface LineStream {
  isTTY?: boolean
  write(text: string): unknown
}

export class ProgressLine {
  /** Redrawn in place; else redraw() writes nothing and callers print plain lines instead. */
  readonly animate: boolean
  private shown = false

  constructor(
    private readonly stream: LineStream,
    env: NodeJS.ProcessEnv,
  ) {
    this.animate = animationEnabled(stream, env)
  }

  /**
   * The line, now `text`, redrawn in place (only when animating): the new text over the old,
   * then what is left of the old erased, so the line never blanks between two draws.
   */
  redraw(text: string): void {
    if (!this.animate) return
    this.stream.write(`\r${text}\x1b[K`)
    this.shown = true
  }

  /** A line that stays: the progress line is cleared first. */
  line(text: string): void {
    this.clear()
    this.stream.write(text + '\n')
  }

  /** Clears the progress line if it is shown (at the end, or before other output). */
  clear(): void {
    if (!this.shown) return
    this.stream.write('\r\x1b[K')
    this.shown = false
  }
}
