// The HTML template of the reports: one self-contained page (no network: uPlot, the page's own
// script and style and the data are all inlined). Static parts (tables, the violation and Lamport
// SVGs) are rendered here; the charts are drawn in the browser by the page script from the
// embedded view-model (a <script type="application/json"> block). Pure: strings in, a string out.
import type {BenchView} from './bench-model.js'
import type {CheckView} from './check-model.js'

export interface Assets {
  uplotJs: string
  uplotCss: string
  pageJs: string
  pageCss: string
}

export interface CheckExtras {
  /** The violating key's history (violation-svg.ts), when there is a violation. */
  violationSvg?: string
  /** The Lamport diagram and what it shows, when messages were captured. */
  lamport?: {svg: string; from: number; to: number; arrows: number; thinned: number; captured: number; sampled: boolean; rerender: string}
  /** Why there is no Lamport diagram. */
  lamportNote?: string
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** JSON safe inside a <script> element. */
function scriptJson(x: unknown): string {
  return JSON.stringify(x)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** Inline script text cannot contain "</script". */
const scriptText = (s: string) => s.replace(/<\/script/gi, '<\\/script')

function table(rows: [string, string][], cls = 'kv'): string {
  return `<table class="${cls}">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`
}

function page(title: string, kind: string, data: unknown, body: string, a: Assets, attrs = ''): string {
  return [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<style>${a.uplotCss}</style><style>${a.pageCss}</style></head>`,
    `<body data-kind="${kind}" data-rendered="no"${attrs}>`,
    body,
    `<script type="application/json" id="report-data">${scriptJson(data)}</script>`,
    `<script>${scriptText(a.uplotJs)}</script>`,
    `<script>${scriptText(a.pageJs)}</script>`,
    '</body></html>',
    '',
  ].join('\n')
}

const chart = (id: string, title: string, note = '') =>
  `<section class="chart"><h2>${esc(title)}</h2>${note ? `<p class="note">${note}</p>` : ''}<div id="${id}" class="plot"></div></section>`

/** The run's verdict as a whole: the first that failed, else undecided, else pass. */
function overall(v: CheckView): CheckView['verdicts'][number] {
  return v.verdicts.find((d) => d.result === 'fail') ?? v.verdicts.find((d) => d.result === 'undecided') ?? v.verdicts[0]!
}

export function renderCheckHtml(v: CheckView, x: CheckExtras, a: Assets): string {
  const lin = v.verdicts[0]!
  const head = overall(v)
  const body = [
    `<header><h1>${esc(v.title)}</h1><p class="headline verdict-${head.result}" id="headline">${esc(head === lin ? head.text : `${head.name}: ${head.text}`)}</p></header>`,
    `<section class="top"><div><h2>Verdicts</h2>${verdictsTable(v)}</div><div><h2>Run</h2>${table(v.settings)}${countsTable(v)}</div></section>`,
    '<p class="legend"><span class="swatch swatch-partition"></span>partition (groups, bridge, tethered, one-way) <span class="swatch swatch-net"></span>link faults (delay, loss, duplication) <span class="swatch swatch-kill"></span>kill (SIGKILL until restart) <span class="swatch swatch-pause"></span>pause (SIGSTOP until SIGCONT) <span class="swatch swatch-disk"></span>slow or stalled disk <span class="swatch swatch-crash"></span>every node killed (durability) <span class="swatch swatch-member"></span>voter demoted to a learner (until promoted) <span class="swatch swatch-violation"></span>violation. Drag on a chart to zoom (all time charts follow), double-click to reset.</p>',
    ...checkCharts(v),
    violationSection(v, x, lin),
    lamportSection(x),
    `<section><h2>Faults</h2>${faultsTable(v)}</section>`,
  ].join('\n')
  return page(v.title, 'check', v, body, a, ` data-verdict="${esc(head.result)}" data-bands="${v.bands.length}"`)
}

function verdictsTable(v: CheckView): string {
  return `<table class="verdicts">${v.verdicts
    .map((d) => `<tr class="verdict-${d.result}"><th>${esc(d.name)}</th><td class="badge">${esc(d.result)}</td><td>${esc(d.text)}</td></tr>`)
    .join('')}</table>`
}

function countsTable(v: CheckView): string {
  return `<table class="counts"><tr><th>op</th><th>ok</th><th>failed</th><th>indeterminate</th></tr>${v.counts
    .map((c) => `<tr><th>${c.op}</th><td>${c.ok}</td><td>${c.failed}</td><td>${c.indeterminate}</td></tr>`)
    .join('')}</table>`
}

function faultsTable(v: CheckView): string {
  return v.faults.length === 0
    ? '<p>No faults were injected.</p>'
    : `<table class="faults"><tr><th></th><th>from</th><th>to</th><th>fault</th></tr>${v.faults
        .map(
          (f) =>
            `<tr class="fault-${f.kind}"><td><span class="swatch swatch-${f.kind}"></span></td><td>${(f.from / 1000).toFixed(3)} s</td><td>${(f.to / 1000).toFixed(3)} s</td><td>${esc(f.text)}${f.error ? ` <em>(${esc(f.error)})</em>` : ''}</td></tr>`,
        )
        .join('')}</table>`
}

/** The time charts' places (the page script draws them). */
function checkCharts(v: CheckView): string[] {
  return [
    chart(
      'latency',
      'Latency over time',
      `each point an operation at its invoke time; ${v.latency.shown.toLocaleString('en-US')} of ${v.latency.total.toLocaleString('en-US')} shown (per time bin: the fastest, the slowest and evenly spaced ranks between)`,
    ),
    chart('throughput', 'Throughput', `completed operations per second, ${v.throughput.binMs} ms bins`),
    chart(
      'leader',
      'Leader and term',
      'the leader the answering nodes agree on (left axis, gaps: none) and the highest term (right axis), polled every 200 ms',
    ),
    chart(
      'clients',
      'Operations per client',
      `one lane per client; ${v.clients.merged.toLocaleString('en-US')} quick ops merged into runs; green ok, orange failed, purple indeterminate (open to the right); hover for an op`,
    ),
  ]
}

/** The violating (or undecided) key's history, or nothing. */
function violationSection(v: CheckView, x: CheckExtras, lin: CheckView['verdicts'][number]): string {
  if (!v.violation) return ''
  const w = v.violation
  const value = w.value === undefined ? 'unknown' : w.value === null ? 'absent' : w.value
  return [
    `<section id="violation" class="violation-section" data-key="${esc(w.key)}" data-stuck="${w.stuck?.id ?? ''}"><h2>${lin.result === 'undecided' ? 'Undecided key' : 'Violation'}: key ${esc(w.key)}</h2>`,
    `<p class="reason">${esc(w.reason)}</p>`,
    w.stuck ? `<p><strong>Cannot be placed:</strong> <code>${esc(w.stuck.text)}</code></p>` : '',
    `<p><strong>Linearizable prefix:</strong> ${w.placedCount ?? '?'} op(s) of this key placed before the search got stuck (the last ${w.ops.filter((o) => o.role === 'placed').length} shown, numbered in order); the key then held <code>${esc(value)}</code>.</p>`,
    '<p class="legend"><span class="swatch swatch-placed"></span> placed in the partial linearization <span class="swatch swatch-stuck"></span> cannot be placed <span class="swatch swatch-context"></span> other ops of the key (dashed, open: indeterminate)</p>',
    `<div class="scroll">${x.violationSvg ?? ''}</div>`,
    w.excerpt.length > 0
      ? `<details><summary>Checker excerpt (${w.excerpt.length} ops) and nemesis</summary><pre>${esc([...w.nemesis.map((n) => `~ ${n}`), ...w.excerpt].join('\n'))}</pre></details>`
      : '',
    '</section>',
  ].join('\n')
}

/** The Lamport diagram, or why there is none, or nothing. */
function lamportSection(x: CheckExtras): string {
  if (x.lamport) {
    const l = x.lamport
    return [
      `<section id="lamport-section"><h2>Raft messages ${(l.from / 1000).toFixed(3)}–${(l.to / 1000).toFixed(3)} s (Lamport diagram)</h2>`,
      `<p class="note">${l.arrows} message(s) drawn of ${l.captured} captured in the run${l.thinned > 0 ? `, ${l.thinned} AppendEntries thinned out` : ''}${l.sampled ? '; sampled capture: AppendEntries only in slots (hatched: not captured)' : ''}. A cross: sent but not received (dropped by a partition, receiver down or paused, or not captured). Another window: <code>${esc(l.rerender)}</code>.</p>`,
      `<div class="scroll">${l.svg}</div>`,
      '<p class="legend"><span class="swatch" style="background:#1f77b4"></span>AppendEntries <span class="swatch" style="background:#9ecae1"></span>heartbeat <span class="swatch" style="background:#74c476"></span>AppendEntriesResponse <span class="swatch" style="background:#ff7f0e"></span>RequestVote (dashed: pre-vote) <span class="swatch" style="background:#e6550d"></span>vote response <span class="swatch" style="background:#9467bd"></span>TimeoutNow <span class="swatch" style="background:#8c564b"></span>InstallSnapshot</p>',
      '</section>',
    ].join('\n')
  }
  if (x.lamportNote) return `<section id="lamport-section"><h2>Raft messages</h2><p class="note">${esc(x.lamportNote)}</p></section>`
  return ''
}

export function renderBenchHtml(v: BenchView, a: Assets): string {
  const pct = `<table class="counts"><tr><th></th>${v.percentiles.map(([k]) => `<th>${k}</th>`).join('')}</tr><tr><th>ms</th>${v.percentiles.map(([, ms]) => `<td>${ms}</td>`).join('')}</tr></table>`
  const body = [
    `<header><h1>${esc(v.title)}</h1><p class="headline" id="headline">${esc(
      v.summary
        .map(([k, x]) => `${k} ${x}`)
        .slice(0, 4)
        .join(' · '),
    )}</p></header>`,
    `<section class="top"><div><h2>Result</h2>${table(v.summary)}<h2>Latency percentiles (exact)</h2>${pct}</div><div><h2>Run</h2>${table(v.settings)}</div></section>`,
    chart('histogram', 'Latency histogram', 'successful operations per latency bucket (log scale, ~19 % wide buckets)'),
    chart('bthroughput', 'Throughput over time', `operations per second, ${v.timeline.binMs} ms bins; vertical lines: leader changes`),
    chart('blatency', 'Latency over time', 'per bin: p50 and p99 (estimated within a bucket) and the exact maximum'),
  ].join('\n')
  return page(v.title, 'bench', v, body, a, ` data-leader-changes="${v.marks.length}"`)
}
