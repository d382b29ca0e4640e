// Shared plumbing of the key-value commands: load the cluster, make a client, map outcomes to
// exit codes (3 not found, 4 unavailable, 5 compare failed).
import {CliError, ExitCode, usageError} from '../lib/errors.js'
import {loadCluster, readSecret, resolveDir} from '../cluster/config.js'
import {ClusterClient, UnavailableError} from '../client/cluster-client.js'
import {MAX_KEY_BYTES, MAX_VALUE_BYTES} from '../server/protocol.js'

export const KEY_HELP = `key: a non-empty UTF-8 string of at most ${MAX_KEY_BYTES} bytes`
export const VALUE_HELP = `value: a UTF-8 string of at most ${MAX_VALUE_BYTES} bytes (1 MiB)`

export function checkKey(key: string): void {
  if (key === '') throw usageError('key must not be empty')
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw usageError(`key is longer than ${MAX_KEY_BYTES} bytes`)
}

export function checkValue(value: string, what = 'value'): void {
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw usageError(`${what} is longer than ${MAX_VALUE_BYTES} bytes (1 MiB)`)
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

export async function withClient<T>(dirFlag: string | undefined, fn: (client: ClusterClient) => Promise<T>): Promise<T> {
  const dir = resolveDir(dirFlag)
  const config = loadCluster(dir)
  const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret: readSecret(dir)})
  try {
    return await fn(client)
  } catch (err) {
    if (err instanceof UnavailableError) {
      throw new CliError(err.message, ExitCode.unavailable, 'unavailable', 'check raftctl status; is a majority of nodes up and connected?')
    }
    throw err
  } finally {
    await client.close()
  }
}

export const notFound = (key: string) => new CliError(`key ${JSON.stringify(key)} not found`, ExitCode.notFound, 'not-found')

/** `get`: the value (or exit 3). Shared by the oclif command and the fast path. */
export async function getValue(dirFlag: string | undefined, key: string, stale: boolean, timeoutMs: number): Promise<{key: string; value: string; index: number}> {
  checkKey(key)
  const out = await withClient(dirFlag, (c) => c.get(key, {stale, timeoutMs}))
  if (out.value === null) throw notFound(key)
  return {key, value: out.value, index: out.index}
}

/** `put`: OK once committed and applied. Shared by the oclif command and the fast path. */
export async function putValue(
  dirFlag: string | undefined,
  key: string,
  valueArg: string,
  timeoutMs: number,
): Promise<{key: string; value: string; index: number; previous: string | null}> {
  checkKey(key)
  const value = valueArg === '-' ? await readStdinValue() : valueArg
  checkValue(value)
  const out = await withClient(dirFlag, (c) => c.put(key, value, timeoutMs))
  if (out.result.status !== 'ok') throw new CliError(`write refused: ${out.result.status}`, ExitCode.unavailable, 'unavailable')
  return {key, value, index: out.index, previous: out.result.previous}
}
