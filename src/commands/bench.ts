// `raftctl bench`: closed-loop load against the cluster in the directory (src/bench/run.ts);
// prints throughput, latency percentiles, errors and leader changes, and what the leader did
// (fsyncs, entries per fsync and per AppendEntries, its CPU).
import {Flags} from '@oclif/core'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, intFlag} from '../cli/flags.js'
import type {BenchOp} from '../bench/loop.js'
import {runBench} from '../bench/run.js'
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
    const opts = {
      dir,
      clients,
      conns,
      durationMs: flags.duration,
      valueSize: flags['value-size'] ?? 100,
      keys: flags.keys ?? 1000,
      op: flags.op as BenchOp,
      timeoutMs: flags.timeout,
    }
    let stop = () => {}
    let interrupted = false
    const onSigint = () => {
      // First Ctrl-C: stop issuing operations, report what ran; a second one quits at once.
      if (interrupted) process.exit(130)
      interrupted = true
      process.stderr.write('\ninterrupted: finishing the operations in flight (Ctrl-C again to quit now)\n')
      stop()
    }
    process.on('SIGINT', onSigint)
    try {
      const run = await runBench({
        ...opts,
        progress: {stream: process.stderr, env: process.env},
        onStart: (s) => {
          stop = s
          if (interrupted) s()
        },
      })
      if (interrupted) process.exitCode = 130
      let report: string | null = null
      let problem: string | null = null
      if (flags.report) {
        // Loaded only now: the report's code stays off the CLI's start-up path.
        try {
          const {saveBenchRun} = await import('../report/write.js')
          const runDir = join(dir, `bench-${run.started.replace(/[:.]/g, '-')}`)
          mkdirSync(runDir)
          report = saveBenchRun(
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
        } catch (err) {
          problem = (err as Error).message
        }
      }
      if (!this.jsonEnabled()) {
        process.stdout.write(formatSummary(run.result, {...opts, target: `${run.config.nodes.length}-node cluster in ${dir}`, interrupted}))
        process.stdout.write(formatMechanics(run.mechanics))
        if (run.errorSamples.length > 0) process.stderr.write(`First errors:\n${run.errorSamples.map((e) => `  ${e}\n`).join('')}`)
        if (problem) process.stderr.write(`Warning: could not write the report: ${problem}\n`)
        if (report) process.stderr.write(`report: ${report}\n`)
      }
      // The settings, as `check --json` carries them: the document says what was measured.
      return {...run.result, ...opts, nodes: run.config.nodes.length, interrupted, report, mechanics: run.mechanics}
    } finally {
      process.removeListener('SIGINT', onSigint)
    }
  }
}
