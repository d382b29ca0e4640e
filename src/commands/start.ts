import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, intFlag} from '../cli/flags.js'
import {statusJson, statusTable} from '../cli/render.js'
import {DEFAULTS, MAX_NODES, parseNodeId, resolveDir, loadCluster, clusterExists} from '../clusterdir/config.js'
import {startNodes, waitForLeader} from '../cluster/service.js'
import {TEST_MODES, type TestMode} from '../protocol/test-modes.js'

export default class Start extends BaseCommand {
  static override description = 'Start the cluster (all nodes, or the given ones) in the background; initialises the directory if it has no cluster'
  static override examples = ['<%= config.bin %> start --nodes 5', '<%= config.bin %> start 3', '<%= config.bin %> start --no-wait']
  static override strict = false
  static override args = {ids: Args.string({description: 'node ids to start (default: all)', required: false})}
  static override flags = {
    nodes: intFlag({description: `number of replicas for a new cluster (1..${MAX_NODES}, default ${DEFAULTS.nodes})`, min: 1, max: MAX_NODES}),
    'base-port': intFlag({description: `node N listens on base-port + N (new cluster; default ${DEFAULTS.basePort})`, min: 1, max: 65534}),
    wait: Flags.boolean({description: 'wait for a leader and print the status table', default: true, allowNo: true}),
    timeout: durationFlag({description: 'how long to wait for a leader', default: 10_000, min: 1}),
    'unsafe-stale-reads': Flags.boolean({hidden: true, description: 'test only: replicas serve reads without ReadIndex', default: false}),
    mutant: Flags.string({hidden: true, description: 'test only: start the replicas deliberately broken', options: [...TEST_MODES]}),
  }

  async run(): Promise<unknown> {
    const {flags, argv} = await this.parse(Start)
    const dir = resolveDir(flags.dir)
    // Ids name nodes of the existing cluster, or of the one about to be created.
    const members = clusterExists(dir) ? loadCluster(dir) : Array.from({length: flags.nodes ?? DEFAULTS.nodes}, (_, i) => i + 1)
    const ids = (argv as string[]).length > 0 ? (argv as string[]).map((a) => parseNodeId(a, members)) : undefined
    const result = await startNodes(dir, {
      ids,
      init: {
        nodes: flags.nodes ?? DEFAULTS.nodes,
        basePort: flags['base-port'] ?? DEFAULTS.basePort,
        host: DEFAULTS.host,
        electionTimeoutMs: DEFAULTS.electionTimeoutMs,
        heartbeatMs: DEFAULTS.heartbeatMs,
      },
      nodesGiven: flags.nodes !== undefined,
      basePortGiven: flags['base-port'] !== undefined,
      mutant: (flags.mutant as TestMode | undefined) ?? (flags['unsafe-stale-reads'] ? 'read-without-readindex' : undefined),
    })
    const json = this.jsonEnabled()
    if (!json) {
      if (result.initialised) process.stderr.write(`Initialised a ${result.config.nodes.length}-node cluster in ${dir}\n`)
      if (result.started.length > 0) process.stderr.write(`Started node(s) ${result.started.join(', ')}\n`)
      if (result.alreadyRunning.length > 0) process.stderr.write(`Already running: node(s) ${result.alreadyRunning.join(', ')}\n`)
    }
    const base = {dir, initialised: result.initialised, started: result.started, alreadyRunning: result.alreadyRunning}
    if (!flags.wait) return base
    const status = await waitForLeader(dir, result.config, flags.timeout, result.spawned)
    if (!json) process.stdout.write(statusTable(status))
    return {...base, status: statusJson(status)}
  }
}
