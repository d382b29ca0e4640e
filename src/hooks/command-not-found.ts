// An unknown command is a usage error like any other: one `Error:` line, a hint (the nearest
// command when the word looks like a typo of one), exit 2.
import type {Hook} from '@oclif/core'
import {reportError} from '../cli/report.js'

const hook: Hook<'command_not_found'> = async function (opts) {
  const json = opts.argv?.includes('--json') ?? false
  // With topics separated by spaces oclif hands over the words joined by ':' ("partiton:1,2"): the command is the first.
  // Under a topic (`member lst`) the command is the topic and the next word.
  const words = opts.id.split(':')
  const topics = new Set(opts.config.topics.map((t) => t.name))
  const inTopic = topics.has(words[0]!) && words.length > 1
  const word = inTopic ? `${words[0]}:${words[1]}` : words[0]!
  const known = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const near = nearest(word, known)
  const shown = (id: string) => id.replace(/:/g, ' ')
  reportError(
    {
      message: `unknown command ${JSON.stringify(shown(word))}`,
      code: 'usage',
      exitCode: 2,
      hint: near ? `did you mean raftctl ${shown(near)}?` : inTopic ? `see raftctl ${words[0]} --help` : 'see raftctl help',
    },
    json,
  )
  process.exit(2)
}

/** The known word closest to `word` (edit distance, a swap of neighbours counting one), if close enough to be a typo. */
export function nearest(word: string, known: readonly string[]): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const k of known) {
    const d = distance(word.toLowerCase(), k)
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best !== null && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : null
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function distance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

export default hook
