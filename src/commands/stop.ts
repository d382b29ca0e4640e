import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {parseNodeId, resolveDir} from '../clusterdir/config.js'
import {stopNodes, knownNodes} from '../cluster/service.js'

export default class Stop extends BaseCommand {
  static override description =
    'Stop nodes (all, or the given ones): graceful SIGTERM, or SIGKILL with --kill (a crash). Works from the pid files, also when cluster.json is damaged'
  static override examples = ['<%= config.bin %> stop', '<%= config.bin %> stop 2 --kill']
  static override strict = false
  static override args = {ids: Args.string({description: 'node ids to stop (default: all)', required: false})}
  static override flags = {
    kill: Flags.boolean({description: 'SIGKILL at once: simulate a crash', default: false}),
  }

  async run(): Promise<unknown> {
    const {flags, argv} = await this.parse(Stop)
    const dir = resolveDir(flags.dir)
    // From the pid files: this works also when cluster.json is damaged (its nodes may still run).
    const all = knownNodes(dir, true)
    if (all.problem && !this.jsonEnabled()) process.stderr.write(`Warning: ${all.problem}; stopping the nodes found in ${dir} by their pid files\n`)
    const ids = (argv as string[]).length > 0 ? (argv as string[]).map((a) => parseNodeId(a, all.ids)) : undefined
    const result = await stopNodes(dir, ids, flags.kill)
    if (!this.jsonEnabled()) {
      if (result.stopped.length > 0) this.log(`${flags.kill ? 'Killed' : 'Stopped'} node(s) ${result.stopped.join(', ')}`)
      if (result.notRunning.length > 0) process.stderr.write(`Not running: node(s) ${result.notRunning.join(', ')}\n`)
    }
    return {dir, ...result, kill: flags.kill}
  }
}
