// `raftctl member` and `transfer-leader`: configuration changes through the leader, and the
// address book (cluster.json) kept in step with them.
//
// The replicated configuration (config entries in the log, core/membership.ts) is the truth about
// who votes; cluster.json is the address book. The order of steps keeps the two safe:
//   add:     write the new node's address and data dir (born with its identity) -> start it
//            -> add it as a learner (it catches up; it votes in nothing) -> once its match index
//            is within PROMOTE_LAG of the leader's log, promote it to voter (unless --learner).
//   remove:  commit the removal -> stop the node (if it runs) -> move it to `removed` in
//            cluster.json (its id is never given out again; its data dir stays on disk).
//   replace: remove the old node, then add a fresh one (a new id): the recovery for a lost disk.
// A command interrupted half-way leaves a state the next command can finish: a learner that was
// not promoted (`member promote`), a removed node still listed (`member remove` again is a no-op
// on the configuration and finishes the bookkeeping).
import net from 'node:net'
import {rmSync} from 'node:fs'
import {ChangeRefusedError, ClusterClient, UnavailableError} from '../client/cluster-client.js'
import {
  DEFAULTS,
  loadCluster,
  nextNodeId,
  nodeDir,
  paths,
  raftctl,
  readPartition,
  readSecret,
  writeFileAtomic,
  writePartition,
  type ClusterConfig,
  type NodeConfig,
} from '../clusterdir/config.js'
import {isJoint, isVoter, members, type ConfChange, type Membership} from '../core/membership.js'
import type {NodeId} from '../core/types.js'
import {formatDuration} from '../lib/duration.js'
import {CliError, ExitCode, operationalError, usageError} from '../lib/errors.js'
import {RealFs} from '../storage/real-fs.js'
import {writeIdentity} from '../storage/identity.js'
import type {NodeStatus} from '../protocol/protocol.js'
import {withDirLock} from './lock.js'
import {runningPid} from '../clusterdir/pids.js'
import {sleep, stopPids} from './processes.js'
import {completePartition} from './partition.js'
import {applyPartition, startNodes} from './service.js'
import {adminRequest, agreedLeader, configurationOf, nodeStatuses} from './status.js'

/** A learner is promoted once its match index is this close to the leader's last index. */
export const PROMOTE_LAG = 64

export interface MemberRow {
  id: NodeId
  address: string
  role: 'voter' | 'learner'
  up: boolean
  /** The leader's view of the member's log (null without a leader, or for a member it does not track). */
  matchIndex: number | null
  /** How far matchIndex trails the leader's last index. */
  lag: number | null
}

export interface MemberList {
  leader: NodeId | null
  configuration: Membership
  joint: boolean
  members: MemberRow[]
}

interface ClusterView {
  config: ClusterConfig
  statuses: (NodeStatus | null)[]
  leader: NodeStatus | null
  /** The leader's configuration, else the freshest an up node reports. */
  configuration: Membership | null
}

async function view(dir: string, timeoutMs = 1000): Promise<ClusterView> {
  const config = loadCluster(dir)
  const statuses = await nodeStatuses(config, readSecret(dir), timeoutMs)
  const id = agreedLeader(statuses)
  const leader = statuses.find((s) => s !== null && s.id === id) ?? null
  return {config, statuses, leader, configuration: configurationOf(statuses, leader)}
}

/** The status node `id` answered in this view, or null (down, or not a member of the address book). */
function statusOf(v: ClusterView, id: NodeId): NodeStatus | null {
  return v.statuses[v.config.nodes.findIndex((n) => n.id === id)] ?? null
}

/** `member list`: every member of the configuration, with what the leader knows of it. */
export async function listMembers(dir: string): Promise<MemberList> {
  const v = await view(dir)
  if (!v.configuration) {
    throw new CliError('no node answered: the configuration is unknown', ExitCode.unavailable, 'unavailable', `start the cluster: ${raftctl(dir, 'start')}`)
  }
  return {leader: v.leader?.id ?? null, configuration: v.configuration, joint: isJoint(v.configuration), members: rows(v, v.configuration)}
}

