// The dashboard's view model: one pure reducer over what arrives (status snapshots, node events,
// key presses, results of the actions the user started) and pure derivations of what is shown
// (rows with lag bars, partition groups, the cluster's commit rate, the event feed). No I/O, no
// clock: every action carries its own time, so the whole dashboard logic is testable as data.
// Invariant: the feed is ordered by time and holds at most FEED_MAX items; an event a node sends
// twice (a backfill overlapping a subscription) appears once.
import {describeMembership, isJoint} from '../core/membership.js'
import {describeDiskFaults} from '../clusterdir/disk-faults.js'
import {partitionSides} from '../cluster/partition.js'
import {describeLinkFault, type LinkFault} from '../transport/link-filter.js'
import {absentRow, clusterCommitIndex, type ClusterStatus, type NodeRow} from '../cluster/status.js'
import type {NodeId} from '../core/types.js'
import {formatNodeEvent, type NodeEvent, type NodeEventBody} from '../protocol/events.js'

export const FEED_MAX = 200
/** How many event keys are remembered to drop duplicates. */
const SEEN_MAX = 2000
/** Commit rate: entries per second over this window of status snapshots. */
export const RATE_WINDOW_MS = 5000
/** The same line from other nodes (or repeated) within this window joins one feed item. */
const MERGE_WINDOW_MS = 3000

export type FeedKind = 'election' | 'leader' | 'down' | 'up' | 'partition' | 'snapshot' | 'config' | 'action' | 'error' | 'info'

/** Who a feed item is about: nodes (their own event lines), the cluster (derived), or the user. */
export type FeedSource = {type: 'nodes'; nodes: NodeId[]} | {type: 'cluster'} | {type: 'action'}

export interface FeedItem {
  /** First occurrence, ms since the epoch. */
  time: number
  lastTime: number
  source: FeedSource
  kind: FeedKind
  text: string
  /** How many times the same node(s) reported it within the merge window. */
  count: number
}

export type NodeAction = 'kill' | 'restart' | 'isolate' | 'heal'

export interface CommitSample {
  time: number
  commitIndex: number
}

export interface DashboardState {
  nodeIds: NodeId[]
  status: ClusterStatus | null
  updatedAt: number | null
  pollError: string | null
  selected: NodeId
  feed: FeedItem[]
  seen: ReadonlySet<string>
  seenOrder: readonly string[]
  samples: CommitSample[]
  /** Actions in flight, by node (0 for the cluster-wide heal). */
  pending: Readonly<Record<number, NodeAction>>
}

export type DashboardAction =
  | {type: 'status'; status: ClusterStatus; time: number}
  | {type: 'poll-failed'; message: string; time: number}
  | {type: 'events'; events: NodeEvent[]}
  | {type: 'move'; delta: number}
  | {type: 'select'; node: NodeId}
  | {type: 'action-started'; action: NodeAction; node: NodeId | null; time: number}
  | {type: 'action-finished'; action: NodeAction; node: NodeId | null; ok: boolean; message: string; time: number}

export function initialState(nodeIds: NodeId[]): DashboardState {
  return {
    nodeIds,
    status: null,
    updatedAt: null,
    pollError: null,
    selected: nodeIds[0] ?? 1,
    feed: [],
    seen: new Set(),
    seenOrder: [],
    samples: [],
    pending: {},
  }
}

export function reduce(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'status':
      return onStatus(state, action.status, action.time)
    case 'poll-failed':
      return {...state, pollError: action.message, updatedAt: action.time}
    case 'events':
      return onEvents(state, action.events)
    case 'move': {
      const next = moveSelection(state.nodeIds, state.selected, action.delta)
      return next === state.selected ? state : {...state, selected: next}
    }
    case 'select':
      return state.nodeIds.includes(action.node) ? {...state, selected: action.node} : state
    case 'action-started': {
      const key = action.node ?? 0
      const feed = addFeedItem(state.feed, {
        time: action.time,
        lastTime: action.time,
        source: {type: 'action'},
        kind: 'action',
        count: 1,
        text: `${actionVerb(action.action, action.node)}…`,
      })
      return {...state, pending: {...state.pending, [key]: action.action}, feed}
    }
    case 'action-finished': {
      const pending = {...state.pending}
      delete pending[action.node ?? 0]
      // The result takes the place of the "…" line the start put in the feed.
      const startText = `${actionVerb(action.action, action.node)}…`
      const at = state.feed.findLastIndex((f) => f.source.type === 'action' && f.text === startText)
      const rest = at >= 0 ? [...state.feed.slice(0, at), ...state.feed.slice(at + 1)] : state.feed
      const feed = addFeedItem(rest, {
        time: action.time,
        lastTime: action.time,
        source: {type: 'action'},
        kind: action.ok ? 'action' : 'error',
        count: 1,
        text: action.ok ? action.message : `${actionVerb(action.action, action.node)} failed: ${action.message}`,
      })
      return {...state, pending, feed}
    }
  }
}

