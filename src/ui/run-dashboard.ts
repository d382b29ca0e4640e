// Entry point of the live dashboard (`raftctl status --watch` in a terminal). Only this command
// loads it, with `await import()`, because Ink and React take most of a second to load. It draws
// on the terminal's alternate screen and always gives the terminal back as it found it: main
// screen, cursor shown, raw mode off — on `q`, Ctrl-C, SIGTERM/SIGHUP, stdin closing, or an error.
import {render} from 'ink'
import {createElement} from 'react'
import type {ClusterConfig} from '../clusterdir/config.js'
import {quitOnStdin} from '../cli/stdin.js'
import {clusterActions} from './actions.js'
import {DashboardApp} from './app.js'
import {ClusterSource} from './cluster-source.js'

export interface DashboardOptions {
  dir: string
  config: ClusterConfig
  secret: string
  intervalMs: number
}

const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[H'
const LEAVE_ALT_SCREEN = '\x1b[?1049l'
const SHOW_CURSOR = '\x1b[?25h'

/** No colour when NO_COLOR (non-empty) or CI is set. */
export function colourEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false') return false
  return true
}

export async function runDashboard(o: DashboardOptions): Promise<void> {
  const stdout = process.stdout
  const stdin = process.stdin
  const source = new ClusterSource(o.dir, o.config, o.secret, Math.min(1000, Math.max(500, o.intervalMs)))
  const actions = clusterActions(o.dir, o.config)

  let restored = false
  const restore = () => {
    if (restored) return
    restored = true
    try {
      stdout.write(SHOW_CURSOR + LEAVE_ALT_SCREEN)
    } catch {
      // The terminal is gone; nothing to give back.
    }
  }
  stdout.write(ENTER_ALT_SCREEN)
  process.once('exit', restore)

  const app = createElement(DashboardApp, {
    dir: o.dir,
    nodeIds: o.config.nodes.map((n) => n.id),
    source,
    actions,
    intervalMs: o.intervalMs,
    color: colourEnabled(process.env),
  })
  let instance: ReturnType<typeof render> | null = null
  const quit = () => instance?.unmount()
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, quit)
  // With a terminal on stdin Ink reads the keys (raw mode); otherwise a stdin that closes once the
  // dashboard is up means quit (one at its end from the start, /dev/null say, means nothing).
  const releaseStdin = quitOnStdin(quit, () => source.polledOnce, {keys: false})
  try {
    instance = render(app, {stdout, stdin, exitOnCtrlC: true, patchConsole: true})
    await instance.waitUntilExit()
  } finally {
    for (const s of signals) process.off(s, quit)
    releaseStdin()
    await source.close()
    restore()
    process.off('exit', restore)
  }
}
