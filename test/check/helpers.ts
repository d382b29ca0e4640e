// Shared by the end-to-end tests of `raftctl check`: one cluster in a fresh temp dir on free ports
// (initialised, not started: the first check starts it), the CLI run against it, and a destroy that
// stops every process it started (SIGCONT first, in case one is paused) even when a test failed.
import {execa} from 'execa'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {findBasePort} from '../helpers/ports.js'

const ROOT = resolve(import.meta.dirname, '../..')
const RUN_JS = join(ROOT, 'bin/run.js')

export interface Run {
  exitCode: number
  stdout: string
  stderr: string
}

type Verdict = {result: string; text: string}

/** The parts of `raftctl check --json` the tests read. */
export interface CheckDoc {
  verdict: string
  verdicts: {
    linearizability: Verdict
    liveness: Verdict & {windowsJudged: number; problems: {what: string; text: string}[]}
    durability: Verdict & {verified: number; lost: unknown[]}
  }
  history: string
  mutant: string | null
  unsafeStaleReads: boolean
  ops: Record<string, {ok: number; failed: number; indeterminate: number}> & {total: number}
  faults: Record<string, number> & {total: number}
  faultsEnabled: string[]
  nemesisErrors: string[]
  violation: unknown
  warnings: string[]
}

export class CheckCluster {
  private constructor(
    readonly dir: string,
    readonly basePort: number,
  ) {}

  static async create(nodes: number): Promise<CheckCluster> {
    const c = new CheckCluster(mkdtempSync(join(tmpdir(), 'raftctl-check-')), await findBasePort(nodes))
    const r = await c.cli(['init', '--nodes', String(nodes), '--base-port', String(c.basePort)])
    if (r.exitCode !== 0) throw new Error(`init failed: ${r.stderr}`)
    return c
  }

  async cli(args: string[], timeoutMs = 100_000): Promise<Run> {
    const r = await execa(process.execPath, [RUN_JS, ...args, '--dir', this.dir], {
      cwd: ROOT,
      reject: false,
      stdin: 'ignore',
      timeout: timeoutMs,
      env: {NO_COLOR: '1', RAFTCTL_DIR: ''},
      stripFinalNewline: false,
    })
    return {exitCode: r.exitCode ?? 124, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '')}
  }

  /** Stops everything the cluster started, then removes the directory. */
  async destroy(): Promise<void> {
    await this.cli(['resume'], 15_000).catch(() => undefined)
    await this.cli(['heal'], 15_000).catch(() => undefined)
    await this.cli(['stop', '--kill'], 20_000).catch(() => undefined)
    for (const entry of existsSync(this.dir) ? readdirSync(this.dir) : []) {
      if (!entry.startsWith('node-')) continue
      let pid: number
      try {
        pid = Number(readFileSync(join(this.dir, entry, 'replica.pid'), 'utf8').trim())
      } catch {
        continue
      }
      // Only a process that is really a replica of this directory.
      let cmdline = ''
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      } catch {
        continue
      }
      if (!cmdline.includes(this.dir)) continue
      for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
        try {
          process.kill(pid, sig)
        } catch {
          // Gone.
        }
      }
    }
    rmSync(this.dir, {recursive: true, force: true})
  }
}

export function historyLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}