/** The node `delta` rows from `selected`, stopping at the first and last. */
export function moveSelection(nodeIds: NodeId[], selected: NodeId, delta: number): NodeId {
  if (nodeIds.length === 0) return selected
  const at = Math.max(0, nodeIds.indexOf(selected))
  return nodeIds[Math.min(nodeIds.length - 1, Math.max(0, at + delta))]!
}

function actionVerb(action: NodeAction, node: NodeId | null): string {
  switch (action) {
    case 'kill':
      return `killing node ${node}`
    case 'restart':
      return `(re)starting node ${node}`
    case 'isolate':
      return `isolating node ${node}`
    case 'heal':
      return 'healing the partition'
  }
}

// ------------------------------------------------------------------------------------ status

function onStatus(state: DashboardState, status: ClusterStatus, time: number): DashboardState {
  let feed = state.feed
  for (const item of statusChanges(state.status, status, time)) feed = addFeedItem(feed, item)
  const nodeIds = status.nodes.length > 0 ? status.nodes.map((n) => n.id) : state.nodeIds
  return {
    ...state,
    status,
    updatedAt: time,
    pollError: null,
    feed,
    samples: addSample(state.samples, status, time),
    // Members come and go (`raftctl member`): the rows follow the address book the poll used.
    nodeIds,
    selected: nodeIds.includes(state.selected) ? state.selected : (nodeIds[0] ?? state.selected),
  }
}

/** Feed items derived from two consecutive snapshots: nodes down/up, leader changes. */
export function statusChanges(prev: ClusterStatus | null, cur: ClusterStatus, time: number): FeedItem[] {
  const items: FeedItem[] = []
  const add = (kind: FeedKind, text: string) => items.push({time, lastTime: time, source: {type: 'cluster'}, kind, text, count: 1})
  if (prev === null) {
    const up = cur.nodes.filter((n) => n.up).length
    add('info', `watching ${cur.nodes.length} nodes (${up} up); ${leaderText(cur)}`)
    const down = cur.nodes.filter((n) => !n.up)
    if (down.length <= 2) for (const n of down) add('down', `node ${n.id} is ${n.role === 'paused' ? 'paused' : 'down'}${notAnswering(n)}`)
    else add('down', `nodes ${idRanges(down.map((n) => n.id))} are down`)
    return items
  }
  const before = new Map(prev.nodes.map((n) => [n.id, n]))
  const wentDown: {now: NodeRow; was: NodeRow}[] = []
  const cameUp: NodeRow[] = []
  for (const n of cur.nodes) {
    const p = before.get(n.id)
    if (!p) continue
    if (p.up && !n.up) wentDown.push({now: n, was: p})
    else if (!p.up && n.up) cameUp.push(n)
  }
  // One line per node when one or two change; one line for many (a whole cluster stopped or started).
  if (wentDown.length <= 2) {
    for (const {now, was} of wentDown) add('down', `node ${now.id} ${now.role === 'paused' ? 'paused' : 'down'} (was ${was.role})${notAnswering(now)}`)
  } else {
    const leader = wentDown.find((d) => d.was.role === 'leader')
    add('down', `nodes ${idRanges(wentDown.map((d) => d.now.id))} down${leader ? ` (leader ${leader.now.id} among them)` : ''}`)
  }
  if (cameUp.length <= 2) {
    for (const n of cameUp) add('up', `node ${n.id} up${n.pid !== null ? ` (pid ${n.pid})` : ''}, ${n.role} in term ${n.term}`)
  } else {
    add('up', `nodes ${idRanges(cameUp.map((n) => n.id))} up`)
  }
  if (prev.leader !== cur.leader) {
    if (cur.leader === null) add('election', `no leader${cur.term !== null ? ` (highest term ${cur.term})` : ''}`)
    else if (prev.leader === null) add('leader', `leader elected: node ${cur.leader} (term ${cur.term})`)
    else add('leader', `leader changed: node ${prev.leader} → node ${cur.leader} (term ${cur.term})`)
  }
  return items
}

