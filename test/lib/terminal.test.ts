// One rule for plain output, read the same by the dashboard, bench and check.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {animationEnabled, ciSet, plainOutput} from '../../src/lib/terminal.js'
import {progressMode} from '../../src/bench/progress.js'
import {colourEnabled} from '../../src/ui/run-dashboard.js'

test('NO_COLOR (non-empty) or CI (not 0/false) means plain output; CI=0 and CI=false do not', () => {
  const cases: [NodeJS.ProcessEnv, boolean][] = [
    [{}, false],
    [{NO_COLOR: ''}, false],
    [{NO_COLOR: '1'}, true],
    [{CI: 'true'}, true],
    [{CI: '1'}, true],
    [{CI: '0'}, false],
    [{CI: 'false'}, false],
    [{CI: 'FALSE'}, false],
    [{CI: ''}, false],
  ]
  for (const [env, plain] of cases) {
    assert.equal(plainOutput(env), plain, JSON.stringify(env))
    assert.equal(colourEnabled(env), !plain, `dashboard colour ${JSON.stringify(env)}`)
    assert.equal(progressMode({isTTY: true}, env), plain ? 'lines' : 'bar', `bench progress ${JSON.stringify(env)}`)
    assert.equal(animationEnabled({isTTY: false}, env), false, 'never animated off a terminal')
  }
  assert.equal(ciSet({CI: '0'}), false)
})