function rows(v: ClusterView, m: Membership): MemberRow[] {
  return members(m).map((id) => {
    const node = v.config.nodes.find((n) => n.id === id) ?? v.config.removed?.find((n) => n.id === id)
    const s = statusOf(v, id)
    const match = v.leader?.matchIndex?.[id] ?? null
    return {
      id,
      address: node ? `${node.host}:${node.port}` : '?',
      role: isVoter(m, id) ? 'voter' : 'learner',
      up: s !== null,
      matchIndex: match,
      lag: match !== null && v.leader ? Math.max(0, v.leader.lastIndex - match) : null,
    }
  })
}

export interface ChangeOptions {
  force: boolean
  timeoutMs: number
}

/** Proposes `change` and waits until the configuration it leads to is in force (joint left). */
async function change(dir: string, cc: ConfChange, o: ChangeOptions, done: (m: Membership) => boolean): Promise<Membership> {
  const config = loadCluster(dir)
  const client = new ClusterClient({nodes: config.nodes, clusterId: config.clusterId, secret: readSecret(dir)})
  const deadline = Date.now() + o.timeoutMs
  try {
    for (;;) {
      try {
        await client.changeMembership(cc, {force: o.force, timeoutMs: Math.max(1, deadline - Date.now())})
        break
      } catch (err) {
        // A lost answer, then a retry refused as redundant: judge by the configuration itself.
        if (!(err instanceof UnavailableError) && !(err instanceof ChangeRefusedError)) throw err
        const now = (await view(dir)).configuration
        if (now && done(now)) break
        // Refusals that pass: the previous change still settling, a new leader, a transfer.
        const transient = err instanceof ChangeRefusedError && /in progress/.test(err.reason)
        if (!transient) throw err instanceof ChangeRefusedError ? refused(dir, err) : unavailable(o.timeoutMs, err.message)
        if (Date.now() > deadline) throw unavailable(o.timeoutMs, err.reason)
        await sleep(100)
      }
    }
    // A change of several voters is answered when the joint configuration is in force; the leader
    // leaves it at once (auto-leave). Wait for that, and for the leader to report it.
    const settled = await pollView(dir, deadline, (v) => v.configuration !== null && done(v.configuration) && !isJoint(v.configuration))
    if (!settled.ok) throw unavailable(o.timeoutMs, 'the change did not complete')
    return settled.view.configuration!
  } finally {
    await client.close()
  }
}

function refused(dir: string, err: ChangeRefusedError): CliError {
  const quorum = /quorum/.test(err.reason)
  return new CliError(
    `the change was refused: ${err.reason}`,
    ExitCode.operational,
    'refused',
    quorum
      ? 'bring the down nodes back first, or pass --force if you accept a configuration that cannot commit until they return'
      : `see ${raftctl(dir, 'member list')}`,
  )
}

function unavailable(timeoutMs: number, why: string): CliError {
  return new CliError(
    `no leader committed the configuration change within ${formatDuration(timeoutMs)} (it may still take effect): ${why}`,
    ExitCode.unavailable,
    'unavailable',
    'check raftctl member list',
  )
}

export interface AddResult {
  id: NodeId
  address: string
  role: 'voter' | 'learner'
}

