// `raftctl bench`: closed-loop load against the cluster in the directory (src/bench/run.ts);
// prints throughput, latency percentiles, errors and leader changes, and what the leader did
// (fsyncs, entries per fsync and per AppendEntries, its CPU).
import {Flags, type Interfaces} from '@oclif/core'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, intFlag} from '../cli/flags.js'
import type {BenchOp} from '../bench/loop.js'
import {runBench, type BenchRun} from '../bench/run.js'
import {formatMechanics, formatSummary} from '../bench/stats.js'
import {resolveDir} from '../clusterdir/config.js'
import {usageError} from '../lib/errors.js'
import {MAX_VALUE_BYTES} from '../protocol/protocol.js'
import {DEFAULT_MAX_INFLIGHT_REQUESTS} from '../transport/server.js'

export default class Bench extends BaseCommand {
  static override description =
    "Load the cluster with closed-loop clients for a while; prints throughput, latency percentiles, errors, leader changes and the leader's fsyncs, batching and CPU"
  static override examples = [
    '<%= config.bin %> bench',
    '<%= config.bin %> bench --clients 64 --duration 30s --op put --json',
    '<%= config.bin %> bench --op mixed --value-size 1000 --keys 100',
    '<%= config.bin %> bench --clients 64 --conns 16',
  ]
  static override flags = {
    clients: intFlag({description: 'concurrent closed-loop clients, each with its own session (1..4096, default 16)', min: 1, max: 4096}),
    conns: intFlag({
      description: 'connections per node the clients share round-robin, as etcd benchmark --conns (1..4096, default: one per client)',
      min: 1,
      max: 4096,
    }),
    duration: durationFlag({description: 'how long to run', default: 10_000}),
    'value-size': intFlag({description: `bytes per value (0..${MAX_VALUE_BYTES}, default 100)`, min: 0, max: MAX_VALUE_BYTES}),
    keys: intFlag({description: 'number of distinct keys, chosen uniformly (1..100000000, default 1000)', min: 1, max: 100_000_000}),
    op: Flags.string({description: 'operation: put, get (linearizable) or mixed (half each)', options: ['put', 'get', 'mixed'], default: 'put'}),
    timeout: durationFlag({description: 'give up on one operation after this long (counted as an error)', default: 5000}),
    report: Flags.boolean({
      description: 'save the run (bench-<time>/bench.json) and its report.html in the cluster directory',
      default: true,
      allowNo: true,
    }),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Bench)
    const opts = benchSettings(flags)
    const sigint = new Interrupt()
    try {
      const run = await runBench({...opts, progress: {stream: process.stderr, env: process.env}, onStart: sigint.onStart})
      if (sigint.interrupted) process.exitCode = 130
      const {report, problem} = flags.report ? await saveReport(run, opts) : {report: null, problem: null}
      if (!this.jsonEnabled()) printRun(run, opts, {interrupted: sigint.interrupted, report, problem})
      // The settings, as `check --json` carries them: the document says what was measured.
      return {...run.result, ...opts, nodes: run.config.nodes.length, interrupted: sigint.interrupted, report, mechanics: run.mechanics}
    } finally {
      sigint.dispose()
    }
  }
}

type BenchFlags = Interfaces.InferredFlags<typeof Bench.flags & typeof BaseCommand.baseFlags>
type BenchSettings = ReturnType<typeof benchSettings>

/** The run's settings from the flags, refusing what cannot run. */
function benchSettings(flags: BenchFlags) {
  if (flags.duration <= 0) throw usageError('--duration must be more than 0')
  if (flags.timeout <= 0) throw usageError('--timeout must be more than 0')
  const clients = flags.clients ?? 16
  const conns = Math.min(flags.conns ?? clients, clients)
  const perConnection = Math.ceil(clients / conns)
  if (perConnection > DEFAULT_MAX_INFLIGHT_REQUESTS) {
    throw usageError(
      `--clients ${clients} over --conns ${conns} puts ${perConnection} clients on a connection; a node answers busy beyond ${DEFAULT_MAX_INFLIGHT_REQUESTS} requests in flight on one`,
    )
  }
  const dir = resolveDir(flags.dir)
  return {
    dir,
    clients,
    conns,
    durationMs: flags.duration,
    valueSize: flags['value-size'] ?? 100,
    keys: flags.keys ?? 1000,
    op: flags.op as BenchOp,
    timeoutMs: flags.timeout,
  }
}

/** Ctrl-C while the command runs (listening from construction until dispose()). */
class Interrupt {
  interrupted = false
  private stop = () => {}
  private readonly onSigint = () => {
    // First Ctrl-C: stop issuing operations, report what ran; a second one quits at once.
    if (this.interrupted) process.exit(130)
    this.interrupted = true
    process.stderr.write('\ninterrupted: finishing the operations in flight (Ctrl-C again to quit now)\n')
    this.stop()
  }

  constructor() {
    process.on('SIGINT', this.onSigint)
  }

  /** Given the measured loop's stop once it runs; an earlier Ctrl-C stops it at once. */
  readonly onStart = (s: () => void) => {
    this.stop = s
    if (this.interrupted) s()
  }

  dispose(): void {
    process.removeListener('SIGINT', this.onSigint)
  }
}

/** Saves the run (bench-<time>/bench.json) and its report: the report's path, or why it was not written. */
async function saveReport(run: BenchRun, opts: BenchSettings): Promise<{report: string | null; problem: string | null}> {
  // Loaded only now: the report's code stays off the CLI's start-up path.
  try {
    const {saveBenchRun} = await import('../report/write.js')
    const runDir = join(opts.dir, `bench-${run.started.replace(/[:.]/g, '-')}`)
    mkdirSync(runDir)
    const report = saveBenchRun(
      {
        started: run.started,
        settings: {...opts, nodes: run.config.nodes.length},
        result: run.result,
        exact: run.exact,
        timeline: run.timeline,
        leaders: run.leaders,
        errorSamples: run.errorSamples,
        mechanics: run.mechanics,
      },
      runDir,
    ).path
    return {report, problem: null}
  } catch (err) {
    return {report: null, problem: (err as Error).message}
  }
}

/** The summary and the leader's mechanics on stdout; the first errors, a report problem and the report on stderr. */
function printRun(run: BenchRun, opts: BenchSettings, o: {interrupted: boolean; report: string | null; problem: string | null}): void {
  process.stdout.write(formatSummary(run.result, {...opts, target: `${run.config.nodes.length}-node cluster in ${opts.dir}`, interrupted: o.interrupted}))
  process.stdout.write(formatMechanics(run.mechanics))
  if (run.errorSamples.length > 0) process.stderr.write(`First errors:\n${run.errorSamples.map((e) => `  ${e}\n`).join('')}`)
  if (o.problem) process.stderr.write(`Warning: could not write the report: ${o.problem}\n`)
  if (o.report) process.stderr.write(`report: ${o.report}\n`)
}
