// Writing reports: reads a run's saved record (a check history, a bench record) and the captured
// Raft messages, builds the view-model, renders the page with its assets inlined, and writes
// report.html into the run's directory. The commands import this lazily (`await import`), so
// uPlot and the templates stay off the CLI's start-up path.
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {basename, dirname, join} from 'node:path'
import {HISTORY_FILE, parseHistory, type ParsedHistory} from '../check/history.js'
import {operationalError} from '../lib/errors.js'
import {BENCH_RECORD_VERSION, buildBenchView, isBenchRecord, type BenchRecord} from './bench-model.js'
import {buildCheckView, firstLeaderChange} from './check-model.js'
import {renderBenchHtml, renderCheckHtml, type Assets, type CheckExtras} from './html.js'
import {arrowsIn, defaultWindow, lamportSvg, pairMessages, parseCapture, type CaptureHeader, type CaptureLine} from './lamport.js'
import {violationSvg} from './violation-svg.js'

export const REPORT_FILE = 'report.html'
export const BENCH_FILE = 'bench.json'
export const MESSAGES_FILE = 'messages.ndjson'

export interface Written {
  path: string
  bytes: number
  buildMs: number
}

let assets: Assets | null = null

/** uPlot from node_modules; the page's own script and style from assets/report (beside src/ and dist/). */
export function loadAssets(): Assets {
  if (assets) return assets
  const require = createRequire(import.meta.url)
  const own = (name: string) => readFileSync(new URL(`../../assets/report/${name}`, import.meta.url), 'utf8')
  assets = {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    pageJs: own('page.js'),
    pageCss: own('page.css'),
  }
  return assets
}

export interface CheckReportOptions {
  /** Where the page goes (default: report.html beside the history). */
  out?: string
  /** The Lamport diagram's window (ms since the run started); default: around the violation or the first fault. */
  window?: {from: number; to: number}
  /** Captured messages: their lines, or null to look beside the history (messages.ndjson) and in the cluster's node directories. */
  messages?: {lines: CaptureLine[]; header: CaptureHeader | null} | null
}

/** Reads and parses a history file; a damaged or foreign file is a one-line operational error. */
export function readHistory(path: string): ParsedHistory {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw operationalError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let h: ParsedHistory
  try {
    h = parseHistory(text)
  } catch (err) {
    const line = /line (\d+)/.exec((err as Error).message)?.[1]
    throw operationalError(`${path}: line ${line ?? '?'} is not JSON (a truncated or damaged history?)`)
  }
  if (h.meta === null)
    throw operationalError(`${path} is not a raftctl check history (no meta line)`, 'pass a run directory written by raftctl check or raftctl bench')
  return h
}

export function writeCheckReport(historyPath: string, o: CheckReportOptions = {}): Written {
  const started = performance.now()
  const h = readHistory(historyPath)
  const runDir = dirname(historyPath)
  const view = buildCheckView(h, historyPath)
  const extras: CheckExtras = {}
  if (view.violation) extras.violationSvg = violationSvg(view.violation)
  const epochMs = typeof h.meta!.epochMs === 'number' ? (h.meta!.epochMs as number) : Date.parse(String(h.meta!.started))
  const messages = o.messages ?? findMessages(historyPath, epochMs, view.endMs)
  if (messages && messages.lines.length > 0 && Number.isFinite(epochMs)) {
    const w =
      o.window ??
      defaultWindow({violationAt: view.violation?.stuck?.invoke, leaderChangeAt: firstLeaderChange(view.leader), bands: view.bands, endMs: view.endMs})
    const arrows = pairMessages(messages.lines, epochMs)
    const shown = arrowsIn(arrows, w.from, w.to)
    const nodes = arrows.reduce((n, a) => Math.max(n, a.from, a.to), Number(h.meta!.nodes) || 0)
    extras.lamport = {
      svg: lamportSvg(shown.arrows, {nodes, from: w.from, to: w.to, bands: view.bands, header: messages.header, epochMs}),
      from: w.from,
      to: w.to,
      arrows: shown.arrows.length,
      thinned: shown.thinned,
      captured: arrows.length,
      sampled: messages.header?.mode === 'sampled',
      rerender: `raftctl report ${basename(historyPath) === HISTORY_FILE ? runDir : historyPath} --window ${(w.from / 1000).toFixed(3)}s..${(w.to / 1000).toFixed(3)}s`,
    }
  } else {
    extras.lamportNote =
      'No Raft messages were captured for this run. Start the cluster with RAFTCTL_CAPTURE=1 (sampled) or RAFTCTL_CAPTURE=all to get a Lamport diagram of them.'
  }
  const html = renderCheckHtml(view, extras, loadAssets())
  const out = o.out ?? reportPathFor(historyPath)
  return write(out, html, started)
}

export function writeBenchReport(record: BenchRecord, runDir: string, out = join(runDir, REPORT_FILE)): Written {
  const started = performance.now()
  const source = join(runDir, BENCH_FILE)
  return write(out, renderBenchHtml(buildBenchView(record, source), loadAssets()), started)
}

