import {Flags, type Interfaces} from '@oclif/core'
import {randomInt} from 'node:crypto'
import {BaseCommand} from '../cli/base.js'
import {durationFlag, intFlag} from '../cli/flags.js'
import {DEFAULTS, MAX_NODES, raftctl, resolveDir} from '../clusterdir/config.js'
import {usageError} from '../lib/errors.js'
import {DEFAULT_FAULTS, FAULT_KINDS, FAULT_TEXT, type FaultKind} from '../check/plan.js'
import {Progress} from '../check/progress.js'
import {renderReport} from '../check/report.js'
import {CHECK_EXIT, runCheck, type CheckOptions, type CheckReport} from '../check/run.js'
import {isTestMode, TEST_MODE_TEXT, TEST_MODES, type TestMode} from '../protocol/test-modes.js'

export default class Check extends BaseCommand {
  static override description = `Test the cluster under faults (Jepsen style): linearizability, liveness, durability.
Runs concurrent clients doing read/write/cas on a few keys (and leader probes pinned to each node) while a seeded nemesis partitions the network (whole groups, bridges, tethered majorities, one-way cuts), shapes links (delay, loss, duplication), kills (SIGKILL, then restarts), pauses (SIGSTOP/SIGCONT) nodes and slows or stalls their disks; then heals everything, lets the clients run through a quiet period, kills every node at once and restarts them, reads back every acknowledged write-once key, records the history as NDJSON in the cluster directory and checks it per key. Starts the cluster (or creates one) if need be.
Exit 0: every verdict passed; ${CHECK_EXIT.notLinearizable}: not linearizable (a violation, with an excerpt of the history); ${CHECK_EXIT.undecided}: undecided (the checker gave up); ${CHECK_EXIT.notDurable}: acknowledged writes lost (or replicas that disagree); ${CHECK_EXIT.notLive}: not live (no stable leader, or clients that could not write); 1: the cluster could not be run. See docs/check.md.`
  static override examples = [
    '<%= config.bin %> check',
    '<%= config.bin %> check --duration 30s --clients 8 --faults partition,pause --seed 42',
    '<%= config.bin %> check --faults all --nodes 5',
    '<%= config.bin %> check --faults list',
    '<%= config.bin %> check --json',
  ]
  static override flags = {
    nodes: intFlag({
      description: `replicas for a new cluster (1..${MAX_NODES}, default ${DEFAULTS.nodes}); must match an existing one`,
      min: 1,
      max: MAX_NODES,
    }),
    'base-port': intFlag({description: `node N listens on base-port + N (new cluster; default ${DEFAULTS.basePort})`, min: 1, max: 65534}),
    duration: durationFlag({description: 'how long the nemesis injects faults (the quiet period comes after)', default: 10_000}),
    clients: intFlag({description: 'concurrent clients, one operation at a time each', min: 1, max: 64, default: 4}),
    keys: intFlag({description: 'number of keys the clients work on (fresh keys for every run)', min: 1, max: 1000, default: 3}),
    seed: intFlag({description: 'seed of the nemesis schedule and the workload (default: random, printed)', min: 0, max: 2 ** 32 - 1}),
    faults: Flags.string({
      description: `faults to inject, comma-separated: ${FAULT_KINDS.join(', ')}; all; none; or list (describes each)`,
      default: DEFAULT_FAULTS.join(','),
    }),
    'quiet-period': durationFlag({description: 'after the final heal, how long the clients keep running', default: 2000}),
    'op-timeout': durationFlag({
      description: 'per-operation client timeout; a timed-out write is indeterminate (default: a third of the election timeout, 100ms)',
    }),
    report: Flags.boolean({
      description: 'write report.html (charts, the violation, the Raft messages) beside the history',
      default: true,
      allowNo: true,
    }),
    durability: Flags.boolean({
      description: 'end with the durability phase: kill every node at once, restart, read back every acknowledged write-once key',
      default: true,
      allowNo: true,
    }),
    mutant: Flags.string({
      description: 'TEST ONLY: first restart the replicas deliberately broken (list: describes each); the check should then fail',
    }),
    'unsafe-stale-reads': Flags.boolean({
      description: 'TEST ONLY: the same as --mutant read-without-readindex (reads without ReadIndex)',
      default: false,
    }),
    probes: Flags.boolean({
      description: 'leader probes: a reader and a writer pinned to each node while it claims to lead',
      default: true,
      allowNo: true,
      hidden: true,
    }),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Check)
    const dir = resolveDir(flags.dir)
    if (flags.faults.trim() === 'list') return this.listFaults()
    if (flags.mutant?.trim() === 'list') return this.listMutants()
    const options = checkOptions(flags, dir)
    const json = this.jsonEnabled()
    const report = await runInterruptibly(options)
    process.exitCode = report.interrupted && report.exitCode === 0 ? 130 : report.exitCode
    const html = flags.report ? await writeHtmlReport(report, dir) : null
    if (!json) {
      process.stdout.write(renderReport(report))
      for (const w of [...report.nemesisErrors, ...report.warnings]) process.stderr.write(`Warning: ${w}\n`)
      if (html) process.stderr.write(`report: ${html}\n`)
    }
    const {excerptLines: _lines, exitCode, ...doc} = report
    return {...doc, report: html, exitCode: process.exitCode}
  }

  private listFaults(): unknown {
    return this.list(
      'faults',
      FAULT_KINDS.map((name) => ({name, default: DEFAULT_FAULTS.includes(name), text: FAULT_TEXT[name]})),
    )
  }

  private listMutants(): unknown {
    return this.list(
      'mutants',
      TEST_MODES.map((name) => ({name, text: TEST_MODE_TEXT[name]})),
    )
  }

  /** `--faults list`, `--mutant list`: one line per entry (or a JSON document), exit 0. */
  private list(what: string, rows: {name: string; text: string; default?: boolean}[]): unknown {
    if (!this.jsonEnabled()) {
      const width = Math.max(...rows.map((r) => r.name.length))
      for (const r of rows) this.log(`${r.name.padEnd(width)}  ${r.text}${r.default ? ' (default)' : ''}`)
    }
    return {[what]: rows}
  }
}