/** `member add`: a new node, started, added as a learner, promoted once caught up (unless `learner`). */
export async function addMember(dir: string, o: ChangeOptions & {learner: boolean; port?: number}): Promise<AddResult> {
  // Waits for one (within --timeout): right after an election, or after `member replace` removed
  // the leader, the others may not have elected its successor yet.
  const before = (await pollView(dir, Date.now() + o.timeoutMs, (v) => v.leader !== null)).view
  if (!before.leader)
    throw new CliError(
      `no leader within ${formatDuration(o.timeoutMs)}: a member can only be added through one`,
      ExitCode.unavailable,
      'unavailable',
      `check ${raftctl(dir, 'status')}`,
    )
  const node = await withDirLock(dir, async () => {
    const config = loadCluster(dir)
    const id = nextNodeId(config)
    const host = config.nodes[0]?.host ?? DEFAULTS.host
    const taken = new Set([...config.nodes, ...(config.removed ?? [])].map((n) => n.port))
    let port = o.port
    if (port !== undefined) {
      if (taken.has(port)) throw usageError(`--port ${port} is already the port of a node of this cluster`)
      if (!(await portFree(host, port))) throw operationalError(`port ${port} is in use on ${host}`, 'pick another with --port')
    } else {
      port = Math.max(...taken) + 1
      while (port <= 65535 && !(await portFree(host, port))) port++
      if (port > 65535) throw operationalError("no free port above the cluster's ports", 'pick one with --port')
    }
    const entry: NodeConfig = {id, host, port}
    // The data directory is born with its identity, as at init (storage/identity.ts).
    rmSync(nodeDir(dir, id), {recursive: true, force: true})
    writeIdentity(new RealFs(), paths.data(dir, id), {clusterId: config.clusterId, nodeId: id})
    writeConfig(dir, {...config, nodes: [...config.nodes, entry].sort((a, b) => a.id - b.id)})
    // During a partition the new node joins the leader's side (else, named in no group, it would
    // sit in a group of its own and never catch up). It reads the rules as it starts; the others
    // are told below.
    const rules = readPartition(dir)
    const leader = before.leader!.id
    if (rules && rules.groups.some((g) => g.includes(leader))) {
      writePartition(dir, {...rules, groups: rules.groups.map((g) => (g.includes(leader) ? [...g, id] : g))})
    }
    return entry
  })
  const address = `${node.host}:${node.port}`
  try {
    await startNodes(dir, {ids: [node.id]})
    const rules = readPartition(dir)
    if (rules) await applyPartition(dir, loadCluster(dir), rules)
  } catch (err) {
    await stopNode(dir, node.id)
    await forget(dir, node.id, true)
    throw err
  }
  try {
    await change(dir, {ops: [{type: 'add-learner', node: node.id}]}, o, (m) => members(m).includes(node.id))
  } catch (err) {
    // Not in the configuration: stop it and take it out of the address book again.
    const now = (await view(dir).catch(() => null))?.configuration
    if (!now || !members(now).includes(node.id)) {
      await stopNode(dir, node.id)
      await forget(dir, node.id, true)
    }
    throw err
  }
  if (o.learner) return {id: node.id, address, role: 'learner'}
  await waitCaughtUp(dir, node.id, Date.now() + o.timeoutMs, o.timeoutMs)
  await change(dir, {ops: [{type: 'add-voter', node: node.id}]}, o, (m) => isVoter(m, node.id))
  return {id: node.id, address, role: 'voter'}
}

/**
 * Polls the cluster's view (500 ms per node) every 50 ms until `done` holds (ok) or the deadline
 * passes (not ok, with the last view, for the message).
 */
async function pollView(dir: string, deadline: number, done: (v: ClusterView) => boolean): Promise<{ok: boolean; view: ClusterView}> {
  for (;;) {
    const v = await view(dir, 500)
    if (done(v)) return {ok: true, view: v}
    if (Date.now() > deadline) return {ok: false, view: v}
    await sleep(50)
  }
}

/** Waits until the leader's match index of `id` is within PROMOTE_LAG of its last index. */
async function waitCaughtUp(dir: string, id: NodeId, deadline: number, timeoutMs: number): Promise<void> {
  const caughtUp = await pollView(dir, deadline, (v) => {
    const match = v.leader?.matchIndex?.[id]
    return v.leader !== null && match !== undefined && v.leader.lastIndex - match <= PROMOTE_LAG
  })
  if (!caughtUp.ok) {
    throw new CliError(
      `node ${id} did not catch up within ${formatDuration(timeoutMs)}; it stays a learner`,
      ExitCode.unavailable,
      'unavailable',
      `promote it later: ${raftctl(dir, `member promote ${id}`)}`,
    )
  }
}

