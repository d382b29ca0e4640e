// The live dashboard as a person sees it: a real 3-node cluster, `raftctl status --watch` in an
// 80×24 tmux pane, a node killed and one paused from another shell, the pane shrunk to 60×20, `q`
// to quit; then the NDJSON stream in a terminal, quit with `q` too. Needs tmux (CI installs it)
// and a built dist/ (`npm test` builds it first). Cleans up everything it started, also on failure.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execFile, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {findBasePort} from '../helpers/ports.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const RUN_JS = path.join(ROOT, 'bin/run.js')
const tmuxMissing = spawnSync('tmux', ['-V'], {encoding: 'utf8'}).error !== undefined

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(cmd, args, {cwd: ROOT, timeout: timeoutMs, encoding: 'utf8'}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** The exit status the pane's shell wrote to `file` once the program exited (null if it did not within 10 s). */
async function exitStatus(file: string): Promise<string | null> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    // An empty file is a write in progress.
    const status = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
    if (status !== '') return status
    await sleep(50)
  }
  return null
}

function pidsOf(dir: string): number[] {
  if (!existsSync(dir)) return []
  const pids: number[] = []
  for (const e of readdirSync(dir)) {
    if (!/^node-\d+$/.test(e)) continue
    try {
      const pid = Number(readFileSync(path.join(dir, e, 'replica.pid'), 'utf8').trim())
      if (Number.isSafeInteger(pid) && pid > 0) pids.push(pid)
    } catch {
      // No pid file: not running.
    }
  }
  return pids
}

test(
  'status --watch in a tmux pane: the leader, a killed node down, a paused one paused, 60x20 degrades, q quits (also the NDJSON stream)',
  {
    skip: tmuxMissing ? 'tmux is not installed (CI installs it via .ci/run)' : false,
    timeout: 120_000,
  },
  async (t) => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'raftctl-dash-'))
    const dir = path.join(tmp, 'cluster')
    // A private tmux server (its socket in the temp dir): the user's own tmux is never touched, and
    // kill-server plus removing the temp dir leaves nothing behind.
    const socket = path.join(tmp, 'tmux.sock')
    const session = 'dash'
    const tmux = (...args: string[]) => run('tmux', ['-S', socket, '-f', '/dev/null', ...args], 10_000)
    const screen = async (target = session) => (await tmux('capture-pane', '-p', '-t', target)).stdout
    let last = ''
    const waitForScreen = async (what: string, re: RegExp, timeoutMs: number, target = session): Promise<number> => {
      const started = Date.now()
      while (Date.now() - started < timeoutMs) {
        last = await screen(target)
        if (re.test(last)) return Date.now() - started
        await sleep(100)
      }
      assert.fail(`the dashboard did not show ${what} within ${timeoutMs} ms; last screen:\n${last}`)
    }
    const startedPids: number[] = []
    try {
      const base = await findBasePort(3)
      const start = await run(process.execPath, [RUN_JS, 'start', '--nodes', '3', '--dir', dir, '--base-port', String(base)], 60_000)
      startedPids.push(...pidsOf(dir))
      assert.equal(start.code, 0, `start failed: ${start.stderr}`)

      // The pane runs a shell that records the dashboard's exit status in a file, the way the program
      // itself reports it, instead of asking tmux (which may mark the pane dead before it has reaped
      // the process and learnt its status).
      const exitFile = path.join(tmp, 'exit-status')
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(RUN_JS)} status --watch --dir ${JSON.stringify(dir)}; echo $? > ${JSON.stringify(exitFile)}`
      const created = await tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', '-c', ROOT, cmd)
      assert.equal(created.code, 0, `tmux new-session failed: ${created.stderr}`)
      // Keep the pane after the shell exits, to read the restored screen.
      await tmux('set-option', '-t', session, 'remain-on-exit', 'on')

      await waitForScreen('the leader', /leader node [123] {3}term \d+/, 20_000)
      assert.match(last, /^\s*›?\s+1 (leader|follower)/m)
      assert.match(last, /^\s*›?\s+2 (leader|follower)/m)
      assert.match(last, /^\s*›?\s+3 (leader|follower)/m)
      assert.match(last, /q quit/)
      for (const line of last.split('\n')) assert.ok([...line].length <= 80, `wider than 80: ${line}`)

      const stop = await run(process.execPath, [RUN_JS, 'stop', '2', '--kill', '--dir', dir])
      assert.equal(stop.code, 0, `stop 2 --kill failed: ${stop.stderr}`)
      const tookMs = await waitForScreen('node 2 down', /^\s*›?\s+2 down\b[\s\S]*down: node 2\b/m, 5_000)
      t.diagnostic(`node 2 shown down ${tookMs} ms after stop --kill returned`)
      assert.match(last, /node 2 down \(was (leader|follower)\)/, 'the feed says node 2 went down')

      // A paused node is shown paused, not down.
      assert.equal((await run(process.execPath, [RUN_JS, 'pause', '3', '--dir', dir])).code, 0, 'pause 3')
      await waitForScreen('node 3 paused', /^\s*›?\s+3 paused\b[\s\S]*paused: node 3\b/m, 5_000)
      assert.equal((await run(process.execPath, [RUN_JS, 'resume', '3', '--dir', dir])).code, 0, 'resume 3')

      // 60x20: the columns that fit, the short header (its rate names its window) and footer.
      await tmux('resize-window', '-t', session, '-x', '60', '-y', '20')
      await waitForScreen('the 60-column layout', /^leader \S+ {2}term \d+ {2}commit \d+ {2}\S+\/s \(5s\)/m, 5_000)
      for (const line of last.split('\n')) assert.ok([...line].length <= 60, `wider than 60: ${line}`)
      assert.match(last, /^ {2}ID ROLE +TERM +COMMIT +APPLIED +LAG +GROUP$/m)
      assert.match(last, /q quit\s*$/m)

      await tmux('send-keys', '-t', session, 'q')
      assert.equal(await exitStatus(exitFile), '0', 'the dashboard exits 0 after q')
      const after = await screen()
      assert.doesNotMatch(after, /q quit/, `the terminal was not given back (alternate screen left):\n${after}`)

      // The NDJSON stream in a terminal quits on q too.
      const ndjsonExit = path.join(tmp, 'exit-status-ndjson')
      const ndjson = `${JSON.stringify(process.execPath)} ${JSON.stringify(RUN_JS)} status --watch --json --interval 300ms --dir ${JSON.stringify(dir)}; echo $? > ${JSON.stringify(ndjsonExit)}`
      assert.equal((await tmux('new-session', '-d', '-s', 'ndjson', '-x', '80', '-y', '24', '-c', ROOT, ndjson)).code, 0)
      await tmux('set-option', '-t', 'ndjson', 'remain-on-exit', 'on')
      await waitForScreen('NDJSON lines', /^\{"leader":/m, 20_000, 'ndjson')
      await tmux('send-keys', '-t', 'ndjson', 'q')
      assert.equal(await exitStatus(ndjsonExit), '0', 'status --watch --json in a terminal exits 0 after q')
    } finally {
      await tmux('kill-server')
      if (existsSync(dir)) await run(process.execPath, [RUN_JS, 'stop', '--kill', '--dir', dir])
      for (const pid of new Set([...startedPids, ...pidsOf(dir)])) {
        try {
          // Only our replicas: a pid of a replica that already exited may belong to someone else now.
          if (existsSync('/proc/self') && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) continue
          process.kill(pid, 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
      rmSync(tmp, {recursive: true, force: true})
    }
  },
)
