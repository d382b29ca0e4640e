#!/usr/bin/env node
// The one binary. `get` and `put` with plain arguments take a fast path that skips loading oclif
// (see src/cli/fast-path.ts); everything else, and anything the fast path does not understand,
// goes through oclif. No process.exit(): a large value written to a pipe must be flushed first.
const argv = process.argv.slice(2)
let handled = false
if (argv[0] === 'get' || argv[0] === 'put') {
  const {runFastPath} = await import('../dist/cli/fast-path.js')
  handled = await runFastPath(argv)
}
if (!handled) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
