// How an error reaches the user: one `Error:` line (plus a `Hint:` line) on stderr, or with
// --json a `{"error": {code, message}}` document on stdout; and the exit code. Shared by the
// oclif base command and the fast path of the one-shot commands, so both speak alike.
import {CliError, ExitCode} from '../lib/errors.js'

export interface Classified {
  message: string
  code: string
  exitCode: number
  hint?: string
}

export function reportError(e: Classified, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({error: {code: e.code, message: e.message}}) + '\n')
  } else {
    process.stderr.write(`Error: ${e.message}\n`)
    if (e.hint) process.stderr.write(`Hint: ${e.hint}\n`)
  }
  process.exitCode = e.exitCode
}

/** A CliError as it is; anything else is an operational error with its first line. */
export function classifyPlain(err: unknown): Classified {
  // (oclif prefixes a flag parser's error with "Parsing --flag" on a line of its own.)
  if (err instanceof CliError) return {message: oneLine(err.message), code: err.code, exitCode: err.exitCode, hint: err.hint}
  const message = oneLine(String((err as {message?: unknown})?.message ?? err))
  return {message, code: 'internal', exitCode: ExitCode.operational}
}

/** A command's --json result: one document on stdout. */
export function printJson(doc: unknown): void {
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n')
}

/**
 * oclif's parser messages span lines ("Parsing --timeout\n\t--timeout: bad value\nSee more help
 * with --help", "Missing 1 required arg:\nkey  the key\n..."): make them one line that keeps the
 * substance.
 */
export function oneLine(s: string): string {
  const lines = s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^See more help/.test(l))
  if (lines.length === 0) return s.trim()
  if (/^Parsing --\S+$/.test(lines[0]!) && lines[1]) return lines[1]
  if (/^Missing \d+ required args?:$/.test(lines[0]!)) {
    const names = lines
      .slice(1)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean)
    return `${lines[0]} ${names.join(', ')}`.trim()
  }
  return lines[0]!
}
