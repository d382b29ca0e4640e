// End-to-end harness: real replica processes on 127.0.0.1, driven only through the CLI
// (`node bin/run.js ...`). One fresh temp directory and one free port range per cluster; every
// process a cluster started is stopped (and SIGKILLed if need be) when the cluster is destroyed,
// also when a test fails. Poll helpers with deadlines instead of fixed sleeps.
import {execa} from 'execa'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {statusJson} from '../../src/cli/render.js'
import {loadCluster, readSecret} from '../../src/clusterdir/config.js'
import {clusterStatus} from '../../src/cluster/status.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const RUN_JS = path.join(ROOT, 'bin/run.js')

/** Default cluster timing (SPEC/DESIGN): election timeout 300 ms, heartbeat 50 ms. */
export const ELECTION_MS = 300
export const HEARTBEAT_MS = 50

export interface RunResult {
  exitCode: number
  stdout: string
  stderr: string
  durationMs: number
}

export interface RunOptions {
  /** Text piped to stdin (default: stdin is closed/ignored). */
  input?: string | Buffer
  /** Kill the CLI after this long (a hang is a failure, not a stuck test run). */
  timeoutMs?: number
  env?: Record<string, string>
  /** Do not append `--dir` (for commands that must not get it). */
  noDir?: boolean
}

/**
 * The CLI could not even load its modules: `dist/` is being rebuilt by someone else right now
 * (tsc writes file by file). Nothing ran, so running again is safe.
 */
function loadFailure(r: {exitCode?: number; stderr?: unknown}): boolean {
  return (
    r.exitCode !== 0 &&
    /SyntaxError: |ERR_MODULE_NOT_FOUND|Cannot find module|oclif\.manifest\.json/.test(String(r.stderr ?? '')) &&
    !/^Error: /m.test(String(r.stderr ?? ''))
  )
}

/** Runs the CLI once. Never throws on a non-zero exit; check `exitCode`. */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await runCliOnce(args, opts)
    if (!loadFailure(r) || attempt >= 4) return r
    process.stderr.write(
      `# harness: raftctl ${args[0]} failed to load (dist rebuilt concurrently?); retrying: ${r.stderr.split('\n').find((l) => l.trim()) ?? ''}\n`,
    )
    await sleep(3000)
  }
}

