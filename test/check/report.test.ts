// The human report of `raftctl check`: the verdict first, for a violation the reason and the
// history around it, the liveness and durability verdicts, then the counts per operation type and
// outcome, the faults and the file.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {renderReport} from '../../src/check/report.js'
import type {CheckReport} from '../../src/check/run.js'

function report(over: Partial<CheckReport>): CheckReport {
  return {
    verdict: 'linearizable',
    exitCode: 0,
    dir: '/tmp/c',
    history: '/tmp/c/check-1.ndjson',
    runDir: '/tmp/c',
    seed: 7,
    nodes: 3,
    clients: 4,
    keys: ['t/k0', 't/k1'],
    durationMs: 10_000,
    elapsedMs: 12_345,
    opTimeoutMs: 100,
    faultsEnabled: ['partition', 'kill', 'pause'],
    mutant: null,
    unsafeStaleReads: false,
    interrupted: false,
    ops: {
      get: {ok: 10, refused: 0, failed: 1, indeterminate: 0},
      put: {ok: 5, refused: 0, failed: 0, indeterminate: 2},
      cas: {ok: 3, refused: 4, failed: 0, indeterminate: 1},
      total: 26,
    },
    faults: {partition: 2, kill: 1, pause: 0, bridge: 0, tethered: 0, 'one-way': 0, delay: 0, loss: 0, duplicate: 0, 'slow-disk': 0, total: 3},
    nemesisEvents: 6,
    nemesisErrors: [],
    checkedOps: 25,
    checkMs: 12,
    violation: null,
    verdicts: {
      linearizability: {result: 'pass', text: '25 ops checked in 12 ms'},
      liveness: {result: 'pass', text: 'a stable leader after the final heal and every client wrote', windowsJudged: 0, problems: []},
      durability: {
        result: 'pass',
        text: '40 acknowledged write(s) read back',
        acknowledged: 40,
        verified: 40,
        unknownPresent: 0,
        unknownAbsent: 0,
        unreadable: 0,
        lost: [],
        phantom: [],
      },
    },
    warnings: [],
    excerptLines: [],
    ...over,
  }
}

test('a linearizable run: verdict, counts, faults, seed and history file', () => {
  assert.equal(
    renderReport(report({})),
    [
      'Linearizable: 25 ops on 2 key(s) checked in 12 ms',
      'Liveness: ok: a stable leader after the final heal and every client wrote',
      'Durability: ok: 40 acknowledged write(s) read back',
      '',
      'ops          ok  refused  failed indeterminate',
      'get          10        0       1             0',
      'put           5        0       0             2',
      'cas           3        4       0             1',
      'faults: 3 (partition 2, kill 1, pause 0)',
      'seed 7, 3 node(s), 4 client(s), 12.3s',
      'history: /tmp/c/check-1.ndjson',
      '',
    ].join('\n'),
  )
})

test('a violation: the key, the reason and the excerpt with nemesis lines come first', () => {
  const text = renderReport(
    report({
      verdict: 'not-linearizable',
      exitCode: 6,
      mutant: 'read-without-readindex',
      unsafeStaleReads: true,
      violation: {key: 't/k1', reason: 'not linearizable: c1 #9 get(t/k1) -> ok(c0-1) [30..31] cannot take effect', excerpt: [], nemesis: []},
      excerptLines: ['~ nemesis isolate leader 2 (2 | 1,3) [5]', 'c0 #8 put(t/k1,c0-2) -> ok [10..20]', 'c1 #9 get(t/k1) -> ok(c0-1) [30..31]'],
    }),
  )
  const lines = text.split('\n')
  assert.equal(lines[0], 'NOT linearizable: key t/k1')
  assert.equal(lines[1], '  not linearizable: c1 #9 get(t/k1) -> ok(c0-1) [30..31] cannot take effect')
  assert.match(lines[2]!, /^History around it/)
  assert.deepEqual(lines.slice(3, 6), [
    '  ~ nemesis isolate leader 2 (2 | 1,3) [5]',
    '  c0 #8 put(t/k1,c0-2) -> ok [10..20]',
    '  c1 #9 get(t/k1) -> ok(c0-1) [30..31]',
  ])
  assert.match(text, /replicas in --unsafe-stale-reads mode \(test only\)/)
})

test('failed liveness and durability verdicts: a line each, with what went wrong; every enabled fault kind counted', () => {
  const base = report({})
  const text = renderReport(
    report({
      exitCode: 8,
      mutant: 'ack-before-fsync',
      faultsEnabled: ['tethered', 'slow-disk'],
      faults: {...base.faults, partition: 0, kill: 0, tethered: 1, total: 1},
      verdicts: {
        ...base.verdicts,
        liveness: {
          result: 'fail',
          text: 'during tethered: 1,2,3 fully connected: the leader did not stay (and 1 more)',
          windowsJudged: 2,
          problems: [
            {what: 'tethered: 1,2,3 fully connected', from: 2400, to: 5000, text: 'the leader did not stay'},
            {what: 'final', from: 9000, to: 11000, text: 'no leader within 2400 ms'},
          ],
        },
        durability: {
          ...base.verdicts.durability,
          result: 'fail',
          text: '1 of 40 acknowledged write(s) lost',
          verified: 39,
          lost: [{key: 't/once/c0-9', value: 'c0-9', id: 77, found: null}],
        },
      },
    }),
  )
  const lines = text.split('\n')
  assert.equal(lines[1], 'Liveness: FAILED: during tethered: 1,2,3 fully connected: the leader did not stay (and 1 more)')
  assert.equal(lines[2], '  after the final heal [9000..11000 ms]: no leader within 2400 ms')
  assert.equal(lines[3], 'Durability: FAILED: 1 of 40 acknowledged write(s) lost')
  assert.equal(lines[4], '  lost: #77 t/once/c0-9=c0-9 (read back absent)')
  assert.match(text, /\nfaults: 1 \(tethered 1, slow-disk 0\)\n/)
  assert.match(text, /replicas in --mutant ack-before-fsync mode \(test only\)/)
})
