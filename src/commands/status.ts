import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag} from '../cli/flags.js'
import {statusJson, statusTable} from '../cli/render.js'
import {loadCluster, readSecret, resolveDir} from '../cluster/config.js'
import {clusterStatus} from '../cluster/status.js'

export default class Status extends BaseCommand {
  static override description =
    'Show every node: role, term, leader, log/commit/applied index, lag and partition group (down nodes included)'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json', '<%= config.bin %> status --watch']
  static override flags = {
    watch: Flags.boolean({description: 'keep refreshing (a live dashboard in a terminal)', default: false}),
    interval: durationFlag({description: 'refresh interval for --watch', default: 1000}),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Status)
    const dir = resolveDir(flags.dir)
    const config = loadCluster(dir)
    const secret = readSecret(dir)
    const json = this.jsonEnabled()
    if (!flags.watch) {
      const status = await clusterStatus(dir, config, secret)
      if (!json) process.stdout.write(statusTable(status))
      return statusJson(status)
    }
    if (process.stdout.isTTY && !json) {
      // Ink draws only a final frame when $CI is set, but this is an interactive terminal: keep CI's
      // meaning for us (no colour, via NO_COLOR) and hide it from Ink, which reads it on import.
      const ci = process.env.CI
      if (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') process.env.NO_COLOR ||= '1'
      delete process.env.CI
      delete process.env.CONTINUOUS_INTEGRATION
      // Ink and React are loaded only here: they cost most of a second that other commands must not pay.
      const {runDashboard} = await import('../ui/run-dashboard.js')
      // A terminal refreshes several times a second unless --interval says otherwise.
      const intervalGiven = this.argv.some((a) => a === '--interval' || a.startsWith('--interval='))
      await runDashboard({dir, config, secret, intervalMs: intervalGiven ? flags.interval : 300})
      return undefined
    }
    await this.watchPlain(dir, config, secret, flags.interval, json)
    return undefined
  }

  /** Not a terminal: a table (or one NDJSON document) per interval until stdin closes or a signal. */
  private async watchPlain(dir: string, config: ReturnType<typeof loadCluster>, secret: string, intervalMs: number, json: boolean): Promise<void> {
    let stop = false
    const quit = () => {
      stop = true
    }
    process.once('SIGINT', quit)
    process.once('SIGTERM', quit)
    if (!process.stdin.isTTY) {
      process.stdin.on('end', quit).on('close', quit).on('error', quit)
      process.stdin.resume()
    }
    while (!stop) {
      const started = Date.now()
      const status = await clusterStatus(dir, config, secret, Math.min(1000, Math.max(200, intervalMs)))
      if (json) process.stdout.write(JSON.stringify(statusJson(status)) + '\n')
      else process.stdout.write(`${new Date().toISOString()}\n${statusTable(status)}\n`)
      const wait = Math.max(0, intervalMs - (Date.now() - started))
      for (let waited = 0; waited < wait && !stop; waited += 50) await new Promise((r) => setTimeout(r, Math.min(50, wait - waited)))
    }
    process.stdin.pause()
  }
}
