// What the dashboard's keys do to the cluster: the same services the `stop --kill`, `start`,
// `partition --isolate` and `heal` commands use. Each returns the one line the event feed shows,
// or throws with the reason.
import type {ClusterConfig} from '../clusterdir/config.js'
import {runningPid} from '../clusterdir/pids.js'
import {healAll} from '../cluster/network.js'
import {applyPartition, startNodes, stopNodes} from '../cluster/service.js'
import type {NodeId} from '../core/types.js'

export interface ClusterActions {
  kill(id: NodeId): Promise<string>
  restart(id: NodeId): Promise<string>
  isolate(id: NodeId): Promise<string>
  heal(): Promise<string>
}

export function clusterActions(dir: string, config: ClusterConfig): ClusterActions {
  const unreachableNote = (unreachable: NodeId[]) => (unreachable.length > 0 ? ` (not reached: ${unreachable.join(', ')})` : '')
  return {
    async kill(id) {
      const r = await stopNodes(dir, [id], true)
      return r.stopped.includes(id) ? `killed node ${id} (SIGKILL)` : `node ${id} was not running`
    },
    async restart(id) {
      const wasRunning = runningPid(dir, id) !== null
      if (wasRunning) await stopNodes(dir, [id], false)
      await startNodes(dir, {ids: [id]})
      const pid = runningPid(dir, id)
      return `${wasRunning ? 'restarted' : 'started'} node ${id}${pid !== null ? ` (pid ${pid})` : ''}`
    },
    async isolate(id) {
      const r = await applyPartition(dir, config, {groups: [[id]]})
      return `isolated node ${id}${unreachableNote(r.unreachable)}`
    },
    async heal() {
      const r = await healAll(dir, config)
      return `healed the partition${r.disks.length > 0 ? ' and the disks' : ''}${unreachableNote(r.unreachable)}`
    },
  }
}
