// Status snapshots for the dashboard tests, written as the scenario they show.
import {absentRow, withLag, type ClusterStatus, type NodeRow} from '../../src/cluster/status.js'
import {formatNodeEvent, type NodeEvent, type NodeEventBody} from '../../src/protocol/events.js'

export type NodeSpec =
  'down' | {role: 'leader' | 'follower' | 'candidate' | 'pre-candidate'; term: number; last?: number; commit?: number; applied?: number; group?: number}

/** `snapshot({1: {role:'leader', term:2, commit:10}, 2: 'down', ...}, {groups: [[2]]})` */
export function snapshot(nodes: Record<number, NodeSpec>, partition: {groups: number[][]} | null = null): ClusterStatus {
  const rows: NodeRow[] = Object.entries(nodes).map(([key, spec]) => {
    const id = Number(key)
    const address = `127.0.0.1:${7100 + id}`
    if (spec === 'down') return absentRow(id, address, null)
    const commit = spec.commit ?? 0
    return {
      id,
      address,
      pid: 4000 + id,
      up: true,
      role: spec.role,
      term: spec.term,
      leader: null,
      lastIndex: spec.last ?? commit,
      commitIndex: commit,
      appliedIndex: spec.applied ?? commit,
      lag: null,
      group: spec.group ?? 1,
      rssBytes: 50_000_000,
    }
  })
  const leaderRow = rows.find((r) => r.role === 'leader')
  for (const r of rows) if (r.up) r.leader = leaderRow?.id ?? null
  const terms = rows.filter((r) => r.term !== null).map((r) => r.term!)
  return {
    leader: leaderRow?.id ?? null,
    term: leaderRow?.term ?? (terms.length > 0 ? Math.max(...terms) : null),
    nodes: withLag(rows, leaderRow?.id ?? null),
    partition,
    disks: [],
  }
}

export function event(node: number, time: number, body: NodeEventBody): NodeEvent {
  return {node, time, text: formatNodeEvent(body), event: body}
}

/** A healthy 3-node cluster: node 1 leads term `term` at commit index `commit`. */
export function healthy(term = 2, commit = 10): ClusterStatus {
  return snapshot({
    1: {role: 'leader', term, commit},
    2: {role: 'follower', term, commit},
    3: {role: 'follower', term, commit},
  })
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '')
}
