// The entry point of a replica process, as `raftctl start` spawns it:
//   node [V8 flags] dist/server/replica-main.js --dir DIR --id N [--mutant NAME]
// It loads only the replica's own modules, not oclif (about 10 MB of memory and a few hundred
// milliseconds of start-up per replica). `raftctl replica` (hidden) runs the same in the foreground.
// `--mutant NAME` (test only, protocol/test-modes.ts) runs a deliberately broken replica;
// `--unsafe-stale-reads` is the older spelling of `--mutant read-without-readindex`.
// The file name contains "replica": `isAlive` checks /proc/PID/cmdline for it.
import {parseArgs} from 'node:util'
import {isNodeId} from '../core/types.js'
import {EXIT_ALREADY_RUNNING, ReplicaStartError, runReplicaProcess} from './process.js'
import {isTestMode, replicaSettings, TEST_MODES, type TestMode} from '../protocol/test-modes.js'

const USAGE = 'usage: replica-main.js --dir DIR --id N [--mutant NAME]'

async function main(argv: string[]): Promise<number> {
  let values: {dir?: string; id?: string; mutant?: string; 'unsafe-stale-reads'?: boolean}
  try {
    values = parseArgs({
      args: argv,
      options: {dir: {type: 'string'}, id: {type: 'string'}, mutant: {type: 'string'}, 'unsafe-stale-reads': {type: 'boolean'}},
      strict: true,
    }).values
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`)
    return 2
  }
  const id = Number(values.id)
  if (!values.dir || !/^[1-9]\d*$/.test(values.id ?? '') || !isNodeId(id)) {
    process.stderr.write(`Error: ${USAGE}\n`)
    return 2
  }
  let mode: TestMode | undefined
  if (values.mutant !== undefined) {
    if (!isTestMode(values.mutant)) {
      process.stderr.write(`Error: unknown mutant ${JSON.stringify(values.mutant)}: one of ${TEST_MODES.join(', ')}\n`)
      return 2
    }
    mode = values.mutant
  } else if (values['unsafe-stale-reads'] === true) {
    mode = 'read-without-readindex'
  }
  try {
    await runReplicaProcess({dir: values.dir, id, ...replicaSettings(mode)})
    return 0
  } catch (err) {
    // A start failure is already in the log, as its one `cannot start:` line.
    if (err instanceof ReplicaStartError) return err.alreadyRunning ? EXIT_ALREADY_RUNNING : 1
    process.stderr.write(`Error: ${(err as Error).message}\n`)
    return 1
  }
}

const code = await main(process.argv.slice(2))
if (code !== 0) process.exit(code)
