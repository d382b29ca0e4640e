// Shared flag definitions: durations, node counts, ports — validated at parse time so a bad
// value is a usage error (exit 2) with one clear line.
import {Flags} from '@oclif/core'
import {parseDuration} from '../lib/duration.js'
import {usageError} from '../lib/errors.js'

export const durationFlag = Flags.custom<number>({
  parse: async (input, _ctx, opts) => {
    const r = parseDuration(input)
    if (!r.ok) throw usageError(`--${opts.name}: ${r.problem}`)
    return r.ms
  },
})

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
export const nodeFlag = Flags.string({description: 'talk to this node only (no redirects): a follower refuses writes and linearizable reads, naming the leader', helpValue: 'ID'})
