// Plain-text rendering shared by commands (and the dashboard's non-TTY fallback).
import {describeDiskFaults} from '../clusterdir/disk-faults.js'
import {describePartition} from '../cluster/partition.js'
import type {ClusterStatus} from '../cluster/status.js'
import {describeMembership, isJoint} from '../core/membership.js'

export function statusTable(status: ClusterStatus): string {
  const header = ['ID', 'ADDRESS', 'PID', 'ROLE', 'TERM', 'LEADER', 'LAST', 'COMMIT', 'APPLIED', 'LAG', 'GROUP']
  const dash = (v: number | null) => (v === null ? '-' : String(v))
  const rows = status.nodes.map((n) => [
    String(n.id),
    n.address,
    dash(n.pid),
    n.role,
    dash(n.term),
    dash(n.leader),
    dash(n.lastIndex),
    dash(n.commitIndex),
    dash(n.appliedIndex),
    dash(n.lag),
    dash(n.group),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  const summary =
    status.leader !== null
      ? `leader: node ${status.leader}, term ${status.term}`
      : `leader: none${status.term !== null ? ` (highest term ${status.term})` : ''}`
  const partition = status.partition
    ? `\npartition: ${describePartition(
        status.partition,
        status.nodes.map((n) => n.id),
      )}`
    : ''
  const disks = status.disks.length > 0 ? `\ndisks: ${status.disks.map((d) => `node ${d.node} ${describeDiskFaults(d)}`).join('; ')}` : ''
  return [line(header), ...rows.map(line)].join('\n') + `\n${summary}${configurationLine(status)}${partition}${disks}\n`
}

/** `configuration: voters 1,2,3; learners 4`, shown when it is not simply every node as a voter. */
function configurationLine(status: ClusterStatus): string {
  const c = status.configuration
  if (!c) return ''
  const plain = !isJoint(c) && c.learners.length === 0 && c.voters.length === status.nodes.length && status.nodes.every((n) => c.voters.includes(n.id))
  return plain ? '' : `\nconfiguration: ${describeMembership(c)}`
}

export function statusJson(status: ClusterStatus): object {
  return {
    leader: status.leader,
    term: status.term,
    nodes: status.nodes.map((n) => ({
      id: n.id,
      address: n.address,
      pid: n.pid,
      up: n.up,
      role: n.role,
      term: n.term,
      leader: n.leader,
      lastIndex: n.lastIndex,
      commitIndex: n.commitIndex,
      appliedIndex: n.appliedIndex,
      lag: n.lag,
      group: n.group,
      rssBytes: n.rssBytes,
      member: n.member,
    })),
    partition: status.partition,
    configuration: status.configuration && {...status.configuration, joint: isJoint(status.configuration)},
    disks: status.disks,
  }
}
