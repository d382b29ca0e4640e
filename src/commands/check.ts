import {Flags} from '@oclif/core'
import {randomInt} from 'node:crypto'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, intFlag} from '../cli/flags.js'
import {DEFAULTS, MAX_NODES, raftctl, resolveDir} from '../clusterdir/config.js'
import {usageError} from '../lib/errors.js'
import {FAULT_KINDS, type FaultKind} from '../check/plan.js'
import {Progress} from '../check/progress.js'
import {renderReport} from '../check/report.js'
import {CHECK_EXIT, runCheck, type CheckReport} from '../check/run.js'

export default class Check extends BaseCommand {
  static override description = `Test the cluster for linearizability under faults (Jepsen style).
Runs concurrent clients doing read/write/cas on a few keys while a seeded nemesis partitions, kills (SIGKILL, then restarts) and pauses (SIGSTOP/SIGCONT) nodes; then heals everything, lets the clients run through a quiet period, records the history as NDJSON in the cluster directory and checks it per key. Starts the cluster (or creates one) if need be.
Exit 0: linearizable; ${CHECK_EXIT.notLinearizable}: not linearizable (a violation, with an excerpt of the history); ${CHECK_EXIT.undecided}: undecided (the checker gave up); 1: the cluster could not be run. See docs/check.md.`
  static override examples = [
    '<%= config.bin %> check',
    '<%= config.bin %> check --duration 30s --clients 8 --faults partition,pause --seed 42',
    '<%= config.bin %> check --json',
  ]
  static override flags = {
    nodes: intFlag({description: `replicas for a new cluster (1..${MAX_NODES}, default ${DEFAULTS.nodes}); must match an existing one`, min: 1, max: MAX_NODES}),
    'base-port': intFlag({description: `node N listens on base-port + N (new cluster; default ${DEFAULTS.basePort})`, min: 1, max: 65534}),
    duration: durationFlag({description: 'how long the nemesis injects faults (the quiet period comes after)', default: 10_000}),
    clients: intFlag({description: 'concurrent clients, one operation at a time each', min: 1, max: 64, default: 4}),
    keys: intFlag({description: 'number of keys the clients work on (fresh keys for every run)', min: 1, max: 1000, default: 3}),
    seed: intFlag({description: 'seed of the nemesis schedule and the workload (default: random, printed)', min: 0, max: 2 ** 32 - 1}),
    faults: Flags.string({description: `faults to inject, comma-separated: ${FAULT_KINDS.join(',')}, or none`, default: FAULT_KINDS.join(',')}),
    'quiet-period': durationFlag({description: 'after the final heal, how long the clients keep running', default: 2000}),
    'op-timeout': durationFlag({
      description: 'per-operation client timeout; a timed-out write is indeterminate (default: a third of the election timeout, 100ms)',
    }),
    report: Flags.boolean({
      description: 'write report.html (charts, the violation, the Raft messages) beside the history',
      default: true,
      allowNo: true,
    }),
    'unsafe-stale-reads': Flags.boolean({
      description: 'TEST ONLY: first restart the replicas so they answer reads without ReadIndex (the check should then fail)',
      default: false,
    }),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Check)
    const dir = resolveDir(flags.dir)
    const faults = parseFaults(flags.faults)
    if (flags.duration < 1000) throw usageError('--duration must be at least 1s')
    if (flags['op-timeout'] !== undefined && flags['op-timeout'] < 50) throw usageError('--op-timeout must be at least 50ms')
    const seed = flags.seed ?? randomInt(1, 2 ** 31)
    const json = this.jsonEnabled()

    const progress = new Progress({stream: process.stderr, env: process.env})
    const abort = new AbortController()
    // First Ctrl-C: end the fault phase, heal, check what was recorded. Second: quit now. (The
    // listener stays until the end: with none of ours left, execa's exit hook re-raises SIGINT.)
    const onSigint = () => {
      if (abort.signal.aborted) {
        progress.line(`quitting: run ${raftctl(dir, 'resume')} and ${raftctl(dir, 'heal')} to undo the faults in force`)
        process.exit(130)
      }
      progress.line('interrupted: healing the cluster and checking the history so far (Ctrl-C again to quit now)')
      abort.abort()
    }
    process.on('SIGINT', onSigint)
    let report: CheckReport
    try {
      report = await runCheck(
        {
          dir,
          nodes: flags.nodes,
          basePort: flags['base-port'],
          durationMs: flags.duration,
          clients: flags.clients,
          keys: flags.keys,
          seed,
          faults,
          quietMs: flags['quiet-period'],
          opTimeoutMs: flags['op-timeout'],
          unsafeStaleReads: flags['unsafe-stale-reads'],
        },
        {
          line: (t) => progress.line(t),
          counter: (clock, text) => progress.startCounter(clock, text),
          stopCounter: () => progress.stopCounter(),
          signal: abort.signal,
        },
      )
    } finally {
      progress.stopCounter()
      process.removeListener('SIGINT', onSigint)
    }

    process.exitCode = report.interrupted && report.exitCode === 0 ? 130 : report.exitCode
    // The HTML report: loaded only now, so the charting code stays off the start-up path. A
    // report that cannot be written is a warning; the verdict stands.
    let html: string | null = null
    if (flags.report) {
      try {
        const {writeCheckRunReport} = await import('../report/write.js')
        html = writeCheckRunReport(report.history, dir).path
      } catch (err) {
        report.warnings.push(`could not write the report: ${(err as Error).message}`)
      }
    }
    if (!json) {
      process.stdout.write(renderReport(report))
      for (const w of [...report.nemesisErrors, ...report.warnings]) process.stderr.write(`Warning: ${w}\n`)
      if (html) process.stderr.write(`report: ${html}\n`)
    }
    const {excerptLines: _lines, exitCode, ...doc} = report
    return {...doc, report: html, exitCode: process.exitCode}
  }
}

function parseFaults(text: string): FaultKind[] {
  const t = text.trim()
  if (t === 'none' || t === '') return []
  const out: FaultKind[] = []
  for (const part of t.split(',').map((p) => p.trim())) {
    if (part === 'all') {
      out.push(...FAULT_KINDS)
      continue
    }
    if (!(FAULT_KINDS as readonly string[]).includes(part)) {
      throw usageError(`--faults: unknown fault ${JSON.stringify(part)}`, `use a comma-separated list of ${FAULT_KINDS.join(', ')}, or none`)
    }
    out.push(part as FaultKind)
  }
  return [...new Set(out)]
}
