// Fresh simulator seeds on every run: each seed runs 3 or 5 replicas through partitions, crashes
// (losing unsynced writes), loss, duplication and reordering, then heals and requires liveness.
// The start seed is random (SIM_START overrides) and printed, so a failure replays exactly.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {runSeed, type SimStats} from '../../src/sim/simulation.js'

const SEEDS = Number(process.env.SIM_SEEDS ?? 200)
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
        `seed ${seed}: ${r.violation!.rule}: ${r.violation!.detail}\n${(r.excerpt ?? []).join('\n')}\n` + `replay: npm run sim -- --seed ${seed} --trace`,
      )
    }
  }
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(`${(SEEDS / seconds).toFixed(1)} seeds/s, ${events} events, ${committed} entries committed`)
  // The workload must really exercise the cluster: on average dozens of commits per seed.
  assert.ok(committed / SEEDS > 50, `only ${committed / SEEDS} entries committed per seed`)
})

// Seeds that once failed, or that exercise a path a failure was found on: each must pass, and must
// still exercise that path (when the simulator draws differently, pick new ones with the stats of
// `runSeed`, and say so in the list).
const regressions = JSON.parse(readFileSync(new URL('./regressions.json', import.meta.url), 'utf8')) as {
  seed: number
  found: string
  exercises: keyof SimStats
}[]

test(`${regressions.length} regression seeds pass and still exercise what they were kept for`, () => {
  for (const r of regressions) {
    const result = runSeed({seed: r.seed})
    assert.equal(result.ok, true, `regression seed ${r.seed} (${r.found}): ${result.violation?.rule}: ${result.violation?.detail}`)
    assert.ok(result.stats[r.exercises] > 0, `regression seed ${r.seed} no longer exercises ${r.exercises} (${r.found})`)
  }
})
