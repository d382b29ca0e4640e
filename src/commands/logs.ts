import {Args, Flags} from '@oclif/core'
import {closeSync, existsSync, openSync, readSync, statSync, watch} from 'node:fs'
import {BaseCommand} from '../cli/base.js'
import {CliError, ExitCode} from '../lib/errors.js'
import {intFlag} from '../cli/flags.js'
import {parseNodeId, paths, raftctl, resolveDir} from '../clusterdir/config.js'
import {knownNodes} from '../cluster/service.js'

export default class Logs extends BaseCommand {
  static override description = "Show a node's log: elections, term changes, leadership, partitions, recoveries, errors"
  static override examples = ['<%= config.bin %> logs 1', '<%= config.bin %> logs 2 --follow', '<%= config.bin %> logs 3 --lines 100']
  static override args = {id: Args.string({description: 'node id', required: true})}
  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'keep printing new lines', default: false}),
    lines: intFlag({description: 'how many of the last lines to show', min: 0, max: 1_000_000, default: 50}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Logs)
    const dir = resolveDir(flags.dir)
    // From the node folders when cluster.json is damaged: the logs say what went wrong.
    const id = parseNodeId(args.id, Math.max(...knownNodes(dir).ids))
    const file = paths.log(dir, id)
    if (!existsSync(file)) {
      if (this.jsonEnabled()) return {id, lines: []}
      throw new CliError(`node ${id} has no log yet (${file})`, ExitCode.operational, 'no-log', `start it: ${raftctl(dir, `start ${id}`)}`)
    }
    const lines = tail(file, flags.lines)
    if (this.jsonEnabled()) return {id, file, lines}
    for (const line of lines) process.stdout.write(line + '\n')
    if (flags.follow) await follow(file)
    return undefined
  }
}

function tail(file: string, n: number): string[] {
  const size = statSync(file).size
  const fd = openSync(file, 'r')
  try {
    // Read backwards in chunks until we have n lines (logs can be large).
    let pos = size
    let text = ''
    while (pos > 0 && text.split('\n').length <= n + 1) {
      const len = Math.min(64 * 1024, pos)
      pos -= len
      const buf = Buffer.alloc(len)
      readSync(fd, buf, 0, len, pos)
      text = buf.toString('utf8') + text
    }
    const lines = text.split('\n')
    if (lines[lines.length - 1] === '') lines.pop()
    return n === 0 ? [] : lines.slice(-n)
  } finally {
    closeSync(fd)
  }
}

async function follow(file: string): Promise<void> {
  let offset = statSync(file).size
  const flush = () => {
    const size = statSync(file).size
    if (size < offset) offset = 0
    if (size === offset) return
    const fd = openSync(file, 'r')
    try {
      const buf = Buffer.alloc(size - offset)
      readSync(fd, buf, 0, buf.length, offset)
      offset = size
      process.stdout.write(buf)
    } finally {
      closeSync(fd)
    }
  }
  await new Promise<void>((resolve) => {
    const watcher = watch(file, () => flush())
    const poll = setInterval(flush, 500)
    const stop = () => {
      watcher.close()
      clearInterval(poll)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