function leaderText(s: ClusterStatus): string {
  return s.leader !== null ? `leader node ${s.leader}, term ${s.term}` : 'no leader'
}

function notAnswering(n: NodeRow): string {
  return n.pid !== null && n.role !== 'paused' ? ' — process alive but not answering' : ''
}

function addSample(samples: CommitSample[], status: ClusterStatus, time: number): CommitSample[] {
  const commitIndex = clusterCommitIndex(status.nodes, status.leader)
  // No node answers: the rate is unknown, not what it was.
  if (commitIndex === null) return []
  const last = samples[samples.length - 1]
  // The commit index is volatile: after a whole-cluster restart it starts over. Start over too.
  if (last && (commitIndex < last.commitIndex || time < last.time)) return [{time, commitIndex}]
  const kept = samples.filter((s) => s.time >= time - RATE_WINDOW_MS)
  // Keep the newest sample older than the window, so the rate spans the whole window.
  const older = samples.filter((s) => s.time < time - RATE_WINDOW_MS)
  const edge = older[older.length - 1]
  return [...(edge ? [edge] : []), ...kept, {time, commitIndex}]
}

/** Entries committed per second over the sample window; null until there is half a second of history. */
export function commitRate(samples: CommitSample[]): number | null {
  const first = samples[0]
  const last = samples[samples.length - 1]
  if (!first || !last || last.time - first.time < 500) return null
  return ((last.commitIndex - first.commitIndex) * 1000) / (last.time - first.time)
}

// ------------------------------------------------------------------------------------ events

function onEvents(state: DashboardState, events: NodeEvent[]): DashboardState {
  let seen: Set<string> | null = null
  let seenOrder = state.seenOrder
  let feed = state.feed
  for (const e of events) {
    const key = `${e.node}|${e.time}|${e.text}`
    if ((seen ?? state.seen).has(key)) continue
    if (!seen) {
      seen = new Set(state.seen)
      seenOrder = [...state.seenOrder]
    }
    seen.add(key)
    ;(seenOrder as string[]).push(key)
    const item = feedItemForEvent(e)
    if (item) feed = addFeedItem(feed, item)
  }
  if (!seen) return state
  if (seenOrder.length > SEEN_MAX) {
    const drop = seenOrder.slice(0, seenOrder.length - SEEN_MAX)
    for (const k of drop) seen.delete(k)
    seenOrder = seenOrder.slice(-SEEN_MAX)
  }
  return {...state, seen, seenOrder, feed}
}

/**
 * What a node's event means for the feed, by its type (never by its text); null for what is not
 * worth a line (votes, pre-votes, transport chatter). The text is the feed's own: the same event
 * from several nodes must read the same to merge into one line naming them all.
 */
export function classifyEvent(e: NodeEventBody): {kind: FeedKind; text: string} | null {
  switch (e.type) {
    case 'election-started':
      return {kind: 'election', text: formatNodeEvent(e)}
    case 'became-leader':
    case 'stepped-down':
    case 'removed':
    case 'lost-quorum':
    case 'transfer-started':
    case 'transfer-timed-out':
    case 'asked-to-campaign':
      return {kind: 'leader', text: formatNodeEvent(e)}
    case 'partition-applied':
      // Every node reports its own group; without it the lines of all nodes merge into one.
      return {kind: 'partition', text: `partition applied: ${e.rules}`}
    case 'partition-healed':
      return {kind: 'partition', text: formatNodeEvent(e)}
    case 'membership-changed':
    case 'conf-change-proposed':
    case 'commit-proven':
      return {kind: 'config', text: formatNodeEvent(e)}
    case 'snapshot-taken':
    case 'installing-snapshot':
    case 'sending-snapshot':
    case 'snapshot-restored':
      return {kind: 'snapshot', text: formatNodeEvent(e)}
    case 'started':
      // Without pid and address, a cluster starting up is one line naming every node.
      return {kind: 'up', text: `started (term ${e.term}, last index ${e.lastIndex})`}
    case 'stopping':
    case 'stopped':
      return {kind: 'down', text: formatNodeEvent(e)}
    case 'storage':
      return e.recovery ? {kind: 'error', text: e.text} : null
    case 'malformed-command':
      return {kind: 'error', text: formatNodeEvent(e)}
    case 'pre-vote-started':
    case 'voted':
    case 'ignored-append':
    case 'following':
    case 'snapshot-dropped':
    case 'campaign-asked':
    case 'not-campaigning':
    case 'note':
      return null
  }
}

