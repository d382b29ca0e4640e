// Ink and React cost most of a second to load: only `status --watch` in a terminal may load them.
// Runs the built CLI with a module-resolution hook that reports every module under ink/, react/ or
// src/ui/ it resolves, for the one-shot commands and the non-terminal watch.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const RUN_JS = path.join(ROOT, 'bin/run.js')

test('one-shot commands (and a watch without a terminal) never load Ink, React or the dashboard', {timeout: 60_000}, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'raftctl-lazy-'))
  try {
    const hooks = path.join(tmp, 'hooks.mjs')
    writeFileSync(
      hooks,
      `export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx)
  if (/node_modules\\/(ink|react)\\/|\\/dist\\/ui\\//.test(r.url)) process.stderr.write('LOADED ' + r.url + '\\n')
  return r
}\n`,
    )
    const register = path.join(tmp, 'register.mjs')
    writeFileSync(register, `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
    const dir = path.join(tmp, 'no-cluster-here')
    const commands = [['status'], ['status', '--json'], ['status', '--watch'], ['get', 'k'], ['put', 'k', 'v'], ['partition'], ['stop']]
    for (const args of commands) {
      const {stdout, stderr} = await new Promise<{stdout: string; stderr: string}>((resolve) => {
        const child = execFile(process.execPath, ['--import', register, RUN_JS, ...args, '--dir', dir], {cwd: ROOT, timeout: 20_000}, (_e, out, err) =>
          resolve({stdout: String(out), stderr: String(err)}),
        )
        child.stdin?.end()
      })
      assert.doesNotMatch(stderr, /LOADED/, `raftctl ${args.join(' ')} loaded:\n${stderr}`)
      // The command really ran (and failed for want of a cluster, on stderr or as --json on stdout).
      assert.match(stdout + stderr, /no cluster in/, `raftctl ${args.join(' ')} did not run as expected:\n${stdout}${stderr}`)
    }
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
})
