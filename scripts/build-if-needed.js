// Builds (tsc + oclif manifest) when dist/ or the manifest is missing or older than any source file.
// `npm test` runs this first so a fresh clone and an edited tree both test what they contain.
import {readdirSync, statSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {execSync} from 'node:child_process'

function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, {withFileTypes: true})) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

const manifest = 'oclif.manifest.json'
const stale =
  !existsSync('dist') ||
  !existsSync(manifest) ||
  statSync(manifest).mtimeMs < Math.max(newest('src'), statSync('package.json').mtimeMs, statSync('tsconfig.json').mtimeMs)
if (stale) {
  process.stderr.write('build-if-needed: building\n')
  execSync('npm run build', {stdio: 'inherit'})
}