function feedItemForEvent(e: NodeEvent): FeedItem | null {
  // Events of an older raftctl (text only) are not classified.
  const c = e.event ? classifyEvent(e.event) : null
  if (!c) return null
  return {time: e.time, lastTime: e.time, source: {type: 'nodes', nodes: [e.node]}, kind: c.kind, text: c.text, count: 1}
}

/**
 * Inserts `item` in time order, or merges it into a recent item with the same text: the same line
 * from other nodes becomes one line naming them all; a repeat from the same nodes counts up.
 */
export function addFeedItem(feed: FeedItem[], item: FeedItem): FeedItem[] {
  for (let i = feed.length - 1; i >= 0 && i >= feed.length - 12; i--) {
    const f = feed[i]!
    if (f.kind !== item.kind || f.text !== item.text || f.source.type !== item.source.type) continue
    if (Math.abs(item.time - f.lastTime) > MERGE_WINDOW_MS) continue
    if (f.source.type === 'nodes' && item.source.type === 'nodes') {
      const have = new Set(f.source.nodes)
      const fresh = item.source.nodes.filter((n) => !have.has(n))
      const merged: FeedItem = {
        ...f,
        time: Math.min(f.time, item.time),
        lastTime: Math.max(f.lastTime, item.time),
        source: {type: 'nodes', nodes: [...f.source.nodes, ...fresh].sort((a, b) => a - b)},
        count: fresh.length === 0 ? f.count + 1 : f.count,
      }
      // An earlier report (a node's backfill arriving late) moves the line back to its time.
      return insertByTime([...feed.slice(0, i), ...feed.slice(i + 1)], merged)
    }
    if (f.source.type === 'cluster') {
      return [...feed.slice(0, i), {...f, lastTime: Math.max(f.lastTime, item.time), count: f.count + 1}, ...feed.slice(i + 1)]
    }
  }
  return insertByTime(feed, item)
}

function insertByTime(feed: FeedItem[], item: FeedItem): FeedItem[] {
  let at = feed.length
  while (at > 0 && feed[at - 1]!.time > item.time) at--
  const next = [...feed.slice(0, at), item, ...feed.slice(at)]
  return next.length > FEED_MAX ? next.slice(next.length - FEED_MAX) : next
}

// ------------------------------------------------------------------------------------ keys

export type KeyCommand = {type: 'move'; delta: number} | {type: 'run'; action: NodeAction} | {type: 'quit'}

export interface KeyInfo {
  upArrow?: boolean
  downArrow?: boolean
  ctrl?: boolean
}

export function commandForKey(input: string, key: KeyInfo): KeyCommand | null {
  if (key.upArrow) return {type: 'move', delta: -1}
  if (key.downArrow) return {type: 'move', delta: 1}
  if (key.ctrl) return input === 'c' ? {type: 'quit'} : null
  switch (input) {
    case 'q':
      return {type: 'quit'}
    case 'k':
      return {type: 'run', action: 'kill'}
    case 'r':
      return {type: 'run', action: 'restart'}
    case 'i':
      return {type: 'run', action: 'isolate'}
    case 'h':
      return {type: 'run', action: 'heal'}
    default:
      return null
  }
}

// ------------------------------------------------------------------------------------ view

/** A node's row as the dashboard shows it: the status row (down until one arrives), and its place on screen. */
export interface RowView extends NodeRow {
  selected: boolean
  /** False until the first status snapshot arrives: the node's state is not known yet. */
  known: boolean
  pending: NodeAction | null
}

export interface DashboardView {
  dir: string
  leader: NodeId | null
  term: number | null
  commitIndex: number | null
  commitRate: number | null
  upCount: number
  total: number
  updatedAt: number | null
  pollError: string | null
  rows: RowView[]
  /** Nodes that do not answer and are not paused. */
  down: NodeId[]
  /** Nodes whose process is stopped (SIGSTOP). */
  paused: NodeId[]
  /** The partition as complete groups (the unnamed nodes as one more group); null when healed. */
  groups: NodeId[][] | null
  cuts: number
  /** The configuration in force, in its one-line form (`voters 1,2,3; learners 4`); null when unknown. */
  configuration: string | null
  /** A joint configuration is in force (voters are being swapped). */
  joint: boolean
  /** Link faults in force, short (`delay 100ms±20ms on 8 links`), or null. */
  net: string | null
  /** Disk faults in force, short (`node 3 fsync +2000ms`), or null. */
  disks: string | null
  feed: FeedItem[]
  selected: NodeId
  healing: boolean
}

