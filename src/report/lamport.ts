// The Lamport diagram of a window of captured Raft messages (server/message-capture.ts): one
// vertical lane per node, time flowing down, an arrow from each send to its receive. A send and a
// receive pair up when their canonical texts are equal (from, to, type, term and contents) and the
// receive is not earlier than the send (allowing a little clock skew between processes): the
// earliest such unpaired send wins. A send without a receive (dropped by a partition, the
// receiver down or paused, or the receive outside a sampled slot) ends in a cross. Pure: parsed
// capture lines in, an SVG string out.
import {round1, type Band} from './shape.js'

export interface CaptureLine {
  /** Epoch ms. */
  t: number
  n: number
  e: 's' | 'r'
  m: string
}

export interface CaptureHeader {
  mode: 'sampled' | 'all'
  slotMs: number
  everyMs: number
}

export interface Arrow {
  from: number
  to: number
  type: string
  text: string
  /** Run time (ms since the run started) of the send; null when only the receive was captured. */
  sent: number | null
  /** Run time of the receive; null when it was not captured. */
  received: number | null
}

/** Clock skew tolerated between two processes' capture times. */
const SKEW_MS = 2
/** Arrows drawn at most; beyond, heartbeats and their responses are thinned evenly. */
export const ARROWS_MAX = 400

const typeOf = (m: string) => /^\d+->\d+ (\S+)/.exec(m)?.[1] ?? '?'
const endsOf = (m: string) => {
  const x = /^(\d+)->(\d+)/.exec(m)
  return x ? {from: Number(x[1]), to: Number(x[2])} : {from: 0, to: 0}
}

/** Pairs sends with receives; times become run times (`epochMs` is the run's time zero). */
export function pairMessages(lines: readonly CaptureLine[], epochMs: number): Arrow[] {
  const sorted = [...lines].sort((a, b) => a.t - b.t)
  const sends = new Map<string, CaptureLine[]>()
  for (const l of sorted) {
    if (l.e !== 's') continue
    let q = sends.get(l.m)
    if (!q) sends.set(l.m, (q = []))
    q.push(l)
  }
  const heads = new Map<string, number>()
  const arrows: Arrow[] = []
  const paired = new Set<CaptureLine>()
  for (const r of sorted) {
    if (r.e !== 'r') continue
    const q = sends.get(r.m) ?? []
    let i = heads.get(r.m) ?? 0
    // Sends far older than this receive will never be matched by it or a later one: skip them.
    while (i < q.length && paired.has(q[i]!)) i++
    heads.set(r.m, i)
    let match: CaptureLine | undefined
    for (let j = i; j < q.length && q[j]!.t <= r.t + SKEW_MS; j++) {
      if (!paired.has(q[j]!)) {
        match = q[j]
        break
      }
    }
    const {from, to} = endsOf(r.m)
    if (match) paired.add(match)
    arrows.push({from, to, type: typeOf(r.m), text: r.m, sent: match ? round3(match.t - epochMs) : null, received: round3(r.t - epochMs)})
  }
  for (const q of sends.values()) {
    for (const s of q) {
      if (paired.has(s)) continue
      const {from, to} = endsOf(s.m)
      arrows.push({from, to, type: typeOf(s.m), text: s.m, sent: round3(s.t - epochMs), received: null})
    }
  }
  return arrows.sort((a, b) => (a.sent ?? a.received!) - (b.sent ?? b.received!))
}

const round3 = (x: number) => Math.round(x * 1000) / 1000

const isBulk = (a: Arrow) => a.type === 'AppendEntries' || a.type === 'AppendEntriesResponse'

