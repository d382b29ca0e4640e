// Presentational components of the dashboard: props in, view out, no state and no I/O. Every line
// is laid out as plain-text segments of known width first and cut to the terminal width, so the
// frame never wraps, whatever the data (long directories, 7-digit indexes, 15 nodes). The frame is
// exactly `height` lines: header, one row per node, the down/partition summary, the event feed
// (it takes what is left) and the key footer at the bottom. A small terminal loses things in a
// fixed order: first the event feed (rows scroll with the selection when even they do not fit),
// then columns (PID and address, the lag bar, LAST, APPLIED, TERM), and the header and footer
// take their short forms; below MIN_WIDTH x MIN_HEIGHT it says the terminal is too small.
import {Box, Text} from 'ink'
import type {NodeId} from '../core/types.js'
import {
  clock,
  formatRate,
  idRanges,
  lagCells,
  lagLevel,
  RATE_WINDOW_MS,
  sourceLabel,
  type DashboardView,
  type FeedItem,
  type FeedKind,
  type NodeAction,
  type RowView,
} from './model.js'

export interface Seg {
  text: string
  color?: string
  bold?: boolean
  dim?: boolean
  inverse?: boolean
}

export interface DashboardProps {
  view: DashboardView
  /** Terminal columns; lines are at most this wide. */
  width: number
  /** Terminal rows the frame may use (keep one below the terminal's height: Ink redraws the whole screen otherwise). */
  height: number
  color: boolean
}

const FOOTER_KEYS: [string, string][] = [
  ['↑↓', 'select'],
  ['k', 'kill'],
  ['r', 'restart'],
  ['i', 'isolate'],
  ['h', 'heal'],
  ['q', 'quit'],
]

/** Lines other than node rows and the feed: 2 header, table header, summary, footer. */
const CHROME_LINES = 5
/** The feed is shown only with room for its title and at least this many events. */
const MIN_FEED_EVENTS = 2
/** Below this the dashboard says the terminal is too small instead of drawing a cut-up frame. */
export const MIN_WIDTH = 40
export const MIN_HEIGHT = 8

export function Dashboard({view, width, height, color}: DashboardProps) {
  if (width < MIN_WIDTH || height < MIN_HEIGHT) return <TooSmall width={width} height={height} color={color} />
  const w = width
  const layout = tableLayout(w)
  // The rows first; the feed gets what is left, or nothing when that is too little to read.
  const rows = visibleRows(view.rows, Math.max(1, height - CHROME_LINES))
  const left = height - CHROME_LINES - rows.length
  // Event lines under the feed's title line.
  const feedLines = left >= MIN_FEED_EVENTS + 1 ? left - 1 : 0
  return (
    <Box flexDirection="column" width={w}>
      <Header view={view} width={w} color={color} />
      <NodeTable rows={rows} layout={layout} width={w} color={color} hidden={view.rows.length - rows.length} />
      <Summary view={view} width={w} color={color} />
      <EventFeed items={view.feed} lines={feedLines} width={w} color={color} />
      {Array.from({length: feedLines > 0 ? 0 : left}, (_, i) => (
        <Text key={`pad${i}`}> </Text>
      ))}
      <Footer width={w} color={color} selected={view.selected} />
    </Box>
  )
}

/** What a terminal below MIN_WIDTH x MIN_HEIGHT shows: the sizes, and how to quit. */
export function TooSmall({width, height, color}: {width: number; height: number; color: boolean}) {
  const w = Math.max(1, width)
  const lines = [`terminal too small (${width}x${height + 1})`, `the dashboard needs ${MIN_WIDTH}x${MIN_HEIGHT + 1}`, 'q quits']
  return (
    <Box flexDirection="column">
      {lines.slice(0, Math.max(1, height)).map((l, i) => (
        <Line key={i} segs={[{text: l, bold: i === 0, color: i === 0 ? 'yellow' : undefined}]} width={w} color={color} />
      ))}
    </Box>
  )
}

// -------------------------------------------------------------------------------------- lines

/** One terminal line: segments cut at `width` (with an ellipsis), never wrapped. */
export function Line({segs, width, color}: {segs: Seg[]; width: number; color: boolean}) {
  const cut = fitSegs(segs, width)
  if (cut.length === 0) return <Text> </Text>
  return (
    <Text wrap="truncate-end">
      {cut.map((s, i) =>
        color ? (
          <Text key={i} color={s.color} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
            {s.text}
          </Text>
        ) : (
          <Text key={i}>{s.text}</Text>
        ),
      )}
    </Text>
  )
}

