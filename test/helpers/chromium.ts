// Headless Chromium for tests that open a report as a person would: a screenshot (PNG) and the
// DOM after the page's scripts ran. Each call gets a fresh profile directory, removed afterwards,
// and a deadline; no network is needed (the reports are self-contained).
import {execa} from 'execa'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']

/** The Chromium binary, or null if none is installed (CI installs Debian's `chromium`). */
export function findChromium(): string | null {
  return CANDIDATES.find((p) => existsSync(p)) ?? null
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

async function run(bin: string, args: string[], file: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'raftctl-chromium-'))
  try {
    const r = await execa(bin, [...FLAGS, `--user-data-dir=${profile}`, ...args, pathToFileURL(file).href], {reject: false, timeout: 60_000, stdin: 'ignore'})
    if (r.exitCode !== 0) throw new Error(`chromium exited ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}: ${String(r.stderr).slice(-800)}`)
    return String(r.stdout)
  } finally {
    rmSync(profile, {recursive: true, force: true})
  }
}

/** The DOM after load (and `budgetMs` of virtual time for timers). */
export function dumpDom(bin: string, file: string, budgetMs = 3000): Promise<string> {
  return run(bin, ['--dump-dom', `--virtual-time-budget=${budgetMs}`], file)
}

/** A screenshot of the top `height` pixels of the page at `width`. */
export async function screenshot(bin: string, file: string, out: string, width = 1400, height = 2400): Promise<void> {
  await run(bin, [`--screenshot=${out}`, `--window-size=${width},${height}`, '--hide-scrollbars', '--virtual-time-budget=3000'], file)
  if (!existsSync(out)) throw new Error(`chromium wrote no screenshot to ${out}`)
}