async function runCliOnce(args: string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now()
  const r = await execa(process.execPath, [RUN_JS, ...args], {
    cwd: ROOT,
    reject: false,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    timeout: opts.timeoutMs ?? 60_000,
    env: {NO_COLOR: '1', RAFTCTL_DIR: '', ...opts.env},
    extendEnv: true,
    stripFinalNewline: false,
  })
  return {
    exitCode: r.exitCode ?? (r.timedOut ? 124 : -1),
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    durationMs: performance.now() - started,
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

import {findBasePort} from '../helpers/ports.js'

export {findBasePort}

// ---------------------------------------------------------------------------------------------
// Polling

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Polls `fn` until it returns a truthy value (returned) or the deadline passes (throws, with the
 * last value or error in the message). Exceptions thrown by `fn` count as "not yet".
 */
export async function waitFor<T>(fn: () => Promise<T> | T, opts: {timeoutMs?: number; intervalMs?: number; what?: string} = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 15_000
  const intervalMs = opts.intervalMs ?? 100
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v as NonNullable<T>
      last = v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}; last: ${detail}`)
    }
    await sleep(intervalMs)
  }
}

// ---------------------------------------------------------------------------------------------
// Status documents (SPEC `status --json`)

export interface NodeJson {
  id: number
  address: string
  pid: number | null
  up: boolean
  role: 'leader' | 'follower' | 'candidate' | 'pre-candidate' | 'paused' | 'down'
  term: number | null
  leader: number | null
  lastIndex: number | null
  commitIndex: number | null
  appliedIndex: number | null
  lag?: number | null
  group: number | null
  rssBytes?: number | null
}

export interface StatusJson {
  leader: number | null
  term: number | null
  nodes: NodeJson[]
  partition?: {groups: number[][]} | null
}

export type Settled = StatusJson & {leader: number; term: number}

/** All nodes up, following one leader in one term, each having applied the leader's commit index. */
export function settled(s: StatusJson): s is Settled {
  if (s.leader === null) return false
  const l = s.nodes.find((n) => n.id === s.leader)
  return !!l && s.nodes.every((n) => n.up && n.leader === s.leader && n.term === s.term && n.appliedIndex === l.commitIndex)
}

/** Is `pid` a live process (a zombie counts as gone)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** Pids of replica processes whose command line names `dir` (found through /proc). */
export function replicaPidsFor(dir: string): number[] {
  const out: number[] = []
  let entries: string[] = []
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return out
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    try {
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0')
      if (!argv.some((a) => a === 'replica' || a.endsWith('replica-main.js'))) continue
      const i = argv.indexOf('--dir')
      if (i >= 0 && argv[i + 1] === dir) out.push(Number(e))
    } catch {
      // Gone.
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Clusters

const live = new Set<Cluster>()

export class Cluster {
  readonly dir: string
  /** Set by `start`/`init` (after `findBasePort`). */
  basePort = 0

  constructor(readonly nodes = 3) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-e2e-'))
    live.add(this)
  }

  /** A new cluster directory with its nodes started and a leader elected. */
  static async start(nodes = 3): Promise<Cluster> {
    const c = new Cluster(nodes)
    const r = await c.startAll()
    if (r.exitCode !== 0) {
      await c.destroy()
      throw new Error(`raftctl start failed (${r.exitCode}): ${r.stderr}${r.stdout}`)
    }
    return c
  }

  /** `raftctl start --nodes N --base-port P` on this (possibly empty) directory. */
  async startAll(extra: string[] = []): Promise<RunResult> {
    if (this.basePort === 0) this.basePort = await findBasePort(this.nodes)
    return this.run(['start', '--nodes', String(this.nodes), '--base-port', String(this.basePort), '--timeout', '20s', ...extra])
  }

  get ids(): number[] {
    return Array.from({length: this.nodes}, (_, i) => i + 1)
  }

  run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runCli(opts.noDir ? args : [...args, '--dir', this.dir], opts)
  }

  /** Runs with `--json`; asserts exit 0 and parses stdout as exactly one JSON document. */
  async json<T = any>(args: string[], opts: RunOptions = {}): Promise<T> {
    const r = await this.run([...args, '--json'], opts)
    if (r.exitCode !== 0) throw new Error(`raftctl ${args.join(' ')} --json exited ${r.exitCode}: ${r.stdout}${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }

  /** `raftctl status --json` (the contract). */
  status(): Promise<StatusJson> {
    return this.json<StatusJson>(['status'])
  }

  /**
   * The same document computed in this process (the code behind `status --json`, without the
   * cost of starting the CLI): for tight polling only; poll() confirms with the real CLI.
   */
  async peek(): Promise<StatusJson> {
    const config = loadCluster(this.dir)
    const s = await clusterStatus(this.dir, config, readSecret(this.dir), 500)
    return statusJson(s) as StatusJson
  }

  /** The top-level `leader` of `status --json`. */
  async leader(): Promise<number | null> {
    return (await this.status()).leader
  }

  /**
   * Polls until `cond` holds: cheaply in-process, then confirmed by `raftctl status --json`, whose
   * document is returned.
   */
  async poll<S extends StatusJson = StatusJson>(cond: (s: StatusJson) => boolean, opts: {timeoutMs?: number; what?: string} = {}): Promise<S> {
    let last: StatusJson | null = null
    return waitFor(
      async () => {
        last = await this.peek().catch(() => null)
        if (!last || !cond(last)) return null
        last = await this.status()
        return cond(last) ? (last as S) : null
      },
      {timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 50, what: opts.what ?? 'status condition'},
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nlast status: ${JSON.stringify(last)}`)
    })
  }

  /**
   * Waits until the up nodes agree on a leader (not in `excluding`, of at least `minTerm`) and,
   * with `allUp`, every node is up and names it. Returns that status.
   */
  waitForLeader(excluding: number[] = [], opts: {timeoutMs?: number; allUp?: boolean; minTerm?: number} = {}): Promise<Settled> {
    return this.poll<Settled>(
      (s) =>
        s.leader !== null &&
        !excluding.includes(s.leader) &&
        (opts.minTerm === undefined || (s.term ?? 0) >= opts.minTerm) &&
        (!opts.allUp || s.nodes.every((n) => n.up && n.leader === s.leader && n.term === s.term)),
      {timeoutMs: opts.timeoutMs, what: `a leader${excluding.length ? ` other than ${excluding}` : ''}${opts.minTerm ? ` of term >= ${opts.minTerm}` : ''}`},
    )
  }

  /** Every node up, all agreeing on one leader and term, every node caught up with the leader. */
  waitForSettled(timeoutMs = 20_000): Promise<Settled> {
    return this.poll<Settled>((s) => settled(s), {timeoutMs, what: 'all nodes up, following one leader and caught up'})
  }

  /** Heals and restarts whatever is down, then waits for a settled cluster (test hygiene). */
  async restore(): Promise<Settled> {
    const s = await this.peek().catch(() => null)
    if (s && !s.partition && settled(s)) return this.waitForSettled()
    if (!s || s.partition) await this.run(['heal'])
    if (!s || s.nodes.some((n) => !n.up)) await this.run(['start', '--timeout', '20s'])
    return this.waitForSettled()
  }

  pidFiles(): number[] {
    const pids: number[] = []
    let entries: string[] = []
    try {
      entries = fs.readdirSync(this.dir)
    } catch {
      return pids
    }
    for (const e of entries) {
      if (!/^node-\d+$/.test(e)) continue
      try {
        const pid = Number(fs.readFileSync(path.join(this.dir, e, 'replica.pid'), 'utf8').trim())
        if (Number.isSafeInteger(pid) && pid > 0) pids.push(pid)
      } catch {
        // No pid file.
      }
    }
    return pids
  }

  nodeLog(id: number): string {
    try {
      return fs.readFileSync(path.join(this.dir, `node-${id}`, 'replica.log'), 'utf8')
    } catch {
      return ''
    }
  }

  /** Stops every process of this cluster (stop --kill, then SIGKILL stragglers) and removes the dir. */
  async destroy(): Promise<void> {
    if (!live.has(this)) return
    try {
      if (fs.existsSync(path.join(this.dir, 'cluster.json'))) await this.run(['stop', '--kill'], {timeoutMs: 30_000}).catch(() => {})
    } finally {
      killLeftovers(this)
      live.delete(this)
      fs.rmSync(this.dir, {recursive: true, force: true})
    }
  }
}

function killLeftovers(c: Cluster): void {
  for (const pid of new Set([...c.pidFiles(), ...replicaPidsFor(c.dir)])) {
    if (!pidAlive(pid)) continue
    // Only our own replicas: the pid file could name a recycled pid.
    if (!replicaPidsFor(c.dir).includes(pid)) continue
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Gone.
    }
  }
}

// Last resort if a test file dies without running its `after` hooks.
process.on('exit', () => {
  for (const c of live) {
    killLeftovers(c)
    try {
      fs.rmSync(c.dir, {recursive: true, force: true})
    } catch {
      // Best effort.
    }
  }
})

// ---------------------------------------------------------------------------------------------
// Assertions on the CLI's error contract

/** Lines of stderr that look like a stack trace frame. */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at /.test(l))
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
