import {Flags} from '@oclif/core'
import {ciSet} from '../lib/terminal.js'
import {BaseCommand} from '../cli/base.js'
import {durationFlag} from '../cli/flags.js'
import {statusJson, statusTable} from '../cli/render.js'
import {quitOnStdin} from '../cli/stdin.js'
import {loadCluster, raftctl, readSecret, resolveDir} from '../clusterdir/config.js'
import {clusterStatus, type ClusterStatus} from '../cluster/status.js'
import {ExitCode} from '../lib/errors.js'

export default class Status extends BaseCommand {
  static override description = `Show every node: role, term, leader, log/commit/applied index, lag and partition group (down nodes included)
Roles: leader, follower, candidate, pre-candidate (a PreVote round), paused (SIGSTOP: the process runs but answers nothing), down.
--health (etcdctl endpoint health) prints the same and exits 0 when the up nodes agree on a leader, 4 when no leader is reachable, 1 when no node runs.
--watch refreshes: a live dashboard in a terminal; piped, a table (an NDJSON line with --json) per interval until killed, q or Ctrl-C in a terminal, or a stdin that closes.`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --health && echo ready',
    '<%= config.bin %> status --watch',
    '<%= config.bin %> status --watch --json --interval 500ms > status.ndjson',
  ]
  static override flags = {
    watch: Flags.boolean({description: 'keep refreshing (a live dashboard in a terminal)', default: false, exclusive: ['health']}),
    interval: durationFlag({description: 'refresh interval for --watch', default: 1000, min: 50}),
    health: Flags.boolean({description: 'exit 0 if the up nodes agree on a leader, 4 if no leader is reachable, 1 if no node runs', default: false}),
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
      if (!flags.health) return statusJson(status)
      const health = healthOf(status)
      process.exitCode = health.exitCode
      if (!json && health.problem) {
        process.stderr.write(`Error: ${health.problem}\n`)
        process.stderr.write(
          `Hint: ${health.exitCode === ExitCode.operational ? `start it: ${raftctl(dir, 'start')}` : `see ${raftctl(dir, 'logs ID')}; is a majority of nodes up and connected?`}\n`,
        )
      }
      return {...statusJson(status), health: health.code}
    }
    if (process.stdout.isTTY && !json) {
      // Ink draws only a final frame when $CI is set, but this is an interactive terminal: keep CI's
      // meaning for us (no colour, via NO_COLOR) and hide it from Ink, which reads it on import.
      if (ciSet(process.env)) process.env.NO_COLOR ||= '1'
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

  /**
   * Not a dashboard: a table (or one NDJSON document) per interval until a signal, `q`/Ctrl-C on a
   * terminal stdin, or a piped stdin that closes (one at its end from the start does not count).
   */
  private async watchPlain(dir: string, config: ReturnType<typeof loadCluster>, secret: string, intervalMs: number, json: boolean): Promise<void> {
    let stop = false
    let wake = () => {}
    const quit = () => {
      stop = true
      wake()
    }
    process.once('SIGINT', quit)
    process.once('SIGTERM', quit)
    let printed = false
    const release = quitOnStdin(quit, () => printed)
    try {
      while (!stop) {
        const started = Date.now()
        const status = await clusterStatus(dir, config, secret, Math.min(1000, Math.max(200, intervalMs)))
        if (stop) break
        if (json) process.stdout.write(JSON.stringify(statusJson(status)) + '\n')
        else process.stdout.write(`${new Date().toISOString()}\n${statusTable(status)}\n`)
        printed = true
        const wait = Math.max(0, intervalMs - (Date.now() - started))
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
    } finally {
      release()
      process.off('SIGINT', quit)
      process.off('SIGTERM', quit)
    }
  }
}

/** `status --health`: ok (exit 0), no-leader (4), not-running (1). */
export function healthOf(status: ClusterStatus): {code: 'ok' | 'no-leader' | 'not-running'; exitCode: number; problem?: string} {
  if (status.leader !== null) return {code: 'ok', exitCode: ExitCode.ok}
  if (status.nodes.every((n) => !n.up && n.pid === null)) {
    return {code: 'not-running', exitCode: ExitCode.operational, problem: 'no node of the cluster is running'}
  }
  const up = status.nodes.filter((n) => n.up).length
  return {code: 'no-leader', exitCode: ExitCode.unavailable, problem: `no leader: the ${up} node(s) that answer agree on none`}
}
