// Typed errors at the CLI edge. Each carries the exit code of SPEC.md and an optional hint line;
// the base command maps them to `Error: ...` / `Hint: ...` on stderr or a JSON error document.

export const ExitCode = {
  ok: 0,
  operational: 1,
  usage: 2,
  notFound: 3,
  unavailable: 4,
  compareFailed: 5,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly code: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, ExitCode.usage, 'usage', hint)
export const operationalError = (message: string, hint?: string, code = 'operational') => new CliError(message, ExitCode.operational, code, hint)
