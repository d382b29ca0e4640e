// The cluster directory: where it is (--dir, $RAFTCTL_DIR, ./.raftctl), cluster.json (cluster id,
// nodes and their addresses, timing), the peer secret (mode 0600), per-node paths, and the stored
// partition. Every read-modify-write of these files happens under the directory lock (lock.ts).
import {randomBytes} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {writeIdentity} from '../storage/identity.js'
import {RealFs} from '../storage/real-fs.js'
import {isIP} from 'node:net'
import {join, resolve} from 'node:path'
import {CliError, ExitCode, usageError} from '../lib/errors.js'
import {isNodeId, MAX_NODE_ID, type NodeId} from '../core/types.js'
import type {PartitionRules} from '../transport/link-filter.js'

export const CLUSTER_FILE = 'cluster.json'
export const SECRET_FILE = 'secret'
export const PARTITION_FILE = 'partition.json'
export const MAX_NODES = 15
/** Node ids are never reused (a removed node's id stays retired), so they may exceed MAX_NODES. */
export {MAX_NODE_ID}
export const DEFAULTS = {
  nodes: 3,
  basePort: 7100,
  host: '127.0.0.1',
  electionTimeoutMs: 300,
  heartbeatMs: 50,
  snapshotEvery: 10_000,
}

export interface NodeConfig {
  id: NodeId
  host: string
  port: number
}

export interface ClusterConfig {
  version: 1
  clusterId: string
  createdAt: string
  /**
   * The address book of the current members, by ascending id (`raftctl member` adds and removes
   * entries; the replicated configuration, not this list, is the truth about who votes).
   */
  nodes: NodeConfig[]
  /** The voters the cluster was created with: every original node boots with them. Absent: all of `nodes`. */
  initialVoters?: NodeId[]
  /** Members removed from the cluster: their ids are retired, never given out again. */
  removed?: NodeConfig[]
  electionTimeoutMs: number
  heartbeatMs: number
  snapshotEvery: number
}

export function resolveDir(flag?: string): string {
  return resolve(flag ?? process.env.RAFTCTL_DIR ?? '.raftctl')
}

/**
 * `raftctl ARGS` as the user would type it for the cluster in `dir`, for hints: with `--dir DIR`
 * unless DIR is where raftctl looks anyway ($RAFTCTL_DIR, else ./.raftctl).
 */
