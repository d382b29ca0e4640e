// When a long-running view (`status --watch`) stops because of stdin. A terminal's `q` or Ctrl-C
// quits; so does a stdin that closes later (the other end of a pipe went away). A stdin that is at
// its end from the start — /dev/null, an empty file, a pipe already closed (nohup, `cmd &`, CI) —
// says nothing, and the view runs until it is killed, as `tail -f` and `kubectl get -w` do.
import {fstatSync, statSync} from 'node:fs'

/** /dev/null or a regular file: always at its end, so it never "closes". */
function endedFromTheStart(): boolean {
  try {
    const st = fstatSync(0)
    if (st.isFile()) return true
    if (st.isCharacterDevice()) {
      const devNull = statSync('/dev/null')
      return st.rdev === devNull.rdev
    }
    return false
  } catch {
    // No stdin at all (closed descriptor).
    return true
  }
}

/**
 * Calls `quit` on the keys of a terminal stdin (`q`, Ctrl-C), or when a piped stdin closes after
 * `started()` became true (the first screen or document is out: an end before that was there from
 * the start). Returns a function that stops listening and gives the terminal back.
 */
export function quitOnStdin(quit: () => void, started: () => boolean, opts: {keys: boolean} = {keys: true}): () => void {
  const stdin = process.stdin
  if (stdin.isTTY) {
    if (!opts.keys) return () => {}
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8')
      if (text.includes('q') || text.includes('\x03')) quit()
    }
    stdin.setRawMode(true)
    stdin.on('data', onData)
    stdin.resume()
    return () => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
    }
  }
  if (endedFromTheStart()) return () => {}
  const onEnd = () => {
    if (started()) quit()
  }
  stdin.on('end', onEnd).on('close', onEnd).on('error', onEnd)
  stdin.resume()
  return () => {
    stdin.off('end', onEnd).off('close', onEnd).off('error', onEnd)
    stdin.pause()
  }
}
