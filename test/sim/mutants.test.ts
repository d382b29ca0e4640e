// The checkers can fail: every deliberately broken replica is caught within 2,000 seeds. The
// seeds are fixed (1..2000), so this test is deterministic; it stops at the first catching seed.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {runSeed, SIM_MUTANTS} from '../../src/sim/simulation.js'

const BUDGET = 2000

const EXPECTED: Record<string, RegExp> = {
  'double-vote': /election safety|leader completeness|state machine safety|linearizability|log matching/,
  'vote-without-log-check': /leader completeness|state machine safety|linearizability|log matching/,
  'commit-old-term': /leader completeness|state machine safety|linearizability/,
  'no-truncate-conflict': /log matching|state machine safety|leader completeness|linearizability|invariant/,
  'read-without-readindex': /linearizability/,
  'ack-before-fsync': /election safety|leader completeness|state machine safety|linearizability|log matching|exactly-once|replica states/,
  // Issue #12's bugs, back as mutants.
  'commit-before-log': /state machine safety|replica states|leader completeness|linearizability|log matching|exactly-once/,
  'apply-past-commit': /applied <= committed|state machine safety|replica states|linearizability/,
  'trust-page-cache': /election safety|leader completeness|state machine safety|linearizability|log matching|exactly-once|replica states/,
  'implicit-sessions': /liveness|exactly-once/,
}

for (const mutant of SIM_MUTANTS) {
  test(`mutant ${mutant} is caught within ${BUDGET} seeds`, (t) => {
    for (let seed = 1; seed <= BUDGET; seed++) {
      const r = runSeed({seed, mutant})
      if (!r.ok) {
        t.diagnostic(`caught by seed ${seed}: ${r.violation!.rule}: ${r.violation!.detail}`)
        assert.ok(EXPECTED[mutant], `no expectation for ${mutant}`)
        assert.match(r.violation!.rule, EXPECTED[mutant]!)
        return
      }
    }
    assert.fail(`mutant ${mutant} survived ${BUDGET} seeds`)
  })
}

test('the unbroken replica passes the seeds that catch the mutants', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const r = runSeed({seed})
    assert.equal(r.ok, true, `seed ${seed}: ${r.violation?.rule}: ${r.violation?.detail}`)
  }
})
