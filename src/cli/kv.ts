// Shared plumbing of the key-value commands: load the cluster, make a client, map outcomes to
// exit codes (3 not found, 4 unavailable, 5 compare failed).
import {readFileSync} from 'node:fs'
import {CliError, ExitCode, operationalError, usageError} from '../lib/errors.js'
import {loadCluster, parseNodeId, raftctl, readSecret, resolveDir} from '../clusterdir/config.js'
import {runningPid} from '../clusterdir/pids.js'
import {ClusterClient, NotLeaderError, UnavailableError} from '../client/cluster-client.js'
import type {NodeId} from '../core/types.js'
import {MAX_KEY_BYTES, MAX_VALUE_BYTES} from '../protocol/protocol.js'

export const KEY_HELP = `key: a non-empty UTF-8 string of at most ${MAX_KEY_BYTES} bytes`
export const VALUE_HELP = `value: a UTF-8 string of at most ${MAX_VALUE_BYTES} bytes (1 MiB)`

export function checkKey(key: string): void {
  if (key === '') throw usageError('key must not be empty')
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw usageError(`key is longer than ${MAX_KEY_BYTES} bytes`)
  checkArgUtf8(key, 'key')
}

export function checkValue(value: string, what = 'value'): void {
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw usageError(`${what} is longer than ${MAX_VALUE_BYTES} bytes (1 MiB)`)
}

/**
 * Node turns bytes of the command line that are not UTF-8 into U+FFFD, so two different keys
 * could become one. A U+FFFD in an argument is refused unless the raw command line
 * (/proc/self/cmdline) is valid UTF-8, i.e. the user really typed one.
 */
export function checkArgUtf8(text: string, what: string): void {
  if (!text.includes('\uFFFD')) return
  let raw: Buffer[] | null = null
  try {
    const bytes = readFileSync('/proc/self/cmdline')
    raw = []
    for (let at = 0; at < bytes.length;) {
      const end = bytes.indexOf(0, at)
      raw.push(bytes.subarray(at, end < 0 ? bytes.length : end))
      at = end < 0 ? bytes.length : end + 1
    }
  } catch {
    // No /proc: assume the worst.
  }
  const strict = new TextDecoder('utf-8', {fatal: true})
  const invalid = (b: Buffer) => {
    try {
      strict.decode(b)
      return false
    } catch {
      return true
    }
  }
  if (raw === null || raw.some(invalid)) {
    throw usageError(`${what} is not valid UTF-8`, 'keys and values are UTF-8 strings; check the encoding of the argument')
  }
}

export async function readStdinValue(): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer
    size += b.length
    if (size > MAX_VALUE_BYTES) throw usageError(`value from stdin is longer than ${MAX_VALUE_BYTES} bytes (1 MiB)`)
    chunks.push(b)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (Buffer.from(text, 'utf8').length !== size) throw usageError('value from stdin is not valid UTF-8')
  return text
}

export interface TargetOptions {
  /** `--node ID`: talk to that node only. */
  node?: string
}

/**
 * Runs `fn` with a client for the cluster in the directory. Fails at once when no node of the
 * cluster runs (or, with --node, that node does not): nothing could answer, so nothing is sent.
 */
export async function withClient<T>(dirFlag: string | undefined, target: TargetOptions, fn: (client: ClusterClient) => Promise<T>): Promise<T> {
  const dir = resolveDir(dirFlag)
  const config = loadCluster(dir)
  const only = target.node !== undefined ? parseNodeId(target.node, config) : undefined
  if (only !== undefined && runningPid(dir, only) === null) {
    throw operationalError(`node ${only} is not running`, `start it: ${raftctl(dir, `start ${only}`)}`, 'not-running')
  }
  if (only === undefined && config.nodes.every((n) => runningPid(dir, n.id) === null)) {
    throw operationalError(`no node of the cluster in ${dir} is running`, `start it: ${raftctl(dir, 'start')}`, 'not-running')
  }
  const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret: readSecret(dir), only})
  try {
    return await fn(client)
  } catch (err) {
    if (err instanceof NotLeaderError) {
      const hint =
        err.leaderHint !== null ? `ask node ${err.leaderHint} (--node ${err.leaderHint}), or leave out --node` : 'wait for an election, or leave out --node'
      throw new CliError(err.message, ExitCode.unavailable, 'not-leader', hint)
    }
    if (err instanceof UnavailableError) {
      throw new CliError(err.message, ExitCode.unavailable, 'unavailable', `check ${raftctl(dir, 'status')}; is a majority of nodes up and connected?`)
    }
    throw err
  } finally {
    await client.close()
  }
}

export const notFound = (key: string) => new CliError(`key ${JSON.stringify(key)} not found`, ExitCode.notFound, 'not-found')

/** `get`: the value (or exit 3), and the node that answered. Shared by the oclif command and the fast path. */
export async function getValue(
  dirFlag: string | undefined,
  key: string,
  opts: {stale: boolean; timeoutMs: number; node?: string},
): Promise<{key: string; value: string; index: number; node: NodeId}> {
  checkKey(key)
  const out = await withClient(dirFlag, opts, (c) => c.get(key, {stale: opts.stale, timeoutMs: opts.timeoutMs}))
  if (out.value === null) throw notFound(key)
  return {key, value: out.value, index: out.index, node: out.node}
}

/** `put`: OK once committed and applied. Shared by the oclif command and the fast path. */
export async function putValue(
  dirFlag: string | undefined,
  key: string,
  valueArg: string,
  opts: {timeoutMs: number; node?: string},
): Promise<{key: string; value: string; index: number; previous: string | null; node: NodeId}> {
  checkKey(key)
  if (valueArg !== '-') checkArgUtf8(valueArg, 'value')
  const value = valueArg === '-' ? await readStdinValue() : valueArg
  checkValue(value)
  const out = await withClient(dirFlag, opts, (c) => c.put(key, value, opts.timeoutMs))
  if (out.result.status !== 'ok') throw new CliError(`write refused: ${out.result.status}`, ExitCode.unavailable, 'unavailable')
  return {key, value, index: out.index, previous: out.result.previous, node: out.node}
}