export function fitSegs(segs: Seg[], width: number): Seg[] {
  const out: Seg[] = []
  let used = 0
  const total = segs.reduce((n, s) => n + s.text.length, 0)
  for (const s of segs) {
    if (used >= width) break
    if (used + s.text.length <= width) {
      out.push(s)
      used += s.text.length
      continue
    }
    const room = width - used
    out.push({...s, text: room > 1 ? s.text.slice(0, room - 1) + '…' : '…'})
    used = width
  }
  // Trailing blanks only pad; drop them when the content itself is short.
  if (total <= width) {
    while (out.length > 0 && out[out.length - 1]!.text.trim() === '' && !out[out.length - 1]!.inverse) out.pop()
  }
  return out
}

function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (text.length > width) return width > 1 ? text.slice(0, width - 1) + '…' : text.slice(0, width)
  return align === 'left' ? text.padEnd(width) : text.padStart(width)
}

/** Keeps the end of a long path: `…/raftctl-abc/cluster`. */
export function shortenLeft(text: string, width: number): string {
  if (text.length <= width) return text
  return width > 1 ? '…' + text.slice(text.length - width + 1) : '…'
}

// -------------------------------------------------------------------------------------- header

export function Header({view, width, color}: {view: DashboardView; width: number; color: boolean}) {
  const right = view.pollError ? `poll failed: ${view.pollError}` : view.updatedAt !== null ? `updated ${clock(view.updatedAt)}` : 'connecting…'
  const title = 'raftctl status  '
  const dirRoom = Math.max(8, width - 1 - title.length - right.length - 2)
  const dir = shortenLeft(view.dir, dirRoom)
  const gap = Math.max(2, width - 1 - title.length - dir.length - right.length)
  const line1: Seg[] = [
    {text: 'raftctl status', bold: true},
    {text: '  '},
    {text: dir, color: 'cyan'},
    {text: ' '.repeat(gap)},
    {text: right, color: view.pollError ? 'red' : undefined, dim: !view.pollError},
  ]
  const allUp = view.upCount === view.total
  const up: Seg = {text: `${view.upCount}/${view.total} up`, color: allUp ? 'green' : 'red', bold: !allUp}
  const term: Seg = {text: view.term !== null ? String(view.term) : '–', bold: true}
  const commit: Seg = {text: view.commitIndex !== null ? String(view.commitIndex) : '–', bold: true}
  const rate: Seg = {text: formatRate(view.commitRate), bold: true}
  // The rate is entries committed per second over the last RATE_WINDOW_MS: the label says so.
  const windowText = `${RATE_WINDOW_MS / 1000}s`
  const line = (leader: string, gap: string, rateLabel: string): Seg[] => [
    {text: 'leader '},
    view.leader !== null ? {text: leader, color: 'green', bold: true} : {text: 'none', color: 'red', bold: true},
    {text: `${gap}term `},
    term,
    {text: `${gap}commit `},
    commit,
    {text: gap},
    rate,
    {text: `${rateLabel}${gap}`},
    up,
  ]
  const full = line(`node ${view.leader}`, '   ', ` commits/s (last ${windowText})`)
  const short = line(String(view.leader), '  ', `/s (${windowText})`)
  const line2 = segsWidth(full) <= width - 1 ? full : short
  return (
    <>
      <Line segs={line1} width={width} color={color} />
      <Line segs={line2} width={width} color={color} />
    </>
  )
}

// -------------------------------------------------------------------------------------- table

export interface TableLayout {
  /** Cells of the lag bar; 0: the lag as a number only. */
  bar: number
  term: boolean
  last: boolean
  applied: boolean
  pid: boolean
  address: boolean
}

const W = {sel: 2, id: 2, role: 13, term: 6, index: 8, lag: 6, group: 5, pid: 7, address: 21}
/** Widths of the optional columns, with the space before each. */
const COL = {term: 1 + W.term, index: 1 + W.index, lag: 2 + W.lag, group: 1 + W.group, pid: 2 + W.pid, address: 2 + W.address}

/**
 * Columns for a terminal `width` wide. The lag bar takes the slack (up to 24 cells); PID and
 * address appear when there is room. Narrower, columns go in this order: the bar, LAST, APPLIED,
 * TERM. ID, ROLE, COMMIT, LAG (as a number) and GROUP always stay.
 */
export function tableLayout(width: number): TableLayout {
  const budget = width - 1
  const always = W.sel + W.id + 1 + W.role + COL.index + COL.lag + COL.group
  const layout: TableLayout = {bar: 0, term: true, last: true, applied: true, pid: false, address: false}
  let used = always + COL.term + 2 * COL.index
  for (const drop of ['last', 'applied', 'term'] as const) {
    if (used <= budget) break
    layout[drop] = false
    used -= drop === 'term' ? COL.term : COL.index
  }
  if (!layout.last) return layout
  const room = budget - used
  if (room >= 5) layout.bar = Math.min(24, room - 1)
  let rest = room - (layout.bar > 0 ? layout.bar + 1 : 0)
  layout.pid = rest >= COL.pid
  if (layout.pid) rest -= COL.pid
  layout.address = rest >= COL.address
  return layout
}

