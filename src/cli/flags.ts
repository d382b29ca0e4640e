// Shared flag definitions: durations, node counts, ports — validated at parse time so a bad
// value is a usage error (exit 2) with one clear line.
import {Flags, type Interfaces} from '@oclif/core'
import {formatDuration, parseDuration} from '../lib/duration.js'
import {usageError} from '../lib/errors.js'

const durationParser = (bareMs: boolean, min: number) =>
  Flags.custom<number>({
    parse: async (input, _ctx, opts) => {
      // SPEC.md names --election-timeout and --heartbeat in milliseconds: a bare number there is ms.
      const r = bareMs && /^\d+$/.test(input.trim()) ? {ok: true as const, ms: Number(input.trim())} : parseDuration(input)
      if (!r.ok) throw usageError(`--${opts.name}: ${r.problem}`)
      if (r.ms < min) throw usageError(`--${opts.name} must be at least ${formatDuration(min)}, got ${JSON.stringify(input)}`)
      return r.ms
    },
  })

interface DurationOptions {
  description: string
  /** A bare number means milliseconds (only for the flags SPEC.md names in MS). */
  bareMs?: boolean
  /** The shortest duration that makes sense (default 0). */
  min?: number
}

/** A duration flag (`500ms`, `5s`, `2m`); its default is shown in the help with its unit. */
export function durationFlag(opts: DurationOptions & {default: number}): Interfaces.OptionFlag<number>
export function durationFlag(opts: DurationOptions): Interfaces.OptionFlag<number | undefined>
export function durationFlag(opts: DurationOptions & {default?: number}): Interfaces.OptionFlag<number | undefined> {
  const {bareMs = false, min = 0, ...rest} = opts
  const def = rest.default
  return durationParser(
    bareMs,
    min,
  )({...rest, helpValue: 'DURATION', ...(def !== undefined ? {defaultHelp: async () => formatDuration(def)} : {})}) as Interfaces.OptionFlag<number | undefined>
}

export function intFlag(opts: {description: string; min: number; max: number; default?: number; char?: 'n'}) {
  return Flags.custom<number>({
    parse: async (input, _ctx, o) => {
      if (!/^\d+$/.test(input.trim())) throw usageError(`--${o.name} must be an integer, got ${JSON.stringify(input)}`)
      const n = Number(input)
      if (n < opts.min || n > opts.max) throw usageError(`--${o.name} must be between ${opts.min} and ${opts.max}, got ${n}`)
      return n
    },
  })({description: opts.description, default: opts.default, char: opts.char})
}

/** `--node ID` of the key-value commands (checked against the cluster once it is loaded). */
export const nodeFlag = Flags.string({
  description: 'talk to this node only (no redirects): a follower refuses writes and linearizable reads, naming the leader',
  helpValue: 'ID',
})

/** `--force` of the configuration changes: skip etcd's strict reconfiguration check. */
export function forceFlag(what = 'the new configuration') {
  return Flags.boolean({description: `skip the check that ${what} has a quorum of the nodes up`, default: false})
}