/** The run the flags ask for (a usage error if they make no sense); the seed drawn if none is given. */
function checkOptions(flags: Interfaces.InferredFlags<typeof Check.flags>, dir: string): CheckOptions {
  const faults = parseFaults(flags.faults)
  const mutant = parseMutant(flags.mutant, flags['unsafe-stale-reads'])
  if (flags.duration < 1000) throw usageError('--duration must be at least 1s')
  if (flags['op-timeout'] !== undefined && flags['op-timeout'] < 50) throw usageError('--op-timeout must be at least 50ms')
  const seed = flags.seed ?? randomInt(1, 2 ** 31)
  return {
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
    ...(mutant ? {mutant} : {}),
    probes: flags.probes,
    durability: flags.durability,
  }
}

/** Runs the check with its progress on stderr; Ctrl-C ends it early. */
async function runInterruptibly(options: CheckOptions): Promise<CheckReport> {
  const dir = options.dir
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
  try {
    return await runCheck(options, {
      line: (t) => progress.line(t),
      counter: (clock, text) => progress.startCounter(clock, text),
      stopCounter: () => progress.stopCounter(),
      signal: abort.signal,
    })
  } finally {
    progress.stopCounter()
    process.removeListener('SIGINT', onSigint)
  }
}

/** Writes report.html beside the history; its path, or null (with a warning) if it could not be written. */
async function writeHtmlReport(report: CheckReport, dir: string): Promise<string | null> {
  // The HTML report: loaded only now, so the charting code stays off the start-up path. A
  // report that cannot be written is a warning; the verdict stands.
  try {
    const {writeCheckRunReport} = await import('../report/write.js')
    return writeCheckRunReport(report.history, dir).path
  } catch (err) {
    report.warnings.push(`could not write the report: ${(err as Error).message}`)
    return null
  }
}

function parseMutant(text: string | undefined, unsafeStaleReads: boolean): TestMode | undefined {
  const t = text?.trim()
  if (t === undefined || t === '') return unsafeStaleReads ? 'read-without-readindex' : undefined
  if (!isTestMode(t)) throw usageError(`--mutant: unknown mutant ${JSON.stringify(t)}`, `one of ${TEST_MODES.join(', ')} (or list)`)
  if (unsafeStaleReads && t !== 'read-without-readindex') throw usageError('--unsafe-stale-reads is --mutant read-without-readindex: give one of them')
  return t
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
      throw usageError(
        `--faults: unknown fault ${JSON.stringify(part)}`,
        `use a comma-separated list of ${FAULT_KINDS.join(', ')}, all or none (--faults list describes them)`,
      )
    }
    out.push(part as FaultKind)
  }
  return [...new Set(out)]
}