/** `member promote`: a learner becomes a voter (refused unless caught up, like the automatic promotion). */
export async function promoteMember(dir: string, id: NodeId, o: ChangeOptions): Promise<Membership> {
  const v = await view(dir)
  const m = v.configuration
  if (m && isVoter(m, id)) return m
  if (m && !members(m).includes(id)) throw usageError(`node ${id} is not a member of the configuration (${raftctl(dir, 'member list')})`)
  await waitCaughtUp(dir, id, Date.now() + o.timeoutMs, o.timeoutMs)
  return change(dir, {ops: [{type: 'add-voter', node: id}]}, o, (c) => isVoter(c, id))
}

/**
 * Makes voter `id` a learner (one change: it leaves the voters, stays in the log's audience).
 * `raftctl check --faults member` uses it with promoteMember to change the voters under load
 * while the set of processes stays the same. Demoting the leader makes it step down.
 */
export async function demoteMember(dir: string, id: NodeId, o: ChangeOptions): Promise<Membership> {
  const m = (await view(dir)).configuration
  if (m && !isVoter(m, id)) return m
  return change(
    dir,
    {
      ops: [
        {type: 'remove', node: id},
        {type: 'add-learner', node: id},
      ],
    },
    o,
    (c) => !isVoter(c, id) && members(c).includes(id),
  )
}

export interface RemoveResult {
  id: NodeId
  stopped: boolean
  configuration: Membership
}

/**
 * `member remove`: commits the removal, waits until a quorum of the new voters has applied it,
 * then stops the node and retires its id.
 */
export async function removeMember(dir: string, id: NodeId, o: ChangeOptions, command = 'remove'): Promise<RemoveResult> {
  const deadline = Date.now() + o.timeoutMs
  const v = await view(dir)
  const m = v.configuration
  let configuration: Membership
  if (m && !members(m).includes(id))
    configuration = m // Already out (an earlier remove was cut short): finish the bookkeeping.
  else {
    if (m && isVoter(m, id) && m.voters.length === 1 && !isJoint(m))
      throw operationalError(`node ${id} is the only voter: removing it would leave no one to commit anything`)
    configuration = await change(dir, {ops: [{type: 'remove', node: id}]}, o, (c) => !members(c).includes(id))
  }
  await untilQuorumApplied(dir, id, configuration, Math.max(deadline, Date.now() + 2000), `member ${command} ${id}`)
  const stopped = await stopNode(dir, id)
  await forget(dir, id, false)
  return {id, stopped, configuration}
}

/** `member replace`: removes `id` and adds a fresh node (a new id) in its place. */
export async function replaceMember(dir: string, id: NodeId, o: ChangeOptions): Promise<{removed: RemoveResult; added: AddResult}> {
  const removed = await removeMember(dir, id, o, 'replace')
  const added = await addMember(dir, {...o, learner: false})
  return {removed, added}
}

/**
 * Waits until a majority of `m`'s voters have applied the removal of `id`. Until they have, they
 * still count the configuration that holds `id` (a node switches when it applies a change), and a
 * removed leader steps down as soon as it applies it itself: with a voter down, its vote may be the
 * one they need to elect a leader who tells them the removal committed. Stopped before that, the
 * cluster could stall for good. So could retiring a removed leader that crashed right after it
 * committed the change (the simulator found that one): it must stay startable until they know.
 */
async function untilQuorumApplied(dir: string, id: NodeId, m: Membership, deadline: number, again: string): Promise<void> {
  const need = Math.floor(m.voters.length / 2) + 1
  const appliedIn = (v: ClusterView) => v.statuses.filter((s) => s !== null && m.voters.includes(s.id) && !members(s.membership).includes(id)).length
  const r = await pollView(dir, deadline, (v) => appliedIn(v) >= need)
  if (r.ok) return
  const up = runningPid(dir, id) !== null
  throw new CliError(
    `node ${id} is out of the configuration, but only ${appliedIn(r.view)} of the ${need} new voters needed have applied that; ${up ? 'it keeps running' : 'it stays in the address book'} until they have`,
    ExitCode.unavailable,
    'unavailable',
    up
      ? `bring the down nodes back, then run ${raftctl(dir, again)} again to stop it`
      : `start it (${raftctl(dir, `start ${id}`)}) or the down nodes, so the others can elect a leader that tells them; then run ${raftctl(dir, again)} again`,
  )
}