/** The arrows with an end inside [from, to], thinned to ARROWS_MAX (bulk messages first). */
export function arrowsIn(arrows: readonly Arrow[], from: number, to: number, max = ARROWS_MAX): {arrows: Arrow[]; thinned: number} {
  const inside = arrows.filter((a) => {
    const s = a.sent ?? a.received!
    const r = a.received ?? a.sent!
    return r >= from && s <= to
  })
  if (inside.length <= max) return {arrows: inside, thinned: 0}
  const keep = inside.filter((a) => !isBulk(a))
  const bulk = inside.filter(isBulk)
  const room = Math.max(0, max - keep.length)
  const step = bulk.length / Math.max(1, room)
  for (let k = 0; k < room && Math.floor(k * step) < bulk.length; k++) keep.push(bulk[Math.floor(k * step)]!)
  keep.sort((a, b) => (a.sent ?? a.received!) - (b.sent ?? b.received!))
  return {arrows: keep, thinned: inside.length - keep.length}
}

export const MESSAGE_COLOURS: Record<string, string> = {
  AppendEntries: '#1f77b4',
  heartbeat: '#9ecae1',
  AppendEntriesResponse: '#74c476',
  RequestVote: '#ff7f0e',
  RequestVoteResponse: '#e6550d',
  InstallSnapshot: '#8c564b',
  InstallSnapshotResponse: '#c49c94',
  TimeoutNow: '#9467bd',
}