const ROLE_COLOR: Record<RowView['role'], string | undefined> = {
  leader: 'green',
  follower: undefined,
  candidate: 'yellow',
  'pre-candidate': 'yellow',
  paused: 'red',
  down: 'red',
}

const PENDING_TEXT: Record<NodeAction, string> = {
  kill: 'killing…',
  restart: 'starting…',
  isolate: 'isolating…',
  heal: 'healing…',
}

function headerSegs(layout: TableLayout): Seg[] {
  let text = '  ' + pad('ID', W.id, 'right') + ' ' + pad('ROLE', W.role)
  if (layout.term) text += ' ' + pad('TERM', W.term, 'right')
  if (layout.last) text += ' ' + pad('LAST', W.index, 'right')
  text += ' ' + pad('COMMIT', W.index, 'right')
  if (layout.applied) text += ' ' + pad('APPLIED', W.index, 'right')
  text += '  ' + pad('LAG', lagWidth(layout)) + ' ' + pad('GROUP', W.group, 'right')
  if (layout.pid) text += '  ' + pad('PID', W.pid, 'right')
  if (layout.address) text += '  ' + pad('ADDRESS', W.address)
  return [{text, dim: true, bold: true}]
}

const lagWidth = (layout: TableLayout) => (layout.bar > 0 ? layout.bar + 1 : 0) + W.lag

export function rowSegs(row: RowView, layout: TableLayout): Seg[] {
  const dash = (v: number | null, w: number) => pad(v === null ? '-' : String(v), w, 'right')
  const sel = row.selected
  let numbers = ''
  if (layout.term) numbers += ' ' + dash(row.term, W.term)
  if (layout.last) numbers += ' ' + dash(row.lastIndex, W.index)
  numbers += ' ' + dash(row.commitIndex, W.index)
  if (layout.applied) numbers += ' ' + dash(row.appliedIndex, W.index)
  const segs: Seg[] = [
    {text: sel ? '› ' : '  ', bold: true, color: sel ? 'cyan' : undefined},
    {text: pad(String(row.id), W.id, 'right'), bold: sel, inverse: sel},
    {text: ' '},
    row.known
      ? row.member === 'learner' && row.role === 'follower'
        ? {text: pad('learner', W.role), color: 'cyan'}
        : {text: pad(row.role, W.role), color: ROLE_COLOR[row.role], bold: row.role === 'leader' || row.role === 'down'}
      : {text: pad('…', W.role), dim: true},
    {text: numbers + '  ', dim: !row.up},
  ]
  const width = lagWidth(layout)
  if (row.pending) {
    segs.push({text: pad(PENDING_TEXT[row.pending], width), color: 'cyan'})
  } else if (row.lag === null) {
    const down = row.known && !row.up
    // A pid without answers: the process is there but paused or hung, not crashed.
    const silent = [`no answer (pid ${row.pid})`, 'no answer', 'hung'].find((t) => t.length <= width) ?? 'hung'
    const text = !down ? '' : row.role === 'paused' ? 'paused' : row.pid !== null ? silent : 'down'
    segs.push({text: pad(text, width), color: down ? 'red' : undefined})
  } else {
    const level = lagLevel(row.lag)
    if (layout.bar > 0) {
      const filled = lagCells(row.lag, layout.bar)
      segs.push({text: '█'.repeat(filled), color: level === 'high' ? 'red' : 'yellow'})
      segs.push({text: '░'.repeat(layout.bar - filled) + ' ', dim: true, color: level === 'none' ? 'green' : undefined})
    }
    segs.push({text: pad(String(row.lag), W.lag), color: level === 'high' ? 'red' : level === 'low' ? 'yellow' : undefined})
  }
  segs.push({text: ' ' + pad(row.group === null ? '-' : `g${row.group}`, W.group, 'right'), dim: !row.up})
  if (layout.pid) segs.push({text: '  ' + pad(row.pid === null ? '-' : String(row.pid), W.pid, 'right'), dim: true})
  if (layout.address) segs.push({text: '  ' + pad(row.address, W.address), dim: true})
  return segs
}

/** At most `max` rows, keeping the selected one in view. */
function visibleRows(rows: RowView[], max: number): RowView[] {
  if (rows.length <= max) return rows
  const at = Math.max(
    0,
    rows.findIndex((r) => r.selected),
  )
  const start = Math.min(Math.max(0, at - Math.floor(max / 2)), rows.length - max)
  return rows.slice(start, start + max)
}

