// An unknown command is a usage error like any other: one `Error:` line, a hint, exit 2.
import type {Hook} from '@oclif/core'
import {reportError} from '../cli/report.js'

const hook: Hook<'command_not_found'> = async function (opts) {
  const json = opts.argv?.includes('--json') ?? false
  reportError({message: `unknown command ${JSON.stringify(opts.id)}`, code: 'usage', exitCode: 2, hint: 'see raftctl --help'}, json)
  process.exit(2)
}

export default hook
