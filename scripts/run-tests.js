// `npm test`: every test file under test/ (Node 20's runner does not find .ts files by itself),
// through Node's own runner with tsx, after the formatter and the linter (`npm run lint`). Extra
// arguments narrow the run to those tests, without the lint: `npm test -- test/core`.
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'

function find(path) {
  if (statSync(path).isFile()) return /\.test\.tsx?$/.test(path) ? [path] : []
  return readdirSync(path)
    .sort()
    .flatMap((name) => find(join(path, name)))
}

const roots = process.argv.slice(2)
const files = (roots.length > 0 ? roots : ['test']).flatMap(find)
if (files.length === 0) {
  console.error('run-tests: no test files found')
  process.exit(1)
}
if (roots.length === 0) {
  const lint = spawnSync('npm', ['run', '-s', 'lint'], {stdio: 'inherit'})
  if (lint.status !== 0) {
    console.error('run-tests: `npm run lint` failed (`npm run format` fixes what it can)')
    process.exit(lint.status ?? 1)
  }
}
// Two files at a time (Node's default on 2 cores is one): the suite spends most of its time waiting
// on real clusters (elections, timeouts, polls), not on the CPU, so two halve its wall time here.
// Every test file uses its own ports and directories. RAFTCTL_TEST_CONCURRENCY=1 runs them in turn.
const concurrency = Number(process.env.RAFTCTL_TEST_CONCURRENCY ?? 2)
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`run-tests: RAFTCTL_TEST_CONCURRENCY must be a positive integer, got ${process.env.RAFTCTL_TEST_CONCURRENCY}`)
  process.exit(2)
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {stdio: 'inherit'})
process.exit(r.status ?? 1)
