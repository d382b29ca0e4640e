import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {loadCluster, parseNodeId, raftctl, resolveDir} from '../clusterdir/config.js'
import {pauseNodes} from '../cluster/service.js'
import {usageError} from '../lib/errors.js'

export default class Pause extends BaseCommand {
  static override description = 'Freeze nodes with SIGSTOP (a long GC pause or a stalled VM): they keep their sockets but answer nothing until raftctl resume'
  static override examples = ['<%= config.bin %> pause 2', '<%= config.bin %> pause 1 3']
  static override strict = false
  static override args = {ids: Args.string({description: 'node ids to pause', required: false})}

  async run(): Promise<unknown> {
    const {flags, argv} = await this.parse(Pause)
    const dir = resolveDir(flags.dir)
    const config = loadCluster(dir)
    const args = argv as string[]
    if (args.length === 0) throw usageError('give the node id(s) to pause, e.g. raftctl pause 2')
    const ids = [...new Set(args.map((a) => parseNodeId(a, config)))]
    const result = await pauseNodes(dir, ids)
    if (!this.jsonEnabled()) {
      if (result.paused.length > 0) this.log(`Paused node(s) ${result.paused.join(', ')}`)
      if (result.alreadyPaused.length > 0) process.stderr.write(`Already paused: node(s) ${result.alreadyPaused.join(', ')}\n`)
      process.stderr.write(`To resume: ${raftctl(dir, `resume ${ids.join(' ')}`)}\n`)
    }
    return {dir, ...result}
  }
}