export function dashboardView(state: DashboardState, dir: string): DashboardView {
  const s = state.status
  const rows: RowView[] = state.nodeIds.map((id) => ({
    ...(s?.nodes.find((x) => x.id === id) ?? absentRow(id, '', null)),
    selected: id === state.selected,
    known: s !== null,
    pending: state.pending[id] ?? null,
  }))
  return {
    dir,
    leader: s?.leader ?? null,
    term: s?.term ?? null,
    commitIndex: s ? clusterCommitIndex(s.nodes, s.leader) : null,
    commitRate: commitRate(state.samples),
    upCount: rows.filter((r) => r.up).length,
    total: rows.length,
    updatedAt: state.updatedAt,
    pollError: state.pollError,
    rows,
    down: s ? rows.filter((r) => !r.up && r.role !== 'paused').map((r) => r.id) : [],
    paused: s ? rows.filter((r) => r.role === 'paused').map((r) => r.id) : [],
    groups:
      s?.partition && (partitionSides(s.partition.groups, state.nodeIds).length > 1 || (s.partition.cuts ?? []).length > 0)
        ? partitionSides(s.partition.groups, state.nodeIds)
        : null,
    cuts: s?.partition?.cuts?.length ?? 0,
    net: s?.partition?.links?.length ? linkSummary(s.partition.links) : null,
    disks: s?.disks?.length ? s.disks.map((d) => `node ${d.node} ${describeDiskFaults(d)}`).join(', ') : null,
    configuration: s?.configuration ? describeMembership(s.configuration) : null,
    joint: s?.configuration ? isJoint(s.configuration) : false,
    feed: state.feed,
    selected: state.selected,
    healing: state.pending[0] === 'heal',
  }
}

/** `delay 100ms±20ms on 8 links, loss 10% on 2`: each kind of link fault, with how many links have it. */
export function linkSummary(links: readonly LinkFault[]): string {
  const counts = new Map<string, number>()
  for (const l of links) {
    const text = describeLinkFault(l)
    counts.set(text, (counts.get(text) ?? 0) + 1)
  }
  return [...counts].map(([text, n]) => `${text} on ${n} link${n === 1 ? '' : 's'}`).join(', ')
}

/**
 * How many of `width` cells a lag bar fills: nothing when caught up, one cell for any lag, then
 * logarithmic (10 entries a quarter, 100 half, 10 000 and more all of it), so both a follower a
 * few entries behind and one cut off for minutes read at a glance.
 */
export function lagCells(lag: number | null, width: number): number {
  if (lag === null || lag <= 0 || width <= 0) return 0
  return Math.min(width, Math.max(1, Math.round((Math.log10(lag + 1) / 4) * width)))
}

export type LagLevel = 'none' | 'low' | 'high'

export function lagLevel(lag: number | null): LagLevel {
  if (lag === null || lag <= 0) return 'none'
  return lag < 100 ? 'low' : 'high'
}

/** Local wall-clock time HH:MM:SS. */
export function clock(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

export function sourceLabel(source: FeedSource): string {
  switch (source.type) {
    case 'nodes':
      return source.nodes.length === 1 ? `node ${source.nodes[0]}` : `n${idRanges(source.nodes)}`
    case 'cluster':
      return 'cluster'
    case 'action':
      return 'you'
  }
}

export function formatRate(rate: number | null): string {
  if (rate === null) return '–'
  if (rate < 0.05) return '0'
  return rate < 10 ? rate.toFixed(1) : String(Math.round(rate))
}

/** `1,2,3,5,7,8,9` → `1-3,5,7-9` (ids sorted ascending). */
export function idRanges(ids: NodeId[]): string {
  const parts: string[] = []
  for (let i = 0; i < ids.length;) {
    let j = i
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++
    parts.push(j - i >= 2 ? `${ids[i]}-${ids[j]}` : ids.slice(i, j + 1).join(','))
    i = j + 1
  }
  return parts.join(',')
}
