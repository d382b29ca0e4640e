// Base command: --json and --dir on every command, and the one place where an error becomes an
// exit code, a one-line message (plus hint) on stderr, or a JSON error document on stdout.
import {Command, Errors, Flags, Interfaces} from '@oclif/core'
import {CliError, ExitCode} from '../lib/errors.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    dir: Flags.string({
      description: 'cluster directory (default: $RAFTCTL_DIR, else ./.raftctl)',
      helpGroup: 'GLOBAL',
    }),
  }

  protected jsonMode(): boolean {
    return this.argv.includes('--json')
  }

  protected override toErrorJson(err: unknown): unknown {
    const e = classify(err)
    return {error: {code: e.code, message: e.message}}
  }

  protected override async catch(err: Interfaces.CommandError): Promise<unknown> {
    const e = classify(err)
    if (this.jsonMode()) {
      process.stdout.write(JSON.stringify({error: {code: e.code, message: e.message}}) + '\n')
    } else {
      process.stderr.write(`Error: ${e.message}\n`)
      if (e.hint) process.stderr.write(`Hint: ${e.hint}\n`)
    }
    process.exitCode = e.exitCode
    // Exit without oclif printing anything more (it would print the error a second time).
    throw new Errors.ExitError(e.exitCode)
  }
}

interface Classified {
  message: string
  code: string
  exitCode: number
  hint?: string
}

function classify(err: unknown): Classified {
  if (err instanceof CliError) return {message: err.message, code: err.code, exitCode: err.exitCode, hint: err.hint}
  if (err instanceof Errors.ExitError) return {message: err.message, code: 'exit', exitCode: err.oclif.exit ?? 1}
  const anyErr = err as {message?: string; oclif?: {exit?: number}; name?: string}
  const message = firstLine(anyErr?.message ?? String(err))
  // oclif's parser errors (unknown flag, missing argument, bad flag value) are usage errors.
  if (anyErr?.oclif?.exit === 2 || /Parse|Flag|Arg|Unexpected argument|Missing/.test(anyErr?.name ?? '')) {
    return {message, code: 'usage', exitCode: ExitCode.usage, hint: 'see --help'}
  }
  return {message, code: 'internal', exitCode: ExitCode.operational}
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s
  return line.trim()
}
