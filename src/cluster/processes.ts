// Replica processes: spawning them detached (execa) so they outlive the CLI, pid files, liveness
// (pid alive and really our replica, not a recycled pid), and stopping (SIGTERM with escalation
// to SIGKILL, or SIGKILL at once for a crash). Stop returns only when the processes are gone.
import {closeSync, existsSync, openSync, readFileSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {execa, type Options} from 'execa'
import type {NodeId} from '../core/types.js'
import {nodeDir, paths} from './config.js'
import {mkdirSync} from 'node:fs'

// Through dist/ from both trees: a replica runs the built code also when this module runs from src/ (tsx).
const REPLICA_MAIN = fileURLToPath(new URL('../../dist/server/replica-main.js', import.meta.url))
/**
 * Node/V8 flags of a replica. Under load a replica allocates fast and mostly garbage: by default
 * V8 lets the young generation grow to 16 MB semi-spaces and the old generation to about twice
 * its live size before collecting, so a replica with 10 MB of live heap sat at 100–135 MB
 * resident. 1 MB semi-spaces, a 1.2× old-generation growth factor and one V8 helper thread
 * (instead of four, on machines where five replicas share a few cores) keep it near 70 MB, at the
 * same or better throughput (docs/benchmarks.md, "Memory"). RAFTCTL_NODE_FLAGS (space-separated)
 * replaces them, e.g. to profile replicas: RAFTCTL_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
export const DEFAULT_REPLICA_NODE_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=20', '--v8-pool-size=1']

export function replicaNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const custom = env.RAFTCTL_NODE_FLAGS
  return custom === undefined ? DEFAULT_REPLICA_NODE_FLAGS : custom.split(/\s+/).filter((f) => f !== '')
}

export function readPid(dir: string, id: NodeId): number | null {
  try {
    const pid = Number(readFileSync(paths.pid(dir, id), 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  // On Linux, make sure the pid was not recycled by some other program (or is a zombie).
  const cmdline = `/proc/${pid}/cmdline`
  if (existsSync('/proc/self/cmdline')) {
    try {
      const argv = readFileSync(cmdline, 'utf8').split('\0')
      return argv.some((a) => a === 'replica' || a.endsWith('replica-main.js'))
    } catch {
      return false
    }
  }
  return true
}

/** The pid of node `id` if its replica process runs. */
export function runningPid(dir: string, id: NodeId): number | null {
  const pid = readPid(dir, id)
  return pid !== null && isAlive(pid) ? pid : null
}

export interface SpawnOptions {
  unsafeStaleReads?: boolean
}

/** Starts node `id` as a detached background process; returns its pid. */
export function spawnReplica(dir: string, id: NodeId, opts: SpawnOptions = {}): number {
  mkdirSync(nodeDir(dir, id), {recursive: true})
  // The child gets the log file's descriptor itself (not a pipe through this short-lived CLI).
  const logFd = openSync(paths.log(dir, id), 'a')
  try {
    const args = [...replicaNodeFlags(), REPLICA_MAIN, '--dir', dir, '--id', String(id)]
    if (opts.unsafeStaleReads) args.push('--unsafe-stale-reads')
    const options: Options = {
      detached: true,
      // execa's types only list literal descriptors; it passes any number through to spawn.
      stdio: ['ignore', logFd as 1, logFd as 2],
      reject: false,
      env: {NODE_OPTIONS: '', RAFTCTL_TRACE: process.env.RAFTCTL_TRACE ?? ''},
    }
    const child = execa(process.execPath, args, options)
    child.catch(() => {})
    child.unref()
    if (child.pid === undefined) throw new Error(`could not spawn node ${id}`)
    return child.pid
  } finally {
    closeSync(logFd)
  }
}

export function removePidFile(dir: string, id: NodeId): void {
  rmSync(paths.pid(dir, id), {force: true})
}

/** Sends `signal` to every pid and waits (polling, bounded) until all are gone. */
export async function stopPids(pids: number[], opts: {kill: boolean; graceMs?: number}): Promise<void> {
  const graceMs = opts.graceMs ?? 5000
  for (const pid of pids) {
    signal(pid, opts.kill ? 'SIGKILL' : 'SIGTERM')
    // A paused (SIGSTOPped) replica handles the SIGTERM only once it runs again.
    if (!opts.kill) signal(pid, 'SIGCONT')
  }
  const deadline = Date.now() + graceMs
  let alive = pids.filter(isAlive)
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(20)
    alive = alive.filter(isAlive)
  }
  if (alive.length === 0) return
  for (const pid of alive) signal(pid, 'SIGKILL')
  const hardDeadline = Date.now() + 5000
  while (alive.length > 0 && Date.now() < hardDeadline) {
    await sleep(20)
    alive = alive.filter(isAlive)
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // Already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** SIGSTOP: freezes the process (a long GC pause, a stalled VM); its sockets stay open. */
export function pausePid(pid: number): void {
  signal(pid, 'SIGSTOP')
}

/** SIGCONT: a paused process carries on where it stopped. Harmless for a running one. */
export function resumePid(pid: number): void {
  signal(pid, 'SIGCONT')
}

/** Whether the process is stopped by a signal (state T in /proc/PID/stat); null where unknown. */
export function isPaused(pid: number): boolean | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state === 'T' || state === 't'
  } catch {
    return null
  }
}

/** The command-line arguments of a process (Linux /proc), or null where unknown. */
export function processArgs(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '')
  } catch {
    return null
  }
}
