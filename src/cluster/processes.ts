// Replica processes: spawning them detached (execa) so they outlive the CLI, and stopping them
// (SIGTERM with escalation to SIGKILL, or SIGKILL at once for a crash). Stop returns only when the
// processes are gone. Pid files and liveness are in pids.ts.
import {closeSync, fstatSync, mkdirSync, openSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {execa, type Options} from 'execa'
import type {NodeId} from '../core/types.js'
import type {TestMode} from '../protocol/test-modes.js'
import {nodeDir, paths} from '../clusterdir/config.js'
import {isAlive, writePidFile} from '../clusterdir/pids.js'

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

export interface SpawnOptions {
  /** Test only: a deliberately broken replica (`--mutant NAME`, protocol/test-modes.ts). */
  mutant?: TestMode
}

export interface Spawned {
  pid: number
  /** Where the node log ended before the child started: what it writes from there is this run's. */
  logOffset: number
}

/**
 * Starts node `id` as a detached background process and writes its pid file at once (the caller
 * holds the directory lock, so a concurrent `start` sees the node running from here on).
 */
export function spawnReplica(dir: string, id: NodeId, opts: SpawnOptions = {}): Spawned {
  mkdirSync(nodeDir(dir, id), {recursive: true})
  // The child gets the log file's descriptor itself (not a pipe through this short-lived CLI).
  const logFd = openSync(paths.log(dir, id), 'a')
  try {
    const logOffset = fstatSync(logFd).size
    const args = [...replicaNodeFlags(), REPLICA_MAIN, '--dir', dir, '--id', String(id)]
    if (opts.mutant) args.push('--mutant', opts.mutant)
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
    writePidFile(dir, id, child.pid)
    return {pid: child.pid, logOffset}
  } finally {
    closeSync(logFd)
  }
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
