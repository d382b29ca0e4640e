import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, intFlag} from '../cli/flags.js'
import {DEFAULTS, MAX_NODES, resolveDir} from '../clusterdir/config.js'
import {initCluster} from '../cluster/service.js'

export default class Init extends BaseCommand {
  static override description = 'Create a cluster directory: cluster.json and the peer secret'
  static override examples = ['<%= config.bin %> init --nodes 5', '<%= config.bin %> init --nodes 3 --base-port 9000 --force']
  static override flags = {
    nodes: intFlag({description: `number of replicas (1..${MAX_NODES})`, min: 1, max: MAX_NODES, default: DEFAULTS.nodes}),
    'base-port': intFlag({description: 'node N listens on base-port + N', min: 1, max: 65534, default: DEFAULTS.basePort}),
    host: Flags.string({description: 'address the replicas listen on', default: DEFAULTS.host}),
    'election-timeout': durationFlag({
      description: 'election timeout, randomised up to twice this; at least twice the heartbeat (a bare number is milliseconds)',
      bareMs: true,
      default: DEFAULTS.electionTimeoutMs,
    }),
    heartbeat: durationFlag({description: 'heartbeat interval (a bare number is milliseconds)', bareMs: true, default: DEFAULTS.heartbeatMs}),
    'snapshot-every': intFlag({
      description: 'take a snapshot after N applied entries (and, with a large state, once the writes since the last one weigh half of it)',
      min: 1,
      max: 100_000_000,
      default: DEFAULTS.snapshotEvery,
    }),
    force: Flags.boolean({description: 'replace an existing cluster (deletes its data; refused while nodes run)', default: false}),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Init)
    const dir = resolveDir(flags.dir)
    const config = await initCluster(
      dir,
      {
        nodes: flags.nodes,
        basePort: flags['base-port'],
        host: flags.host,
        electionTimeoutMs: flags['election-timeout'],
        heartbeatMs: flags.heartbeat,
        snapshotEvery: flags['snapshot-every'],
      },
      flags.force,
    )
    if (!this.jsonEnabled()) {
      this.log(`Initialised a ${config.nodes.length}-node cluster in ${dir} (cluster id ${config.clusterId})`)
      for (const n of config.nodes) this.log(`  node ${n.id}  ${n.host}:${n.port}`)
    }
    return {dir, clusterId: config.clusterId, nodes: config.nodes}
  }
}
