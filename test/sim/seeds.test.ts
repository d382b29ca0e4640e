// Fresh simulator seeds on every run: each seed runs 3 or 5 replicas through partitions, crashes
// (losing unsynced writes), loss, duplication and reordering, then heals and requires liveness.
// The start seed is random (SIM_START overrides) and printed, so a failure replays exactly.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {runSeed} from '../../src/sim/simulation.js'

const SEEDS = Number(process.env.SIM_SEEDS ?? 300)
const START = Number(process.env.SIM_START ?? 1 + Math.floor(Math.random() * 1_000_000_000))

test(`${SEEDS} fresh simulator seeds from ${START} violate no safety or liveness rule`, (t) => {
  t.diagnostic(`seeds ${START}..${START + SEEDS - 1} (replay one: npm run sim -- --seed S --trace)`)
  const started = performance.now()
  let events = 0
  let committed = 0
  for (let seed = START; seed < START + SEEDS; seed++) {
    const r = runSeed({seed})
    events += r.events
    committed += r.committed
    if (!r.ok) {
      assert.fail(
        `seed ${seed}: ${r.violation!.rule}: ${r.violation!.detail}\n${(r.excerpt ?? []).join('\n')}\n` +
          `replay: npm run sim -- --seed ${seed} --trace`,
      )
    }
  }
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(`${(SEEDS / seconds).toFixed(1)} seeds/s, ${events} events, ${committed} entries committed`)
  // The workload must really exercise the cluster: on average dozens of commits per seed.
  assert.ok(committed / SEEDS > 50, `only ${committed / SEEDS} entries committed per seed`)
})
