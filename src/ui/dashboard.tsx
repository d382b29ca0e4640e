// Presentational components of the dashboard: props in, view out, no state and no I/O. Every line
// is laid out as plain-text segments of known width first and cut to the terminal width, so the
// frame never wraps, whatever the data (long directories, 7-digit indexes, 15 nodes). The frame is
// exactly `height` lines: header, one row per node, the down/partition summary, the event feed
// (it takes what is left) and the key footer at the bottom.
import {Box, Text} from 'ink'
import type {NodeId} from '../core/types.js'
import {
  clock,
  formatRate,
  idRanges,
  lagCells,
  lagLevel,
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

/** Lines other than node rows and feed lines: 2 header, table header, summary, feed title, footer. */
const CHROME_LINES = 6

export function Dashboard({view, width, height, color}: DashboardProps) {
  const w = Math.max(40, width)
  const layout = tableLayout(w)
  const rowBudget = Math.max(1, height - CHROME_LINES - 1)
  const rows = visibleRows(view.rows, rowBudget)
  const feedLines = Math.max(0, height - CHROME_LINES - rows.length)
  return (
    <Box flexDirection="column" width={w}>
      <Header view={view} width={w} color={color} />
      <NodeTable rows={rows} layout={layout} width={w} color={color} hidden={view.rows.length - rows.length} />
      <Summary view={view} width={w} color={color} />
      <EventFeed items={view.feed} lines={feedLines} width={w} color={color} />
      <Footer width={w} color={color} selected={view.selected} />
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
  const line2: Seg[] = [
    {text: 'leader '},
    view.leader !== null ? {text: `node ${view.leader}`, color: 'green', bold: true} : {text: 'none', color: 'red', bold: true},
    {text: '   term '},
    {text: view.term !== null ? String(view.term) : '–', bold: true},
    {text: '   commit '},
    {text: view.commitIndex !== null ? String(view.commitIndex) : '–', bold: true},
    {text: '   rate '},
    {text: formatRate(view.commitRate), bold: true},
    {text: ' entries/s   '},
    {text: `${view.upCount}/${view.total} up`, color: allUp ? 'green' : 'red', bold: !allUp},
  ]
  return (
    <>
      <Line segs={line1} width={width} color={color} />
      <Line segs={line2} width={width} color={color} />
    </>
  )
}

// -------------------------------------------------------------------------------------- table

export interface TableLayout {
  bar: number
  pid: boolean
  address: boolean
}

/** Column widths for a terminal `width` wide: the lag bar takes the slack, then PID and address appear. */
export function tableLayout(width: number): TableLayout {
  const budget = width - 1
  const fixed = 63
  const bar = Math.max(4, Math.min(24, budget - fixed))
  let rest = budget - fixed - bar
  const pid = rest >= 9
  if (pid) rest -= 9
  const address = rest >= 23
  return {bar, pid, address}
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
  let text =
    '  ' + pad('ID', 2, 'right') + ' ' + pad('ROLE', 9) + ' ' + pad('TERM', 6, 'right') + ' ' + pad('LAST', 8, 'right') + ' ' +
    pad('COMMIT', 8, 'right') + ' ' + pad('APPLIED', 8, 'right') + '  ' + pad('LAG', layout.bar + 7) + ' ' + pad('GROUP', 5, 'right')
  if (layout.pid) text += '  ' + pad('PID', 7, 'right')
  if (layout.address) text += '  ' + pad('ADDRESS', 21)
  return [{text, dim: true, bold: true}]
}

export function rowSegs(row: RowView, layout: TableLayout): Seg[] {
  const dash = (v: number | null, w: number) => pad(v === null ? '-' : String(v), w, 'right')
  const sel = row.selected
  const segs: Seg[] = [
    {text: sel ? '› ' : '  ', bold: true, color: sel ? 'cyan' : undefined},
    {text: pad(String(row.id), 2, 'right'), bold: sel, inverse: sel},
    {text: ' '},
    row.known
      ? {text: pad(row.role, 9), color: ROLE_COLOR[row.role], bold: row.role === 'leader' || row.role === 'down'}
      : {text: pad('…', 9), dim: true},
    {text: ' ' + dash(row.term, 6) + ' ' + dash(row.lastIndex, 8) + ' ' + dash(row.commitIndex, 8) + ' ' + dash(row.appliedIndex, 8) + '  ', dim: !row.up},
  ]
  const lagWidth = layout.bar + 7
  if (row.pending) {
    segs.push({text: pad(PENDING_TEXT[row.pending], lagWidth), color: 'cyan'})
  } else if (row.lag === null) {
    const down = row.known && !row.up
    // A pid without answers: the process is there but hung (stopped, overloaded), not crashed.
    const text = !down ? '' : row.pid !== null ? `no answer (pid ${row.pid})` : 'down'
    segs.push({text: pad(text, lagWidth), color: down ? 'red' : undefined})
  } else {
    const filled = lagCells(row.lag, layout.bar)
    const level = lagLevel(row.lag)
    segs.push({text: '█'.repeat(filled), color: level === 'high' ? 'red' : 'yellow'})
    segs.push({text: '░'.repeat(layout.bar - filled), dim: true, color: level === 'none' ? 'green' : undefined})
    segs.push({text: ' ' + pad(String(row.lag), 6), color: level === 'high' ? 'red' : level === 'low' ? 'yellow' : undefined})
  }
  segs.push({text: ' ' + pad(row.group === null ? '-' : `g${row.group}`, 5, 'right'), dim: !row.up})
  if (layout.pid) segs.push({text: '  ' + pad(row.pid === null ? '-' : String(row.pid), 7, 'right'), dim: true})
  if (layout.address) segs.push({text: '  ' + pad(row.address, 21), dim: true})
  return segs
}

/** At most `max` rows, keeping the selected one in view. */
function visibleRows(rows: RowView[], max: number): RowView[] {
  if (rows.length <= max) return rows
  const at = Math.max(0, rows.findIndex((r) => r.selected))
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
  const segs: Seg[] = [{text: 'down: '}]
  if (view.down.length > 0) {
    const text = view.down.length === 1 ? `node ${view.down[0]}` : `nodes ${idRanges(view.down)}`
    segs.push({text, color: 'red', bold: true})
  }
  else segs.push({text: view.updatedAt === null ? '–' : 'none', color: view.updatedAt === null ? undefined : 'green'})
  segs.push({text: '    partition: '})
  if (view.healing) segs.push({text: 'healing… ', color: 'cyan'})
  if (view.groups) {
    segs.push({text: groupsText(view.groups), color: 'magenta', bold: true})
    if (view.cuts > 0) segs.push({text: ` + ${view.cuts} one-way cut${view.cuts === 1 ? '' : 's'}`, color: 'magenta'})
  } else {
    segs.push({text: view.updatedAt === null ? '–' : 'none (fully connected)', dim: true})
  }
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
  const segs: Seg[] = []
  for (const [k, what] of FOOTER_KEYS) {
    if (segs.length > 0) segs.push({text: '  '})
    segs.push({text: k, bold: true, inverse: true})
    segs.push({text: ` ${what}`})
  }
  segs.push({text: `   selected: node ${selected}`, dim: true})
  return <Line segs={segs} width={width} color={color} />
}
