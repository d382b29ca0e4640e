// Hidden: one replica process (spawned detached by `raftctl start`).
import {Command, Flags} from '@oclif/core'
import {resolveDir} from '../clusterdir/config.js'
import {TEST_MODES} from '../protocol/test-modes.js'

export default class Replica extends Command {
  static override hidden = true
  static override description = 'Run one replica in the foreground (used by raftctl start)'
  static override flags = {
    dir: Flags.string({description: 'cluster directory'}),
    id: Flags.integer({description: 'node id', required: true, min: 1}),
    mutant: Flags.string({description: 'test only: a deliberately broken replica', options: [...TEST_MODES]}),
    'unsafe-stale-reads': Flags.boolean({description: 'test only: serve reads without ReadIndex (--mutant read-without-readindex)', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Replica)
    const {EXIT_ALREADY_RUNNING, ReplicaStartError, runReplicaProcess} = await import('../server/process.js')
    const {replicaSettings} = await import('../protocol/test-modes.js')
    const mode = (flags.mutant as (typeof TEST_MODES)[number] | undefined) ?? (flags['unsafe-stale-reads'] ? 'read-without-readindex' : undefined)
    try {
      await runReplicaProcess({dir: resolveDir(flags.dir), id: flags.id, ...replicaSettings(mode)})
    } catch (err) {
      process.stderr.write(`Error: ${(err as Error).message}\n`)
      process.exit(err instanceof ReplicaStartError && err.alreadyRunning ? EXIT_ALREADY_RUNNING : 1)
    }
  }
}
