// Pid files and process liveness, without spawning anything (so the one-shot commands and the
// replica itself can ask "does node N run?" without loading execa): the pid file of each node,
// whether a pid is alive and really one of our replicas (not a recycled pid or a zombie), and
// whether it is paused (SIGSTOP).
import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import type {NodeId} from '../core/types.js'
import {paths} from './config.js'

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

export function writePidFile(dir: string, id: NodeId, pid: number): void {
  writeFileSync(paths.pid(dir, id), `${pid}\n`)
}

export function removePidFile(dir: string, id: NodeId): void {
  rmSync(paths.pid(dir, id), {force: true})
}

/** The node ids that have a folder in `dir` (node-1, node-2, ...): what is on disk, whatever cluster.json says. */
export function nodeIdsOnDisk(dir: string): NodeId[] {
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .map((n) => /^node-([1-9]\d*)$/.exec(n)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
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
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '')
  } catch {
    return null
  }
}
