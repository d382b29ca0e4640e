// Base command: --json and --dir on every command, and the one place where an error becomes an
// exit code, a one-line message (plus hint) on stderr, or a JSON error document on stdout.
import {Command, Errors, Flags, Interfaces} from '@oclif/core'
import {CliError, ExitCode, usageError} from '../lib/errors.js'
import {classifyPlain, oneLine, reportError, type Classified} from './report.js'

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

  /** Before oclif parses: refuse what its parser would quietly turn into data (see malformedFlag). */
  override async init(): Promise<void> {
    const ctor = this.constructor as typeof BaseCommand
    const problem = malformedFlag(this.argv, {...ctor.baseFlags, ...ctor.flags})
    if (problem) throw usageError(problem, 'see --help')
    await super.init()
  }

  protected override toErrorJson(err: unknown): unknown {
    const e = classify(err)
    return {error: {code: e.code, message: e.message}}
  }

  protected override async catch(err: Interfaces.CommandError): Promise<unknown> {
    const e = classify(err)
    reportError(e, this.jsonMode())
    // Exit without oclif printing anything more (it would print the error a second time).
    throw new Errors.ExitError(e.exitCode)
  }
}

/**
 * A switch given a value (`--json=1`, `--stale=yes`, `--no-wait=0`): oclif's parser takes the
 * value for a positional argument, so `put k --json=1` would store "1". Arguments after `--` are
 * data and not looked at.
 */
export function malformedFlag(argv: readonly string[], flags: Record<string, {type?: string; allowNo?: boolean}>): string | null {
  const switches = new Set(['json'])
  for (const [name, f] of Object.entries(flags)) {
    if (f?.type !== 'boolean') continue
    switches.add(name)
    if (f.allowNo) switches.add(`no-${name}`)
  }
  for (const a of argv) {
    if (a === '--') break
    const m = /^--([^=]+)=/.exec(a)
    if (m && switches.has(m[1]!)) return `--${m[1]} takes no value, got ${JSON.stringify(a)}`
  }
  return null
}

function classify(err: unknown): Classified {
  if (err instanceof CliError) return classifyPlain(err)
  if (err instanceof Errors.ExitError) return {message: err.message, code: 'exit', exitCode: err.oclif.exit ?? 1}
  const anyErr = err as {message?: string; oclif?: {exit?: number}; name?: string}
  const message = oneLine(anyErr?.message ?? String(err))
  // oclif's parser errors (unknown flag, missing argument, bad flag value) are usage errors.
  if (anyErr?.oclif?.exit === 2 || /Parse|Flag|Arg|Unexpected argument|Missing/.test(anyErr?.name ?? '')) {
    return {message, code: 'usage', exitCode: ExitCode.usage, hint: 'see --help'}
  }
  return classifyPlain(err)
}
