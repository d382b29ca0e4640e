// `raftctl report PATH`: (re)renders the HTML report of a saved run — a `raftctl check` run
// directory (history.ndjson) or a `raftctl bench` one (bench.json), or such a file itself.
import {Args, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {BaseCommand} from '../cli/base.js'
import {parseDuration} from '../lib/duration.js'
import {usageError} from '../lib/errors.js'

export default class Report extends BaseCommand {
  static override description = `Render the HTML report of a saved check or bench run.
PATH is a run directory that raftctl check (check-<time>/, holding history.ndjson) or raftctl bench (bench-<time>/, holding bench.json) left in the cluster directory, or such a file. Writes report.html beside it (or --out) and prints its path. One self-contained file: open it from disk, no network needed.`
  static override examples = [
    '<%= config.bin %> report .raftctl/check-2025-01-02T10-11-12-345Z',
    '<%= config.bin %> report .raftctl/check-2025-01-02T10-11-12-345Z --window 8.2s..8.8s',
    '<%= config.bin %> report .raftctl/bench-2025-01-02T10-20-00-000Z --out /tmp/bench.html',
  ]
  static override args = {
    path: Args.string({description: 'a run directory (check-<time>/ or bench-<time>/), or its history.ndjson / bench.json', required: true}),
  }
  static override flags = {
    out: Flags.string({description: 'write the report here instead of report.html beside the record'}),
    window: Flags.string({
      description:
        "check: the Lamport diagram's time window since the run started, FROM..TO (e.g. 8.2s..8.8s; default: around the violation, else the first leader change, else the first fault)",
    }),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Report)
    const window = flags.window !== undefined ? parseWindow(flags.window) : undefined
    const {readBenchRecord, resolveTarget, writeBenchReport, writeCheckReport} = await import('../report/write.js')
    const target = resolveTarget(resolve(args.path))
    const out = flags.out !== undefined ? resolve(flags.out) : undefined
    let written
    if (target.kind === 'check') {
      written = writeCheckReport(target.record, {out, window})
    } else {
      if (window) throw usageError('--window applies to check runs only')
      written = writeBenchReport(readBenchRecord(target.record), resolve(target.record, '..'), out)
    }
    if (!this.jsonEnabled()) process.stdout.write(`${written.path}\n`)
    return {kind: target.kind, record: target.record, report: written.path, bytes: written.bytes, buildMs: written.buildMs}
  }
}

function parseWindow(text: string): {from: number; to: number} {
  const parts = text.split('..')
  const hint = 'use FROM..TO in time since the run started, e.g. 8.2s..8.8s'
  if (parts.length !== 2) throw usageError(`--window: malformed window ${JSON.stringify(text)}`, hint)
  const [a, b] = parts.map((p) => parseDuration(p))
  if (!a!.ok) throw usageError(`--window: ${a!.problem}`, hint)
  if (!b!.ok) throw usageError(`--window: ${b!.problem}`, hint)
  if (b!.ms <= a!.ms) throw usageError(`--window: ${JSON.stringify(text)} ends before it starts`, hint)
  if (b!.ms - a!.ms > 10_000) throw usageError('--window: at most 10s wide', hint)
  return {from: a!.ms, to: b!.ms}
}
