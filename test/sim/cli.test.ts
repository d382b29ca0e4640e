// The simulator's command-line interface, which scripts depend on.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execa} from 'execa'

const sim = (args: string[]) => execa('node', ['--import', 'tsx', 'src/sim/cli.ts', ...args], {reject: false})

test('--list-mutants prints one mutant name per line', async () => {
  const r = await sim(['--list-mutants'])
  assert.equal(r.exitCode, 0)
  const names = r.stdout.trim().split('\n')
  for (const m of ['double-vote', 'vote-without-log-check', 'commit-old-term', 'read-without-readindex', 'no-truncate-conflict', 'ack-before-fsync']) {
    assert.ok(names.includes(m), `missing ${m}`)
  }
})

test('--seed S --trace replays one seed with a line per event in the canonical message form', async () => {
  const a = await sim(['--seed', '7', '--trace'])
  const b = await sim(['--seed', '7', '--trace'])
  assert.equal(a.exitCode, 0)
  // (Compared as a flag: on a mismatch, printing two 5,000-line traces helps nobody.)
  assert.ok(a.stdout === b.stdout, `a seed replays exactly (${a.stdout.length} vs ${b.stdout.length} characters)`)
  assert.ok(a.stdout.split('\n').length > 1000, 'one line per event')
  assert.match(a.stdout, /became leader of term \d+/)
  assert.match(a.stdout, /\d+->\d+ AppendEntries t\d+ prev=\d+@\d+/)
  assert.match(a.stdout, /NEMESIS /)
})

test('--seeds N --start S exits 0 and reports; a mutant run exits 1 naming the seed and rule', async () => {
  const ok = await sim(['--seeds', '3', '--start', '11'])
  assert.equal(ok.exitCode, 0)
  assert.match(ok.stdout, /3 seeds from 11: 0 violating/)
  const bad = await sim(['--seeds', '5', '--mutant', 'no-truncate-conflict', '--stop-on-first'])
  assert.equal(bad.exitCode, 1)
  assert.match(bad.stderr, /seed \d+: VIOLATION [a-z -]+: /)
  assert.match(bad.stderr, /replay: npm run sim -- --seed \d+ --mutant no-truncate-conflict --trace/)
})

test('bad arguments are usage errors (exit 2)', async () => {
  assert.equal((await sim(['--seeds', 'x'])).exitCode, 2)
  assert.equal((await sim(['--mutant', 'nope'])).exitCode, 2)
  assert.equal((await sim(['--bogus'])).exitCode, 2)
})