export function raftctl(dir: string, args: string): string {
  return dir === resolveDir() ? `raftctl ${args}` : `raftctl ${args} --dir ${shellQuote(dir)}`
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

export function nodeDir(dir: string, id: NodeId): string {
  return join(dir, `node-${id}`)
}

export const paths = {
  cluster: (dir: string) => join(dir, CLUSTER_FILE),
  secret: (dir: string) => join(dir, SECRET_FILE),
  partition: (dir: string) => join(dir, PARTITION_FILE),
  data: (dir: string, id: NodeId) => join(nodeDir(dir, id), 'data'),
  pid: (dir: string, id: NodeId) => join(nodeDir(dir, id), 'replica.pid'),
  log: (dir: string, id: NodeId) => join(nodeDir(dir, id), 'replica.log'),
  /** RAFTCTL_CAPTURE: the node's sampled Raft messages (server/message-capture.ts). */
  messages: (dir: string, id: NodeId) => join(nodeDir(dir, id), 'messages.ndjson'),
  /** The node's disk faults (`raftctl net slow-disk`, `raftctl check`; storage/faulty-fs.ts). */
  diskFaults: (dir: string, id: NodeId) => join(nodeDir(dir, id), 'disk-faults.json'),
}

export function clusterExists(dir: string): boolean {
  return existsSync(paths.cluster(dir))
}

export function noCluster(dir: string): CliError {
  return new CliError(`no cluster in ${dir}`, ExitCode.operational, 'no-cluster', `run ${raftctl(dir, 'start')} (or ${raftctl(dir, 'init')})`)
}

export function loadCluster(dir: string): ClusterConfig {
  let text: string
  try {
    text = readFileSync(paths.cluster(dir), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noCluster(dir)
    throw new CliError(`cannot read ${paths.cluster(dir)}: ${(err as Error).message}`, ExitCode.operational, 'io')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw badConfig(dir, 'is not valid JSON')
  }
  const problem = clusterProblem(parsed)
  if (problem) throw badConfig(dir, problem)
  return parsed as ClusterConfig
}

/** A damaged cluster.json. Its nodes may still run: stop works from their pid files, then init --force. */
function badConfig(dir: string, problem: string): CliError {
  return new CliError(
    `${paths.cluster(dir)} ${problem.startsWith('is ') ? problem : `is damaged: ${problem}`}`,
    ExitCode.operational,
    'bad-config',
    `fix it by hand, or recreate the cluster (its data is deleted): ${raftctl(dir, 'stop')} && ${raftctl(dir, 'init --force')}`,
  )
}

function clusterProblem(x: unknown): string | null {
  if (typeof x !== 'object' || x === null) return 'not an object'
  const c = x as Record<string, unknown>
  if (c.version !== 1) return `unsupported version ${JSON.stringify(c.version)}`
  if (typeof c.clusterId !== 'string' || c.clusterId === '') return 'missing clusterId'
  if (!Array.isArray(c.nodes) || c.nodes.length < 1 || c.nodes.length > MAX_NODES) return `nodes must list 1..${MAX_NODES} nodes`
  if (c.removed !== undefined && !Array.isArray(c.removed)) return 'removed must be a list of nodes'
  let prev = 0
  for (const n of c.nodes as unknown[]) {
    const node = n as Record<string, unknown>
    const problem = nodeEntryProblem(node, prev)
    if (problem) return problem
    prev = node.id as number
  }
  for (const n of (c.removed ?? []) as unknown[]) {
    const problem = nodeEntryProblem(n as Record<string, unknown>, 0)
    if (problem) return `removed ${problem}`
  }
  const nodes = c.nodes as NodeConfig[]
  const removedIds = new Set(((c.removed ?? []) as NodeConfig[]).map((n) => n.id))
  const both = nodes.find((n) => removedIds.has(n.id))
  if (both) return `node ${both.id} is listed as a member and as removed`
  if (c.initialVoters !== undefined) {
    if (!Array.isArray(c.initialVoters) || c.initialVoters.length < 1 || !c.initialVoters.every(isNodeId)) {
      return 'initialVoters must list node ids'
    }
  }
  for (const a of nodes) {
    const b = nodes.find((o) => o.id > a.id && o.port === a.port && (o.host === a.host || isWildcard(o.host) || isWildcard(a.host)))
    if (b) return `nodes ${a.id} and ${b.id} both listen on port ${a.port}`
  }
  for (const k of ['electionTimeoutMs', 'heartbeatMs', 'snapshotEvery'] as const) {
    if (!Number.isInteger(c[k]) || (c[k] as number) <= 0) return `${k} must be a positive integer`
  }
  if ((c.electionTimeoutMs as number) < 2 * (c.heartbeatMs as number)) return 'electionTimeoutMs must be at least twice heartbeatMs'
  return null
}

export interface InitOptions {
  nodes: number
  basePort: number
  host: string
  electionTimeoutMs: number
  heartbeatMs: number
  snapshotEvery?: number
}

/** One address-book entry; ids ascend (after `prev`). */
function nodeEntryProblem(node: Record<string, unknown>, prev: number): string | null {
  if (!isNodeId(node?.id) || node.id <= prev) {
    return `node ids must ascend from 1 (at most ${MAX_NODE_ID}): found ${JSON.stringify(node?.id)} after ${prev || 'the start'}`
  }
  if (typeof node.host !== 'string' || !Number.isInteger(node.port) || (node.port as number) < 1 || (node.port as number) > 65535) {
    return `node ${node.id} has a bad address`
  }
  const hostProblem = checkHost(node.host)
  return hostProblem ? `node ${node.id}: ${hostProblem}` : null
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::'

/** Replicas listen on the host: an IP address (or localhost), not a name to look up. */
function checkHost(host: string): string | null {
  return isIP(host) !== 0 || host === 'localhost' ? null : `host ${JSON.stringify(host)} is not an IP address (e.g. 127.0.0.1)`
}

export function validateInit(o: InitOptions): void {
  const hostProblem = checkHost(o.host)
  if (hostProblem) throw usageError(`--host: ${hostProblem}`)
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > MAX_NODES) throw usageError(`--nodes must be between 1 and ${MAX_NODES}, got ${o.nodes}`)
  if (!Number.isInteger(o.basePort) || o.basePort < 1 || o.basePort + o.nodes > 65535) {
    throw usageError(`--base-port must leave room for ${o.nodes} ports below 65536, got ${o.basePort}`)
  }
  if (o.heartbeatMs < 1) throw usageError('--heartbeat must be at least 1ms')
  if (o.heartbeatMs > 300_000) throw usageError(`--heartbeat must be at most 5m, got ${o.heartbeatMs}ms`)
  if (o.electionTimeoutMs > 600_000) throw usageError(`--election-timeout must be at most 10m, got ${o.electionTimeoutMs}ms`)
  if (o.electionTimeoutMs < 2 * o.heartbeatMs) {
    throw usageError(`--election-timeout (${o.electionTimeoutMs}ms) must be at least twice --heartbeat (${o.heartbeatMs}ms)`)
  }
}

/** Writes cluster.json and the secret. The caller holds the directory lock. */
export function writeNewCluster(dir: string, o: InitOptions): ClusterConfig {
  validateInit(o)
  mkdirSync(dir, {recursive: true})
  const config: ClusterConfig = {
    version: 1,
    clusterId: randomBytes(8).toString('hex'),
    createdAt: new Date().toISOString(),
    nodes: Array.from({length: o.nodes}, (_, i) => ({id: i + 1, host: o.host, port: o.basePort + i + 1})),
    initialVoters: Array.from({length: o.nodes}, (_, i) => i + 1),
    electionTimeoutMs: o.electionTimeoutMs,
    heartbeatMs: o.heartbeatMs,
    snapshotEvery: o.snapshotEvery ?? DEFAULTS.snapshotEvery,
  }
  writeFileAtomic(paths.secret(dir), randomBytes(32).toString('hex') + '\n', 0o600)
  chmodSync(paths.secret(dir), 0o600)
  // Each node's data directory is born with its identity: a start that finds none knows the
  // directory was lost or wiped, and refuses (storage/identity.ts).
  const fs = new RealFs()
  for (const n of config.nodes) writeIdentity(fs, paths.data(dir, n.id), {clusterId: config.clusterId, nodeId: n.id})
  writeFileAtomic(paths.cluster(dir), JSON.stringify(config, null, 2) + '\n')
  return config
}

export function readSecret(dir: string): string {
  try {
    return readFileSync(paths.secret(dir), 'utf8').trim()
  } catch (err) {
    throw new CliError(`cannot read the cluster secret ${paths.secret(dir)}: ${(err as Error).message}`, ExitCode.operational, 'io')
  }
}

export function readPartition(dir: string): PartitionRules | null {
  try {
    const parsed = JSON.parse(readFileSync(paths.partition(dir), 'utf8')) as PartitionRules | null
    if (!parsed || !Array.isArray(parsed.groups)) return null
    // One-way cuts (a ring) and link faults need no groups.
    return parsed.groups.length > 0 || (parsed.cuts ?? []).length > 0 || (parsed.links ?? []).length > 0 ? parsed : null
  } catch {
    return null
  }
}

export function writePartition(dir: string, rules: PartitionRules | null): void {
  writeFileAtomic(paths.partition(dir), JSON.stringify(rules) + '\n')
}

export function writeFileAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text, {mode})
  renameSync(tmp, path)
}

