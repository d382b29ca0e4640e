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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {stdio: 'inherit'})
process.exit(r.status ?? 1)
