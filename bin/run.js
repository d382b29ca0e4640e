#!/usr/bin/env node
// The one binary. `get` and `put` with plain arguments take a fast path that skips loading oclif
// (see src/cli/fast-path.ts); everything else, and anything the fast path does not understand,
// goes through oclif.
const argv = process.argv.slice(2)
if (argv[0] === 'get' || argv[0] === 'put') {
  const {runFastPath} = await import('../dist/cli/fast-path.js')
  if (await runFastPath(argv)) process.exit()
}
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
