// `npm run sim`: runs simulator seeds and reports violations.
//   --seeds N [--start S]      run seeds S..S+N-1 (default S=1); exit 0 iff none violates
//   --random-start             pick S at random (printed, so a failure can be replayed)
//   --seed S [--trace]         replay one seed, optionally with a line per event
//   --list-mutants             print the mutant names
//   --mutant NAME              run with a deliberately broken replica
//   --json                     one JSON summary on stdout
//   --find-witnesses [--budget N] [--write FILE]
//                              for every mutant, the first seed in 1..N (default 2000) that
//                              catches it, as JSON (the file the mutants test replays)
import {writeFileSync} from 'node:fs'
import {RETIRED_MUTANTS, runSeed, SIM_MUTANTS, WITNESS_BUDGET, witnessBudget, type SimMutant, type SimResult} from './simulation.js'

interface Args {
  seeds: number
  start: number
  trace: boolean
  mutant?: SimMutant
  listMutants: boolean
  json: boolean
  stopOnFirst: boolean
  findWitnesses: boolean
  budget: number
  write?: string
}

function usage(message: string): never {
  process.stderr.write(
    `Error: ${message}\nUsage: npm run sim -- [--seeds N] [--start S | --random-start] [--seed S --trace] [--mutant NAME] [--list-mutants] [--json]\n`,
  )
  process.exit(2)
}

function parseArgs(argv: string[]): Args {
  const args: Args = {seeds: 100, start: 1, trace: false, listMutants: false, json: false, stopOnFirst: false, findWitnesses: false, budget: WITNESS_BUDGET}
  const int = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) usage(`${flag} needs a non-negative integer`)
    return Number(v)
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    switch (a) {
      case '--seeds':
        args.seeds = int(a, argv[++i])
        break
      case '--start':
        args.start = int(a, argv[++i])
        break
      case '--random-start':
        args.start = 1 + Math.floor(Math.random() * 2 ** 31)
        break
      case '--seed':
        args.start = int(a, argv[++i])
        args.seeds = 1
        break
      case '--trace':
        args.trace = true
        break
      case '--mutant': {
        const m = argv[++i]
        if (![...SIM_MUTANTS, ...RETIRED_MUTANTS].includes(m as SimMutant)) usage(`unknown mutant ${m}; see --list-mutants`)
        args.mutant = m as SimMutant
        break
      }
      case '--list-mutants':
        args.listMutants = true
        break
      case '--json':
        args.json = true
        break
      case '--stop-on-first':
        args.stopOnFirst = true
        break
      case '--find-witnesses':
        args.findWitnesses = true
        break
      case '--budget':
        args.budget = int(a, argv[++i])
        break
      case '--write': {
        const f = argv[++i]
        if (f === undefined || f.startsWith('-')) usage('--write needs a file')
        args.write = f
        break
      }
      default:
        usage(`unknown argument ${a}`)
    }
  }
  return args
}

const args = parseArgs(process.argv.slice(2))
if (args.listMutants) {
  process.stdout.write(SIM_MUTANTS.join('\n') + '\n')
} else if (args.findWitnesses) {
  findWitnesses()
} else {
  main()
}

/** For each mutant, the first catching seed in 1..budget (null if it survives them all). */
function findWitnesses(): void {
  // Safety bugs that also show as lost liveness, earlier than as the safety violation: their
  // witness must be a catch by a safety rule (test/sim/mutants.test.ts expects one).
  const SAFETY_WITNESS: ReadonlySet<string> = new Set(['commit-old-term'])
  const witnesses: Record<string, {seed: number; rule: string} | null> = {}
  for (const mutant of SIM_MUTANTS) {
    witnesses[mutant] = null
    const budget = witnessBudget(mutant, args.budget)
    for (let seed = 1; seed <= budget; seed++) {
      const r = runSeed({seed, mutant})
      if (!r.ok && !(SAFETY_WITNESS.has(mutant) && r.violation!.rule === 'liveness')) {
        witnesses[mutant] = {seed, rule: r.violation!.rule}
        break
      }
    }
    process.stderr.write(`  ${mutant}: ${witnesses[mutant] ? `seed ${witnesses[mutant]!.seed} (${witnesses[mutant]!.rule})` : `survived ${budget} seeds`}\n`)
  }
  const text = JSON.stringify(witnesses, null, 2) + '\n'
  if (args.write) writeFileSync(args.write, text)
  else process.stdout.write(text)
  process.exitCode = Object.values(witnesses).every((w) => w !== null) ? 0 : 1
}

function main(): void {
  const started = performance.now()
  const failures: SimResult[] = []
  let events = 0
  let ran = 0
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const result = runSeed({
      seed,
      mutant: args.mutant,
      trace: args.trace ? (line) => process.stdout.write(line + '\n') : undefined,
    })
    ran++
    events += result.events
    if (!result.ok) {
      failures.push(result)
      if (!args.json) {
        process.stderr.write(`seed ${seed}: VIOLATION ${result.violation!.rule}: ${result.violation!.detail}\n`)
        for (const line of result.excerpt ?? []) process.stderr.write(`    ${line}\n`)
        process.stderr.write(`  replay: npm run sim -- --seed ${seed}${args.mutant ? ` --mutant ${args.mutant}` : ''} --trace\n`)
      }
      if (args.stopOnFirst) break
    }
    if (!args.json && !args.trace && ran % 100 === 0) process.stderr.write(`  ${ran}/${args.seeds} seeds...\n`)
  }
  const seconds = (performance.now() - started) / 1000
  const summary = {
    start: args.start,
    seeds: ran,
    mutant: args.mutant ?? null,
    violations: failures.map((f) => ({seed: f.seed, rule: f.violation!.rule, detail: f.violation!.detail})),
    seconds: Number(seconds.toFixed(2)),
    seedsPerSecond: Number((ran / seconds).toFixed(1)),
    events,
  }
  if (args.json) process.stdout.write(JSON.stringify(summary) + '\n')
  else {
    // With --trace stdout is the trace (byte-for-byte the same on every replay); the summary,
    // which has timings, goes to stderr.
    ;(args.trace ? process.stderr : process.stdout).write(
      `${ran} seeds from ${args.start}${args.mutant ? ` (mutant ${args.mutant})` : ''}: ${failures.length} violating, ` +
        `${summary.seconds}s, ${summary.seedsPerSecond} seeds/s\n`,
    )
  }
  // exitCode, not exit(): a piped stdout (a long --trace) must be flushed first.
  process.exitCode = failures.length === 0 ? 0 : 1
}