/** Stops `id` if it runs; true if it did. */
async function stopNode(dir: string, id: NodeId): Promise<boolean> {
  const pid = runningPid(dir, id)
  if (pid === null) return false
  await stopPids([pid], {kill: false})
  return true
}

/** Takes `id` out of the address book: into `removed` (its id retired), or dropped (`never` joined). */
async function forget(dir: string, id: NodeId, never: boolean): Promise<void> {
  await withDirLock(dir, () => {
    const config = loadCluster(dir)
    const node = config.nodes.find((n) => n.id === id)
    if (!node) return
    const removed = [...(config.removed ?? []), ...(never ? [] : [node])]
    writeConfig(dir, {...config, nodes: config.nodes.filter((n) => n.id !== id), removed: removed.length > 0 ? removed : undefined})
    const rules = readPartition(dir)
    if (rules)
      writePartition(
        dir,
        completePartition(
          {...rules, groups: rules.groups.map((g) => g.filter((n) => n !== id))},
          config.nodes.filter((n) => n.id !== id).map((n) => n.id),
        ),
      )
    if (never) rmSync(nodeDir(dir, id), {recursive: true, force: true})
  })
}

/** cluster.json, rewritten atomically (the caller holds the directory lock). */
function writeConfig(dir: string, config: ClusterConfig): void {
  writeFileAtomic(paths.cluster(dir), JSON.stringify(config, null, 2) + '\n')
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = net.createServer()
    srv.once('error', () => done(false))
    srv.listen({host, port, exclusive: true}, () => srv.close(() => done(true)))
  })
}

export interface TransferResult {
  from: NodeId
  to: NodeId
  term: number
}

/** `transfer-leader`: hands leadership to `to` (default: the most caught-up voter) and waits until it leads. */
export async function transferLeader(dir: string, to: NodeId | undefined, timeoutMs: number): Promise<TransferResult> {
  const deadline = Date.now() + timeoutMs
  const v = await view(dir)
  if (!v.leader) throw new CliError('no leader to transfer from', ExitCode.unavailable, 'unavailable', `check ${raftctl(dir, 'status')}`)
  const from = v.leader.id
  const m = v.leader.membership
  if (to === undefined) {
    const candidates = m.voters.filter((id) => id !== from && statusOf(v, id) !== null)
    if (candidates.length === 0) throw operationalError('no other voter is up to take over')
    to = candidates.sort((a, b) => (v.leader!.matchIndex?.[b] ?? 0) - (v.leader!.matchIndex?.[a] ?? 0) || a - b)[0]!
  }
  if (to === from) return {from, to, term: v.leader.term}
  if (!isVoter(m, to)) throw operationalError(`node ${to} is ${members(m).includes(to) ? 'a learner' : 'not a member'}: only a voter can lead`)
  const config = v.config
  const secret = readSecret(dir)
  let asked = 0
  for (;;) {
    const now = await nodeStatuses(config, secret, 500)
    const leader = agreedLeader(now)
    if (leader === to) return {from, to, term: now.find((s) => s?.id === to)!.term}
    // Ask the leader (again, if a transfer timed out after an election timeout without success).
    if (leader !== null && Date.now() - asked > 1000) {
      asked = Date.now()
      await adminRequest(config, secret, leader, {type: 'transfer', to}, 500).catch(() => {})
    }
    if (Date.now() > deadline) {
      throw new CliError(
        `node ${to} did not take over leadership within ${formatDuration(timeoutMs)}`,
        ExitCode.unavailable,
        'unavailable',
        `check ${raftctl(dir, 'status')}`,
      )
    }
    await sleep(50)
  }
}
