// The human rendering of a `raftctl check` report (stdout): the linearizability verdict, for a
// violation the reason and the history around it, the liveness and durability verdicts, the
// operation counts per type and outcome, the faults, the history file.
import {OP_NAMES, type Outcome} from './history.js'
import {FAULT_KINDS} from './plan.js'
import type {CheckReport} from './run.js'

const RESULT_WORD = {pass: 'ok', fail: 'FAILED', undecided: 'undecided', 'n/a': 'not judged'} as const

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
  const {liveness, durability} = r.verdicts
  lines.push(`Liveness: ${RESULT_WORD[liveness.result]}: ${liveness.text}`)
  for (const p of liveness.problems.slice(1, 6))
    lines.push(`  ${p.what === 'final' ? 'after the final heal' : `during ${p.what}`} [${p.from}..${p.to} ms]: ${p.text}`)
  lines.push(`Durability: ${RESULT_WORD[durability.result]}: ${durability.text}`)
  for (const l of durability.lost.slice(0, 5)) lines.push(`  lost: #${l.id} ${l.key}=${l.value} (read back ${l.found ?? 'absent'})`)
  for (const d of (durability.divergent ?? []).slice(0, Math.max(0, 5 - durability.lost.length))) {
    lines.push(`  node ${d.node} ${d.what === 'missing' ? 'lacks' : 'holds (the cluster does not)'}: #${d.id} ${d.key}=${d.value}`)
  }
  lines.push('')
  // A refused cas (the key held another value) answered; it is not a failure.
  const cols: [string, Outcome, number][] = [
    ['ok', 'ok', 8],
    ['refused', 'refused', 9],
    ['failed', 'failed', 8],
    ['indeterminate', 'indeterminate', 14],
  ]
  lines.push('ops'.padEnd(7) + cols.map(([h, , w]) => h.padStart(w)).join(''))
  for (const n of OP_NAMES) lines.push(n.padEnd(7) + cols.map(([, o, w]) => String(r.ops[n][o]).padStart(w)).join(''))
  const f = r.faults
  // The kinds enabled, and any other kind that was applied (none, normally).
  const shown = FAULT_KINDS.filter((k) => r.faultsEnabled.includes(k) || f[k] > 0)
  const perKind = shown.length > 0 ? ` (${shown.map((k) => `${k} ${f[k]}`).join(', ')})` : ''
  lines.push(`faults: ${f.total}${perKind}${r.nemesisErrors.length > 0 ? `, ${r.nemesisErrors.length} with errors` : ''}`)
  const mode =
    r.mutant === 'read-without-readindex'
      ? ', replicas in --unsafe-stale-reads mode (test only)'
      : r.mutant
        ? `, replicas in --mutant ${r.mutant} mode (test only)`
        : ''
  lines.push(`seed ${r.seed}, ${r.nodes} node(s), ${r.clients} client(s), ${(r.elapsedMs / 1000).toFixed(1)}s${mode}${r.interrupted ? ', interrupted' : ''}`)
  lines.push(`history: ${r.history}`)
  return lines.join('\n') + '\n'
}
