// The cluster directory lock (proper-lockfile): every read-modify-write of cluster.json, the
// partition state and pid files happens inside withDirLock, so concurrent CLI calls from scripts
// serialise instead of racing.
import {mkdirSync} from 'node:fs'
import {CliError, ExitCode} from '../lib/errors.js'

export async function withDirLock<T>(dir: string, fn: () => Promise<T> | T): Promise<T> {
  const lockfile = (await import('proper-lockfile')).default
  mkdirSync(dir, {recursive: true})
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: `${dir}/.lock`,
      stale: 10_000,
      retries: {retries: 100, factor: 1.2, minTimeout: 20, maxTimeout: 200},
    })
  } catch (err) {
    throw new CliError(
      `cannot lock ${dir}: ${(err as Error).message}`,
      ExitCode.operational,
      'locked',
      'another raftctl command is using this cluster; try again',
    )
  }
  try {
    return await fn()
  } finally {
    await release().catch(() => {})
  }
}
