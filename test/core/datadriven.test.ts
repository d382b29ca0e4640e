// The script runner itself (datadriven.ts, interaction.ts): malformed scripts, unknown verbs, bad
// arguments and mismatches fail naming the file and line; a changed behaviour of the core shows as
// a diff; UPDATE rewrites only the expected outputs.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {diff, runScript, ScriptError, type RunOptions} from './datadriven.js'
import {Interaction} from './interaction.js'
import type {CoreMutant} from '../../src/core/raft.js'

const testdata = fileURLToPath(new URL('./testdata/', import.meta.url))

function withScript<T>(text: string, fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'raft-script-'))
  try {
    const path = join(dir, 'demo.txt')
    writeFileSync(path, text)
    return fn(path)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

function run(path: string, opts: RunOptions & {mutant?: CoreMutant} = {}): void {
  const interaction = new Interaction(opts.mutant ? {mutant: opts.mutant} : {})
  runScript(path, (d) => interaction.run(d), {name: 'demo.txt', ...opts})
}

/** Runs `text` and returns the failure message. */
function failure(text: string, opts: RunOptions = {}): string {
  return withScript(text, (path) => {
    try {
      run(path, opts)
    } catch (e) {
      assert.ok(e instanceof ScriptError, `a ScriptError, not ${String(e)}`)
      return e.message
    }
    return assert.fail('the script should have failed')
  })
}

const CLUSTER =
  'cluster 1 2 3\n----\n1: follower term=0 vote=0 leader=0 last=0@0 commit=0 applied=0\n2: follower term=0 vote=0 leader=0 last=0@0 commit=0 applied=0\n3: follower term=0 vote=0 leader=0 last=0@0 commit=0 applied=0\n'

describe('script runner', () => {
  test('a malformed script fails naming the file and the line', () => {
    assert.match(failure('# no separator\ncampaign 1\n'), /^demo\.txt:2: "campaign 1" has no ---- line before the end of the file/)
    assert.match(failure('campaign 1\n\n----\nok\n'), /^demo\.txt:1: "campaign 1" has no ---- line before the blank line 2/)
    assert.match(failure(`${CLUSTER}\n----\nok\n`), /^demo\.txt:7: ---- without a command before it/)
    assert.match(failure(`${CLUSTER}\ntick 1 n=\n----\nok\n`), /^demo\.txt:7: malformed argument "n=" \(want key=value\)/)
  })

  test('an unknown verb, a bad argument or a missing cluster fails naming the line and the usage', () => {
    const unknown = failure(`${CLUSTER}\nelection 1\n----\nok\n`)
    assert.match(unknown, /^demo\.txt:7: "election 1": unknown command "election"; the commands are: cluster, campaign, elect, tick,/)
    assert.match(failure(`${CLUSTER}\ntick 1 m=3\n----\nok\n`), /^demo\.txt:7: "tick 1 m=3": tick does not take m=\n {2}usage: tick \[ID\.\.\.\] \[n=1\]/)
    assert.match(failure(`${CLUSTER}\ntick 1 n=ten\n----\nok\n`), /demo\.txt:7: .*n must be a whole number, not "ten"/)
    assert.match(failure(`${CLUSTER}\ncampaign 4\n----\nok\n`), /demo\.txt:7: .*no node 4 \(the nodes are 1, 2, 3\)/)
    assert.match(failure(`${CLUSTER}\ndeliver type=Heartbeat\n----\nok\n`), /demo\.txt:7: .*unknown message type "Heartbeat"/)
    assert.match(failure(`${CLUSTER}\nstatus\ninput\n----\nok\n`), /demo\.txt:7: .*status takes no input lines/)
    assert.match(failure('status\n----\nok\n'), /^demo\.txt:1: "status": no cluster yet: start the script with "cluster \.\.\."/)
    assert.match(failure('cluster 1 2\n7 term=1\n----\nok\n'), /^demo\.txt:1: .*"7 term=1": no node 7 in this cluster/)
  })

  test('a mismatch fails naming the line, with a diff of expected and actual output', () => {
    const msg = failure(`${CLUSTER}\n# wrong on purpose\ncampaign 1\n----\nok\nevent: election started for term 1\n`)
    assert.equal(
      msg,
      [
        'demo.txt:8: the output of "campaign 1" differs (- expected, + actual):',
        '  ok',
        '- event: election started for term 1',
        '+ event: pre-vote for term 1 started',
        'If the new behaviour is right, rewrite the expected outputs: UPDATE=1 npm test -- test/core/interaction.test.ts',
      ].join('\n'),
    )
  })

  test('a deliberate change of the core shows as a diff of a script (Figure 8 with commit-old-term)', () => {
    const path = join(testdata, 'figure-8.txt')
    let msg = ''
    try {
      run(path, {mutant: 'commit-old-term', name: 'figure-8.txt'})
    } catch (e) {
      msg = (e as Error).message
    }
    const lines = readFileSync(path, 'utf8').split('\n')
    const line = Number(/^figure-8\.txt:(\d+): the output of "ready 1" differs/.exec(msg)?.[1])
    assert.equal(lines[line - 1], 'ready 1', msg)
    assert.ok(
      lines.slice(0, line).some((l) => l.startsWith('# (c)')),
      'at the step where 2@2 sits on a majority',
    )
    assert.match(msg, /^\+ {3}hardState: term=4 vote=1 commit=2$/m)
    assert.match(msg, /^\+ {3}committedEntries: \[2@2\]$/m)
  })

  test('an invariant the harness checks fails the script at the directive that broke it, even with UPDATE', () => {
    // With commit-old-term node 1 applies 2@2; node 5 later makes the others apply 2@3.
    const dir = mkdtempSync(join(tmpdir(), 'raft-script-'))
    try {
      const path = join(dir, 'figure-8.txt')
      copyFileSync(join(testdata, 'figure-8.txt'), path)
      assert.throws(
        () => run(path, {mutant: 'commit-old-term', update: true, name: 'figure-8.txt'}),
        (e: Error) => /^figure-8\.txt:\d+: "stabilize": invariant violated:\n {2}state machine safety: node \d applied 2@3, node 1 applied 2@2/.test(e.message),
      )
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  test('UPDATE rewrites the expected outputs and keeps comments, blank lines and commands', () => {
    const stale = [
      '# A comment.',
      '',
      'cluster 1 2',
      '----',
      'stale output',
      'over two lines',
      '',
      '',
      '# Another one.',
      'campaign 1',
      '----',
      '',
      'heal',
      '----',
    ].join('\n')
    withScript(stale, (path) => {
      run(path, {update: true})
      const fresh = readFileSync(path, 'utf8')
      assert.equal(
        fresh,
        [
          '# A comment.',
          '',
          'cluster 1 2',
          '----',
          '1: follower term=0 vote=0 leader=0 last=0@0 commit=0 applied=0',
          '2: follower term=0 vote=0 leader=0 last=0@0 commit=0 applied=0',
          '',
          '',
          '# Another one.',
          'campaign 1',
          '----',
          'ok',
          'event: pre-vote for term 1 started',
          '',
          'heal',
          '----',
          'ok',
          '',
        ].join('\n'),
      )
      run(path) // now it passes as it is
      run(path, {update: true})
      assert.equal(readFileSync(path, 'utf8'), fresh, 'nothing to rewrite')
    })
  })

  test('diff shows changed lines with a little context', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n')
    const b = ['1', '2', '3', '4', '5', '6', 'seven', '8', '9', '10'].join('\n')
    assert.equal(diff(a, b, 2), ['  ...', '  5', '  6', '- 7', '+ seven', '  8', '  9', '  ...'].join('\n'))
    assert.equal(diff('', 'x'), '+ x')
    assert.equal(diff('x', ''), '- x')
  })
})