export interface LamportOptions {
  nodes: number
  from: number
  to: number
  /** Faults in force, shaded behind the lanes they concern. */
  bands?: readonly Band[]
  /** Sampled capture: slots outside which AppendEntries were not recorded are hatched. */
  header?: CaptureHeader | null
  epochMs?: number
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Vertical pixels per message event (send or receive) and per millisecond of real time. */
const ROW_PX = 9
const MS_PX = 0.4

/**
 * The vertical axis: a mix of event order and real time. Messages on one machine take well under
 * a millisecond, so a pure time axis draws them flat; every event gets a row of its own (as in a
 * Lamport diagram, where only order matters), and real time adds a little, so idle stretches and
 * bursts still look like what they were.
 */
export function eventScale(arrows: readonly Arrow[], from: number, to: number, top: number): {y: (t: number) => number; height: number} {
  const times = [...new Set(arrows.flatMap((a) => [a.sent, a.received]).filter((t): t is number => t !== null && t >= from && t <= to))].sort((a, b) => a - b)
  const before = (t: number) => {
    let lo = 0
    let hi = times.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (times[mid]! < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const y = (t: number) => {
    const c = Math.min(to, Math.max(from, t))
    return Math.round((top + before(c) * ROW_PX + (c - from) * MS_PX) * 10) / 10
  }
  return {y, height: y(to) + ROW_PX - top}
}

/** Where the diagram's parts go: margins, lane width, and the time and lane axes. */
interface Frame {
  left: number
  top: number
  laneW: number
  width: number
  height: number
  y: (t: number) => number
  x: (n: number) => number
}

function frameOf(arrows: readonly Arrow[], o: LamportOptions): Frame {
  const laneW = 200
  const left = 70
  const top = 40
  const {y, height} = eventScale(arrows, o.from, o.to, top)
  return {left, top, laneW, width: left + o.nodes * laneW, height, y, x: (n: number) => left + (n - 0.5) * laneW}
}

/** The diagram as SVG: lanes, time axis (ms since the run started), arrows, fault bands. */
export function lamportSvg(arrows: readonly Arrow[], o: LamportOptions): string {
  const f = frameOf(arrows, o)
  const parts: string[] = [
    ...svgHead(arrows.length, f),
    ...unsampledStretches(o, f),
    ...faultBands(o, f),
    ...timeAxis(o, f),
    ...lanes(o.nodes, f),
    ...arrows.flatMap((a) => arrowParts(a, f)),
  ]
  parts.push('</svg>')
  return parts.join('')
}

/** The opening tag and the definitions: an arrow head per message colour, the unsampled hatching. */
function svgHead(count: number, f: Frame): string[] {
  const {width, top, height} = f
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="lamport" id="lamport" width="${width}" height="${top + height + 20}" viewBox="0 0 ${width} ${top + height + 20}" data-arrows="${count}">`,
    '<defs>',
    ...Object.entries(MESSAGE_COLOURS).map(
      ([k, c]) =>
        `<marker id="ah-${k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${c}"/></marker>`,
    ),
    '<pattern id="unsampled" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#fafafa"/><line x1="0" y1="0" x2="0" y2="8" stroke="#e3e3e3" stroke-width="4"/></pattern>',
    '</defs>',
  ]
}

// Unsampled stretches (AppendEntries not captured there).
function unsampledStretches(o: LamportOptions, f: Frame): string[] {
  const parts: string[] = []
  if (o.header?.mode !== 'sampled' || o.epochMs === undefined) return parts
  const {left, laneW, y} = f
  const {slotMs, everyMs} = o.header
  const startEpoch = o.epochMs + o.from
  let slot = Math.floor(startEpoch / everyMs) * everyMs
  for (let k = 0; k < 1000 && slot - o.epochMs < o.to; k++, slot += everyMs) {
    const a = Math.max(o.from, slot + slotMs - o.epochMs)
    const b = Math.min(o.to, slot + everyMs - o.epochMs)
    if (b > a)
      parts.push(
        `<rect class="unsampled" x="${left}" y="${y(a)}" width="${o.nodes * laneW}" height="${y(b) - y(a)}" fill="url(#unsampled)"><title>AppendEntries not captured here (sampled capture)</title></rect>`,
      )
  }
  return parts
}

/** The faults in force in the window, shaded across the lanes and named at the right. */
function faultBands(o: LamportOptions, f: Frame): string[] {
  const {left, laneW, width, y} = f
  const parts: string[] = []
  for (const b of o.bands ?? []) {
    if (b.to < o.from || b.from > o.to) continue
    const fill = b.kind === 'partition' ? '#fdd0a2' : b.kind === 'kill' ? '#fcbba1' : '#c6dbef'
    parts.push(
      `<rect class="band band-${b.kind}" x="${left}" y="${y(b.from)}" width="${o.nodes * laneW}" height="${Math.max(1, y(b.to) - y(b.from))}" fill="${fill}" fill-opacity="0.45"><title>${esc(b.text)}</title></rect>`,
      `<text x="${width - 4}" y="${y(b.from) + 12}" text-anchor="end" font-size="11" fill="#7f2704">${esc(b.text)}</text>`,
    )
  }
  return parts
}

// Time axis (labels only where they do not collide).
function timeAxis(o: LamportOptions, f: Frame): string[] {
  const {left, width, y} = f
  const parts: string[] = []
  const span = Math.max(1, o.to - o.from)
  const tick = niceStep(span / 40)
  let lastLabel = -Infinity
  for (let t = Math.ceil(o.from / tick) * tick; t <= o.to; t += tick) {
    if (y(t) - lastLabel < 16) continue
    lastLabel = y(t)
    parts.push(
      `<line x1="${left - 5}" x2="${width}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${left - 8}" y="${y(t) + 4}" text-anchor="end" font-size="11" fill="#555">${round1(t)} ms</text>`,
    )
  }
  return parts
}

/** A lane per node: its name on top and a vertical line. */
function lanes(nodes: number, f: Frame): string[] {
  const {top, height, x} = f
  const parts: string[] = []
  for (let n = 1; n <= nodes; n++) {
    parts.push(
      `<text x="${x(n)}" y="${top - 14}" text-anchor="middle" font-size="13" font-weight="bold">node ${n}</text>`,
      `<line x1="${x(n)}" x2="${x(n)}" y1="${top}" y2="${top + height}" stroke="#333" stroke-width="1.5"/>`,
    )
  }
  return parts
}

/** One message: an arrow from its send to its receive (labelled unless bulk), or a lost stub. */
function arrowParts(a: Arrow, f: Frame): string[] {
  const {x, y} = f
  const heartbeat = a.type === 'AppendEntries' && / \[\] /.test(a.text)
  const key = heartbeat ? 'heartbeat' : a.type
  const colour = MESSAGE_COLOURS[key] ?? '#555'
  const marker = MESSAGE_COLOURS[a.type] ? `ah-${a.type === 'AppendEntries' ? 'AppendEntries' : a.type}` : ''
  const dash = / pre( |$)/.test(a.text) ? ' stroke-dasharray="4 3"' : ''
  const x1 = x(a.from)
  const x2 = x(a.to)
  const y1 = a.sent !== null ? y(a.sent) : y(a.received!) - ROW_PX
  const cls = `msg msg-${a.type}${a.received === null ? ' lost' : ''}${a.sent === null ? ' unsent' : ''}`
  const title = `<title>${esc(a.text)} — ${a.sent !== null ? `sent ${a.sent} ms` : 'send not captured'}, ${a.received !== null ? `received ${a.received} ms` : 'not received (dropped, or not captured)'}</title>`
  if (a.received === null) {
    // Lost: a short stub toward the receiver ending in a cross.
    const xe = x1 + (x2 - x1) * 0.35
    const ye = y1 + ROW_PX
    return [
      `<g class="${cls}"><line x1="${x1}" y1="${y1}" x2="${xe}" y2="${ye}" stroke="${colour}" stroke-width="1.2"${dash}/><path d="M${xe - 4},${ye - 4}L${xe + 4},${ye + 4}M${xe - 4},${ye + 4}L${xe + 4},${ye - 4}" stroke="#d62728" stroke-width="1.5"/>${title}</g>`,
    ]
  }
  const y2 = Math.max(y1 + 2, y(a.received))
  const parts = [
    `<g class="${cls}"><line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${colour}" stroke-width="${heartbeat ? 0.8 : 1.3}"${dash}${marker ? ` marker-end="url(#${marker})"` : ''}${a.sent === null ? ' stroke-dasharray="1 3"' : ''}/>${title}</g>`,
  ]
  if (!heartbeat && a.type !== 'AppendEntriesResponse' && a.type !== 'AppendEntries') {
    parts.push(`<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 3}" text-anchor="middle" font-size="10" fill="${colour}">${esc(shortLabel(a.text))}</text>`)
  }
  return parts
}

/** "RequestVote t5 pre" and the like: the message without its endpoints and log positions. */
export function shortLabel(text: string): string {
  const m = /^\d+->\d+ (\S+) (t\d+)(.*)$/.exec(text)
  if (!m) return text
  const extra = /\b(pre|transfer|granted|rejected)\b/g
  return [m[1], m[2], ...(m[3]!.match(extra) ?? [])].join(' ')
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)))
  for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p
  return 10 * p
}