export function NodeTable({rows, layout, width, color}: {rows: RowView[]; layout: TableLayout; width: number; color: boolean; hidden?: number}) {
  return (
    <>
      <Line segs={headerSegs(layout)} width={width} color={color} />
      {rows.map((r) => (
        <Line key={r.id} segs={rowSegs(r, layout)} width={width} color={color} />
      ))}
    </>
  )
}

// -------------------------------------------------------------------------------------- summary

export function groupsText(groups: NodeId[][]): string {
  return groups.map((g, i) => `g${i + 1} [${g.join(',')}]`).join('  ')
}

export function Summary({view, width, color}: {view: DashboardView; width: number; color: boolean}) {
  // The configuration, when it is more than every listed node voting.
  const showConfig = view.configuration !== null && view.configuration !== `voters ${view.rows.map((r) => r.id).join(',')}`
  const segs: Seg[] = [{text: 'down: '}]
  if (view.down.length > 0) {
    const text = view.down.length === 1 ? `node ${view.down[0]}` : `nodes ${idRanges(view.down)}`
    segs.push({text, color: 'red', bold: true})
  } else segs.push({text: view.updatedAt === null ? '–' : 'none', color: view.updatedAt === null ? undefined : 'green'})
  if (view.paused.length > 0) {
    segs.push({text: '    paused: '})
    segs.push({text: view.paused.length === 1 ? `node ${view.paused[0]}` : `nodes ${idRanges(view.paused)}`, color: 'red', bold: true})
  }
  segs.push({text: '    partition: '})
  if (view.healing) segs.push({text: 'healing… ', color: 'cyan'})
  if (view.groups) {
    segs.push({text: groupsText(view.groups), color: 'magenta', bold: true})
    if (view.cuts > 0) segs.push({text: ` + ${view.cuts} one-way cut${view.cuts === 1 ? '' : 's'}`, color: 'magenta'})
  } else {
    segs.push({text: view.updatedAt === null ? '–' : showConfig ? 'none' : 'none (fully connected)', dim: true})
  }
  if (showConfig) {
    segs.push({text: '    config: '})
    segs.push({text: view.configuration!, color: view.joint ? 'yellow' : 'cyan', bold: view.joint})
  }
  if (view.net) segs.push({text: '    net: '}, {text: view.net, color: 'yellow', bold: true})
  if (view.disks) segs.push({text: '    disks: '}, {text: view.disks, color: 'yellow', bold: true})
  return <Line segs={segs} width={width} color={color} />
}

// -------------------------------------------------------------------------------------- events

const KIND_COLOR: Record<FeedKind, string | undefined> = {
  election: 'yellow',
  leader: 'green',
  down: 'red',
  up: 'green',
  partition: 'magenta',
  snapshot: 'cyan',
  config: 'blue',
  action: 'cyan',
  error: 'red',
  info: undefined,
}

export function feedSegs(item: FeedItem): Seg[] {
  return [
    {text: clock(item.time) + '  ', dim: true},
    {text: sourceLabel(item.source).padEnd(8) + ' ', bold: item.source.type === 'action'},
    {text: item.text, color: KIND_COLOR[item.kind], bold: item.kind === 'down' || item.kind === 'error'},
    {text: item.count > 1 ? ` ×${item.count}` : '', dim: true},
  ]
}

export function EventFeed({items, lines, width, color}: {items: FeedItem[]; lines: number; width: number; color: boolean}) {
  if (lines <= 0) return null
  const shown = items.slice(-lines)
  const title = '── events '
  const blanks = Array.from({length: lines - shown.length}, (_, i) => i)
  return (
    <>
      <Line segs={[{text: title + '─'.repeat(Math.max(0, width - 1 - title.length)), dim: true}]} width={width} color={color} />
      {shown.map((item, i) => (
        <Line key={`e${i}`} segs={feedSegs(item)} width={width} color={color} />
      ))}
      {blanks.map((i) => (
        <Text key={`b${i}`}> </Text>
      ))}
    </>
  )
}

// -------------------------------------------------------------------------------------- footer

export function Footer({width, color, selected}: {width: number; color: boolean; selected: NodeId}) {
  const keys = (labels: boolean): Seg[] => {
    const segs: Seg[] = []
    for (const [k, what] of FOOTER_KEYS) {
      if (segs.length > 0) segs.push({text: labels ? '  ' : ' '})
      segs.push({text: k, bold: true, inverse: true})
      if (labels || k === 'q') segs.push({text: ` ${what}`})
    }
    return segs
  }
  const withSelection = [...keys(true), {text: `   selected: node ${selected}`, dim: true}]
  const segs = [withSelection, keys(true), keys(false)].find((x) => segsWidth(x) <= width - 1) ?? keys(false)
  return <Line segs={segs} width={width} color={color} />
}

function segsWidth(segs: Seg[]): number {
  return segs.reduce((n, s) => n + [...s.text].length, 0)
}
