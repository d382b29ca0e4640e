// Safety checkers over a simulated cluster, each a rule of the Raft paper (Figure 3) or of the
// product: election safety, log matching, leader completeness, state machine safety, exactly-once.
// They observe the replicas from outside (roles, logs, applied entries) and record the first
// violation; linearizability of the client history is checked at the end (linearizability.ts).
import type {RaftNode} from '../core/raft.js'
import type {Entry, NodeId} from '../core/types.js'
import type {KvCommand} from '../kv/state-machine.js'

export interface Violation {
  rule: string
  detail: string
}

export class SafetyChecker {
  violation: Violation | null = null
  private leaders = new Map<number, NodeId>()
  /** index -> the entry applied there (first seen); every later application must agree. */
  private applied = new Map<number, {term: number; key: string}>()
  private effects = new Map<string, number>()
  checks = 0

  private fail(rule: string, detail: string): void {
    if (!this.violation) this.violation = {rule, detail}
  }

  /** Election safety: at most one leader per term. And leader completeness for the new leader. */
  becameLeader(node: RaftNode): void {
    const term = node.currentTerm
    const other = this.leaders.get(term)
    if (other !== undefined && other !== node.id) {
      this.fail('election safety', `nodes ${other} and ${node.id} both leaders of term ${term}`)
    }
    this.leaders.set(term, node.id)
    // Leader completeness: a leader holds every entry committed (here: applied anywhere) before.
    const snap = node.snapshotMeta().lastIncludedIndex
    for (const [index, e] of this.applied) {
      if (index < snap) continue
      const t = node.termAt(index)
      if (t !== e.term) {
        this.fail(
          'leader completeness',
          `node ${node.id}, leader of term ${term}, has ${t === undefined ? 'no entry' : `term ${t}`} at index ${index} where term ${e.term} was committed`,
        )
        return
      }
    }
  }

  /** State machine safety: no two nodes apply different entries at one index. */
  entryApplied(nodeId: NodeId, entry: Entry): void {
    const key = entryKey(entry)
    const seen = this.applied.get(entry.index)
    if (!seen) this.applied.set(entry.index, {term: entry.term, key})
    else if (seen.term !== entry.term || seen.key !== key) {
      this.fail(
        'state machine safety',
        `node ${nodeId} applied ${key}@${entry.term} at index ${entry.index} where ${seen.key}@${seen.term} was applied`,
      )
    }
  }

  /** Exactly-once: a client's (id, seq) takes effect at one log index only. */
  effect(nodeId: NodeId, cmd: KvCommand, index: number): void {
    const id = `${cmd.clientId}#${cmd.seq}`
    const at = this.effects.get(id)
    if (at === undefined) this.effects.set(id, index)
    else if (at !== index) {
      this.fail('exactly-once', `node ${nodeId} applied write ${id} at index ${index}; it already took effect at ${at}`)
    }
  }

  /** Log matching: same index and term => same entry and identical logs up to there. */
  logMatching(nodes: RaftNode[]): void {
    this.checks++
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const x = nodes[a]!
        const y = nodes[b]!
        const lo = Math.max(x.firstIndex(), y.firstIndex())
        const hi = Math.min(x.lastIndex(), y.lastIndex())
        let matched = false
        for (let i = hi; i >= lo; i--) {
          const ex = x.entryAt(i)!
          const ey = y.entryAt(i)!
          if (ex.term === ey.term) {
            if (entryKey(ex) !== entryKey(ey)) {
              return this.fail('log matching', `nodes ${x.id} and ${y.id} hold different entries at index ${i} of term ${ex.term}`)
            }
            matched = true
          } else if (matched) {
            return this.fail(
              'log matching',
              `nodes ${x.id} and ${y.id} agree on a later entry but differ at index ${i} (terms ${ex.term} and ${ey.term})`,
            )
          }
        }
      }
    }
  }
}

function entryKey(e: Entry): string {
  return e.type === 'noop' ? 'noop' : JSON.stringify(e.data)
}
