// Cluster status: asks every configured node for its admin status in parallel (short timeouts),
// and combines the answers with pid files into one row per node, down nodes included. The
// cluster's leader is the node that the up nodes agree leads the highest term.
import {isVoter, members, type Membership} from '../core/membership.js'
import type {NodeId} from '../core/types.js'
import {asNodeStatus, type AdminRequest, type NodeStatus} from '../protocol/protocol.js'
import type {PartitionRules} from '../transport/link-filter.js'
import {ClientConnection} from '../transport/client.js'
import {nodeById, readPartition, type ClusterConfig} from '../clusterdir/config.js'
import {allDiskFaults, type DiskFaults} from '../clusterdir/disk-faults.js'
import {completePartition} from './partition.js'
import {isPaused, runningPid} from '../clusterdir/pids.js'

export interface NodeRow {
  id: NodeId
  address: string
  pid: number | null
  up: boolean
  /** `paused`: the process is stopped (SIGSTOP) and answers nothing; `down`: no process. */
  role: 'leader' | 'follower' | 'candidate' | 'pre-candidate' | 'paused' | 'down'
  term: number | null
  leader: NodeId | null
  lastIndex: number | null
  commitIndex: number | null
  appliedIndex: number | null
  /** How many entries this node's applied index trails the cluster's commit index (`clusterCommitIndex`); null when down. */
  lag: number | null
  group: number | null
  /** The replica process's resident memory (bytes), as it reports it. */
  rssBytes: number | null
  /** Its place in the cluster's configuration (`configuration` below); null when there is none known. */
  member: 'voter' | 'learner' | 'none' | null
}

export interface ClusterStatus {
  leader: NodeId | null
  term: number | null
  nodes: NodeRow[]
  /** Every side named (the nodes a partition leaves unnamed as one more group); null when healed. */
  partition: PartitionRules | null
  /** The configuration in force: the leader's, else that of the up node in the highest term; null if none is up. */
  configuration: Membership | null
  /** Nodes with disk faults (raftctl net slow-disk, raftctl check), in node order. */
  disks: ({node: NodeId} & DiskFaults)[]
}

export interface Secrets {
  clusterId: string
  secret: string
}

/** One admin request to one node; rejects on connect failure or timeout. */
export async function adminRequest(config: ClusterConfig, secret: string, id: NodeId, req: AdminRequest, timeoutMs = 1000): Promise<unknown> {
  const node = nodeById(config, id)
  const conn = await ClientConnection.connect({
    host: node.host,
    port: node.port,
    clusterId: config.clusterId,
    secret,
    timeoutMs,
    expectNodeId: id,
  })
  try {
    return await conn.request(req, timeoutMs)
  } finally {
    await conn.close().catch(() => {})
  }
}

export async function nodeStatuses(config: ClusterConfig, secret: string, timeoutMs = 1000): Promise<(NodeStatus | null)[]> {
  return Promise.all(
    config.nodes.map((n) =>
      adminRequest(config, secret, n.id, {type: 'status'}, timeoutMs)
        .then(asNodeStatus)
        .catch(() => null),
    ),
  )
}

export async function clusterStatus(dir: string, config: ClusterConfig, secret: string, timeoutMs = 1000): Promise<ClusterStatus> {
  const statuses = await nodeStatuses(config, secret, timeoutMs)
  return combineStatus(dir, config, statuses)
}

export function combineStatus(dir: string, config: ClusterConfig, statuses: (NodeStatus | null)[]): ClusterStatus {
  const leader = agreedLeader(statuses)
  const leaderStatus = leader !== null ? statuses.find((s) => s?.id === leader) : null
  const configuration = configurationOf(statuses, leaderStatus ?? null)
  const member = (id: NodeId): NodeRow['member'] =>
    !configuration ? null : isVoter(configuration, id) ? 'voter' : members(configuration).includes(id) ? 'learner' : 'none'
  const nodes = config.nodes.map((n, i): NodeRow => {
    const s = statuses[i]
    if (!s) {
      const pid = runningPid(dir, n.id)
      return {...absentRow(n.id, `${n.host}:${n.port}`, member(n.id)), pid, role: pid !== null && isPaused(pid) === true ? 'paused' : 'down'}
    }
    return {
      id: n.id,
      address: `${n.host}:${n.port}`,
      pid: s.pid,
      up: true,
      role: s.role,
      term: s.term,
      leader: s.leader,
      lastIndex: s.lastIndex,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lag: null,
      group: s.group,
      rssBytes: s.rssBytes ?? null,
      member: member(n.id),
    }
  })
  return {
    leader,
    term: leaderStatus?.term ?? maxTerm(statuses),
    nodes: withLag(nodes, leader),
    partition: completePartition(
      readPartition(dir),
      config.nodes.map((n) => n.id),
    ),
    configuration,
    disks: allDiskFaults(dir, config)
      .map((f, i) => ({node: config.nodes[i]!.id, ...f}))
      .filter((d) => Object.keys(d).length > 1),
  }
}

/** The row of a node that does not answer: down, nothing known but where it listens and its place in the configuration. */
export function absentRow(id: NodeId, address: string, member: NodeRow['member']): NodeRow {
  return {
    id,
    address,
    pid: null,
    up: false,
    role: 'down',
    term: null,
    leader: null,
    lastIndex: null,
    commitIndex: null,
    appliedIndex: null,
    lag: null,
    group: null,
    rssBytes: null,
    member,
  }
}

/** The cluster's commit index: the leader's, else the highest an up node reports (null if none is up). */
export function clusterCommitIndex(nodes: readonly NodeRow[], leader: NodeId | null): number | null {
  const l = leader !== null ? nodes.find((n) => n.id === leader) : undefined
  if (l?.commitIndex != null) return l.commitIndex
  let best: number | null = null
  for (const n of nodes) if (n.commitIndex !== null && (best === null || n.commitIndex > best)) best = n.commitIndex
  return best
}

/** `rows` with each up row's lag: how far its applied index trails the cluster's commit index. */
export function withLag(rows: readonly NodeRow[], leader: NodeId | null): NodeRow[] {
  const reference = clusterCommitIndex(rows, leader)
  return rows.map((n) => ({...n, lag: n.up && reference !== null && n.appliedIndex !== null ? Math.max(0, reference - n.appliedIndex) : null}))
}

/** The leader's configuration, else the one of the up node in the highest term (it has seen the most). */
export function configurationOf(statuses: (NodeStatus | null)[], leader: NodeStatus | null): Membership | null {
  if (leader?.membership) return leader.membership
  let best: NodeStatus | null = null
  for (const s of statuses) if (s?.membership && (best === null || s.term > best.term || (s.term === best.term && s.appliedIndex > best.appliedIndex))) best = s
  return best?.membership ?? null
}

/** The node that claims leadership of the highest term, if no up node of that term names another. */
export function agreedLeader(statuses: (NodeStatus | null)[]): NodeId | null {
  const up = statuses.filter((s): s is NodeStatus => s !== null)
  const leaders = up.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term)
  const top = leaders[0]
  if (!top) return null
  const disagree = up.some((s) => (s.term === top.term && s.leader !== null && s.leader !== top.id) || s.term > top.term)
  return disagree ? null : top.id
}

function maxTerm(statuses: (NodeStatus | null)[]): number | null {
  let t: number | null = null
  for (const s of statuses) if (s && (t === null || s.term > t)) t = s.term
  return t
}
