// The checkers can fail: every deliberately broken replica is caught within 500 seeds. The seeds
// are fixed (1..500), so this test is deterministic; it stops at the first catching seed.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {REPLICA_MUTANTS} from '../../src/server/replica.js'
import {runSeed} from '../../src/sim/simulation.js'

const EXPECTED: Record<string, RegExp> = {
  'double-vote': /election safety|leader completeness|state machine safety|linearizability|log matching/,
  'vote-without-log-check': /leader completeness|state machine safety|linearizability|log matching/,
  'commit-old-term': /leader completeness|state machine safety|linearizability/,
  'no-truncate-conflict': /log matching|state machine safety|leader completeness|linearizability|invariant/,
  'read-without-readindex': /linearizability/,
  'ack-before-fsync': /election safety|leader completeness|state machine safety|linearizability|log matching|exactly-once/,
}

for (const mutant of REPLICA_MUTANTS) {
  test(`mutant ${mutant} is caught within 500 seeds`, (t) => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = runSeed({seed, mutant})
      if (!r.ok) {
        t.diagnostic(`caught by seed ${seed}: ${r.violation!.rule}: ${r.violation!.detail}`)
        assert.match(r.violation!.rule, EXPECTED[mutant]!)
        return
      }
    }
    assert.fail(`mutant ${mutant} survived 500 seeds`)
  })
}

test('the unbroken replica passes the seeds that catch the mutants', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const r = runSeed({seed})
    assert.equal(r.ok, true, `seed ${seed}: ${r.violation?.rule}: ${r.violation?.detail}`)
  }
})