/**
 * The default window: just before the violation's stuck op (the deposed leader's last messages and
 * the new leader's election), else the first leader change (its election), else around the first
 * fault, else the start.
 */
export function defaultWindow(
  o: {violationAt?: number; leaderChangeAt?: number; bands: readonly Band[]; endMs: number},
  spanMs = 600,
): {from: number; to: number} {
  const at = o.violationAt ?? o.leaderChangeAt ?? (o.bands[0] ? o.bands[0].from + spanMs * 0.4 : spanMs * 0.4)
  const from = Math.max(0, at - spanMs * 0.75)
  return {from: round1(from), to: round1(Math.min(Math.max(o.endMs, from + 1), from + spanMs))}
}

/** Parses capture NDJSON text (a node's file or a run's extract): the lines and the first header. */
export function parseCapture(text: string): {lines: CaptureLine[]; header: CaptureHeader | null} {
  const lines: CaptureLine[] = []
  let header: CaptureHeader | null = null
  for (const raw of text.split('\n')) {
    if (raw === '') continue
    let x: Record<string, unknown>
    try {
      x = JSON.parse(raw) as Record<string, unknown>
    } catch {
      continue // A line torn by a SIGKILL mid-append: skip it.
    }
    if (typeof x.t === 'number' && typeof x.m === 'string' && (x.e === 's' || x.e === 'r')) lines.push(x as unknown as CaptureLine)
    else if (x.capture && typeof x.capture === 'object' && header === null) {
      const c = x.capture as Record<string, unknown>
      header = {mode: c.mode === 'all' ? 'all' : 'sampled', slotMs: Number(c.slotMs) || 0, everyMs: Number(c.everyMs) || 1}
    }
  }
  return {lines, header}
}