/**
 * Parses a node id argument against the cluster's members (a cluster config, or their ids);
 * unknown ids are usage errors (exit 2), and so are removed ones, saying so.
 */
export function parseNodeId(text: string, members: ClusterConfig | readonly NodeId[]): NodeId {
  const ids = Array.isArray(members) ? (members as readonly NodeId[]) : (members as ClusterConfig).nodes.map((n) => n.id)
  const id = /^\d+$/.test(text) ? Number(text) : NaN
  if (!ids.includes(id)) {
    const removed = !Array.isArray(members) && (members as ClusterConfig).removed?.some((n) => n.id === id)
    throw usageError(
      `${removed ? 'node' : 'unknown node id'} ${JSON.stringify(text)}${removed ? ' was removed from the cluster' : ''}: this cluster has nodes ${describeIds(ids)}`,
    )
  }
  return id
}

/** `1..3`, or `1,2,4..6` when there are gaps. */
export function describeIds(ids: readonly NodeId[]): string {
  const sorted = [...ids].sort((a, b) => a - b)
  const runs: string[] = []
  for (let i = 0; i < sorted.length;) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++
    runs.push(j - i >= 2 ? `${sorted[i]}..${sorted[j]}` : sorted.slice(i, j + 1).join(','))
    i = j + 1
  }
  return runs.join(',')
}

/** The member `id` (throws if it is not one: callers check ids first). */
export function nodeById(config: ClusterConfig, id: NodeId): NodeConfig {
  const node = config.nodes.find((n) => n.id === id)
  if (!node) throw new Error(`node ${id} is not a member of the cluster`)
  return node
}

/** The voters every original node boots with (new members learn the configuration from the log). */
export function initialVoters(config: ClusterConfig): NodeId[] {
  return config.initialVoters ?? config.nodes.map((n) => n.id)
}

/** The next id to give a new member: ids are never reused. */
export function nextNodeId(config: ClusterConfig): NodeId {
  return Math.max(0, ...config.nodes.map((n) => n.id), ...(config.removed ?? []).map((n) => n.id), ...(config.initialVoters ?? [])) + 1
}

/** Ticks: the replica ticks every heartbeat/5 ms; election and heartbeat are whole tick counts. */
export function timing(config: ClusterConfig): {tickMs: number; electionTicks: number; heartbeatTicks: number} {
  const tickMs = Math.max(1, Math.floor(config.heartbeatMs / 5))
  return {
    tickMs,
    heartbeatTicks: Math.max(1, Math.round(config.heartbeatMs / tickMs)),
    electionTicks: Math.max(2, Math.round(config.electionTimeoutMs / tickMs)),
  }
}