/** Saves a bench run's record in its directory, then writes its report. */
export function saveBenchRun(record: Omit<BenchRecord['bench'], 'version'>, runDir: string): Written {
  const rec: BenchRecord = {bench: {version: BENCH_RECORD_VERSION, ...record}}
  writeFileSync(join(runDir, BENCH_FILE), JSON.stringify(rec) + '\n')
  return writeBenchReport(rec, runDir)
}

function write(out: string, html: string, started: number): Written {
  try {
    writeFileSync(out, html)
  } catch (err) {
    throw operationalError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return {path: out, bytes: Buffer.byteLength(html), buildMs: Math.round(performance.now() - started)}
}

/** report.html beside history.ndjson; check-X.html for a loose check-X.ndjson (older runs). */
export function reportPathFor(record: string): string {
  const name = basename(record)
  if (name === HISTORY_FILE || name === BENCH_FILE) return join(dirname(record), REPORT_FILE)
  return join(dirname(record), name.replace(/\.(nd)?json$/, '') + '.html')
}

/**
 * The run's captured messages: messages.ndjson beside the history (saved by `raftctl check`), else
 * the cluster's node-N/messages.ndjson (the history's directory, or its parent for a run
 * directory), cut to the run's time span.
 */
export function findMessages(historyPath: string, epochMs: number, endMs: number): {lines: CaptureLine[]; header: CaptureHeader | null} | null {
  const beside = join(dirname(historyPath), MESSAGES_FILE)
  if (existsSync(beside)) return parseCapture(readFileSync(beside, 'utf8'))
  for (const clusterDir of [dirname(historyPath), dirname(dirname(historyPath))]) {
    const found = collectMessages(clusterDir, epochMs, endMs)
    if (found) return found
  }
  return null
}

/** Every node's captured messages within [epochMs, epochMs + endMs] (plus a second of slack). */
export function collectMessages(clusterDir: string, epochMs: number, endMs: number): {lines: CaptureLine[]; header: CaptureHeader | null} | null {
  let entries: string[]
  try {
    entries = readdirSync(clusterDir).filter((e) => /^node-\d+$/.test(e))
  } catch {
    return null
  }
  const lines: CaptureLine[] = []
  let header: CaptureHeader | null = null
  let any = false
  for (const e of entries) {
    const file = join(clusterDir, e, MESSAGES_FILE)
    if (!existsSync(file) || !statSync(file).isFile()) continue
    any = true
    const parsed = parseCapture(readFileSync(file, 'utf8'))
    header ??= parsed.header
    for (const l of parsed.lines) if (l.t >= epochMs - 1000 && l.t <= epochMs + endMs + 1000) lines.push(l)
  }
  return any ? {lines, header} : null
}

/** Saves the run's messages beside its history, so the run directory re-renders on its own. */
export function saveMessages(historyPath: string, m: {lines: CaptureLine[]; header: CaptureHeader | null}): void {
  const head = m.header ? JSON.stringify({capture: m.header}) + '\n' : ''
  writeFileSync(join(dirname(historyPath), MESSAGES_FILE), head + m.lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
}

export interface RenderTarget {
  kind: 'check' | 'bench'
  /** The record: a history.ndjson or bench.json. */
  record: string
}

/** What `raftctl report PATH` renders: a run directory, a history file or a bench record. */
export function resolveTarget(path: string): RenderTarget {
  let st
  try {
    st = statSync(path)
  } catch {
    throw operationalError(`no such file or directory: ${path}`)
  }
  if (st.isDirectory()) {
    if (existsSync(join(path, HISTORY_FILE))) return {kind: 'check', record: join(path, HISTORY_FILE)}
    if (existsSync(join(path, BENCH_FILE))) return {kind: 'bench', record: join(path, BENCH_FILE)}
    const runs = readdirSync(path)
      .filter((e) => /^(check|bench)-/.test(e))
      .sort()
    throw operationalError(
      `${path} holds no run (no ${HISTORY_FILE} or ${BENCH_FILE})`,
      runs.length > 0 ? `it holds runs; pass one, e.g. ${join(path, runs.at(-1)!)}` : 'pass a run directory written by raftctl check or raftctl bench',
    )
  }
  return {kind: path.endsWith('.json') ? 'bench' : 'check', record: path}
}

/** Reads a bench record; a damaged or foreign file is a one-line operational error. */
export function readBenchRecord(path: string): BenchRecord {
  let x: unknown
  try {
    x = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw operationalError(`${path} is not a raftctl bench record: ${err instanceof SyntaxError ? 'not JSON (truncated?)' : (err as Error).message}`)
  }
  if (!isBenchRecord(x)) throw operationalError(`${path} is not a raftctl bench record`)
  return x
}

/**
 * After a `raftctl check` run: saves the run's captured messages (if any) beside its history,
 * then writes its report.
 */
export function writeCheckRunReport(historyPath: string, clusterDir: string): Written {
  const h = readHistory(historyPath)
  const epochMs = typeof h.meta!.epochMs === 'number' ? (h.meta!.epochMs as number) : NaN
  const endMs = h.ops.reduce((m, o) => Math.max(m, o.complete), 0)
  const messages = Number.isFinite(epochMs) ? collectMessages(clusterDir, epochMs, endMs) : null
  if (messages && messages.lines.length > 0) saveMessages(historyPath, messages)
  return writeCheckReport(historyPath, {messages})
}
