// The fast path of the one-shot `get` and `put`: scripts call them in loops, so they skip oclif
// (about 0.15 s of start-up CPU) when the arguments are plainly well-formed. Anything this parser
// does not fully understand — help, unknown or malformed flags, a missing or extra argument, a
// key or value that starts with "-" — returns false, and oclif runs the command as usual (and
// reports any usage error). The work itself is the same code the oclif commands call.
import {parseDuration} from '../lib/duration.js'
import {getValue, putValue} from './kv.js'
import {classifyPlain, printJson, reportError} from './report.js'

interface Parsed {
  positionals: string[]
  dir?: string
  json: boolean
  stale: boolean
  timeoutMs: number
  node?: string
}

function parse(args: string[], allowStale: boolean): Parsed | null {
  const p: Parsed = {positionals: [], json: false, stale: false, timeoutMs: 5000}
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (!a.startsWith('-') || a === '-') {
      p.positionals.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = eq > 0 ? a.slice(0, eq) : a
    const inline = eq > 0 ? a.slice(eq + 1) : undefined
    const value = () => (inline !== undefined ? inline : args[++i])
    switch (name) {
      case '--json':
        if (inline !== undefined) return null
        p.json = true
        break
      case '--stale':
        if (!allowStale || inline !== undefined) return null
        p.stale = true
        break
      case '--dir': {
        const v = value()
        if (v === undefined || v.startsWith('-')) return null
        p.dir = v
        break
      }
      case '--node': {
        const v = value()
        if (v === undefined || !/^\d+$/.test(v)) return null
        p.node = v
        break
      }
      case '--timeout': {
        const v = value()
        const d = v === undefined ? null : parseDuration(v)
        // Anything oclif would refuse (no unit, zero) is left to oclif to report.
        if (!d?.ok || d.ms < 1) return null
        p.timeoutMs = d.ms
        break
      }
      default:
        return null
    }
  }
  return p
}

/** Runs `get`/`put` without oclif if the arguments allow; returns false to fall back. */
export async function runFastPath(argv: string[]): Promise<boolean> {
  const [command, ...rest] = argv
  if (command !== 'get' && command !== 'put') return false
  const p = parse(rest, command === 'get')
  if (!p || p.positionals.length !== (command === 'get' ? 1 : 2)) return false
  try {
    if (command === 'get') {
      const out = await getValue(p.dir, p.positionals[0]!, {stale: p.stale, timeoutMs: p.timeoutMs, node: p.node})
      if (p.json) printJson(out)
      else process.stdout.write(out.value + '\n')
    } else {
      const out = await putValue(p.dir, p.positionals[0]!, p.positionals[1]!, {timeoutMs: p.timeoutMs, node: p.node})
      if (p.json) printJson(out)
      else process.stdout.write('OK\n')
    }
  } catch (err) {
    reportError(classifyPlain(err), p.json)
  }
  return true
}
