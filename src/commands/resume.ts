import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {loadCluster, parseNodeId, resolveDir} from '../clusterdir/config.js'
import {resumeNodes} from '../cluster/service.js'

export default class Resume extends BaseCommand {
  static override description = 'Resume paused nodes with SIGCONT (the given ones, or every paused node)'
  static override examples = ['<%= config.bin %> resume 2', '<%= config.bin %> resume']
  static override strict = false
  static override args = {ids: Args.string({description: 'node ids to resume (default: all paused nodes)', required: false})}

  async run(): Promise<unknown> {
    const {flags, argv} = await this.parse(Resume)
    const dir = resolveDir(flags.dir)
    const config = loadCluster(dir)
    const args = argv as string[]
    const ids = args.length > 0 ? [...new Set(args.map((a) => parseNodeId(a, config.nodes.length)))] : undefined
    const result = await resumeNodes(dir, ids)
    if (!this.jsonEnabled()) {
      if (result.resumed.length > 0) this.log(`Resumed node(s) ${result.resumed.join(', ')}`)
      else if (ids === undefined) this.log('No node is paused')
      if (ids !== undefined && result.notPaused.length > 0) process.stderr.write(`Not paused: node(s) ${result.notPaused.join(', ')}\n`)
    }
    return {dir, ...result}
  }
}
