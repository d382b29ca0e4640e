// `npm test`: every test file under test/ (Node 20's runner does not find .ts files by itself),
// through Node's own runner with tsx. Extra arguments narrow the run: `npm test -- test/core`.
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'

function find(path) {
  if (statSync(path).isFile()) return /\.test\.tsx?$/.test(path) ? [path] : []
  return readdirSync(path).sort().flatMap((name) => find(join(path, name)))
}

const roots = process.argv.slice(2)
const files = (roots.length > 0 ? roots : ['test']).flatMap(find)
if (files.length === 0) {
  console.error('run-tests: no test files found')
  process.exit(1)
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {stdio: 'inherit'})
process.exit(r.status ?? 1)
