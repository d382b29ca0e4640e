// The human rendering of a `raftctl check` report (stdout): the verdict, for a violation the reason
// and the history around it, the operation counts per type and outcome, the faults, the history file.
import {OP_NAMES, type Outcome} from './history.js'
import type {CheckReport} from './run.js'

export function renderReport(r: CheckReport): string {
  const lines: string[] = []
  switch (r.verdict) {
    case 'linearizable':
      lines.push(`Linearizable: ${r.checkedOps} ops on ${r.keys.length} key(s) checked in ${r.checkMs} ms`)
      break
    case 'not-linearizable':
      lines.push(`NOT linearizable: key ${r.violation!.key}`)
      break
    case 'undecided':
      lines.push(`Undecided: the checker gave up on key ${r.violation!.key} (no violation found, none ruled out)`)
      break
  }
  if (r.violation) {
    lines.push(`  ${r.violation.reason}`)
    lines.push('History around it (c<client> #<op> call -> result [invoke..complete] ms; ~ nemesis [time]):')
    for (const l of r.excerptLines) lines.push(`  ${l}`)
  }
  lines.push('')
  // A refused cas (the key held another value) answered; it is not a failure.
  const cols: [string, Outcome, number][] = [['ok', 'ok', 8], ['refused', 'refused', 9], ['failed', 'failed', 8], ['indeterminate', 'indeterminate', 14]]
  lines.push('ops'.padEnd(7) + cols.map(([h, , w]) => h.padStart(w)).join(''))
  for (const n of OP_NAMES) lines.push(n.padEnd(7) + cols.map(([, o, w]) => String(r.ops[n][o]).padStart(w)).join(''))
  const f = r.faults
  lines.push(`faults: ${f.total} (partition ${f.partition}, kill ${f.kill}, pause ${f.pause})${r.nemesisErrors.length > 0 ? `, ${r.nemesisErrors.length} with errors` : ''}`)
  lines.push(
    `seed ${r.seed}, ${r.nodes} node(s), ${r.clients} client(s), ${(r.elapsedMs / 1000).toFixed(1)}s${r.unsafeStaleReads ? ', replicas in --unsafe-stale-reads mode (test only)' : ''}${r.interrupted ? ', interrupted' : ''}`,
  )
  lines.push(`history: ${r.history}`)
  return lines.join('\n') + '\n'
}
