import {test} from 'node:test'
import assert from 'node:assert/strict'
import {isMessage, messageProblem} from '../../src/transport/validate.js'
import {heartbeat, sampleMessages} from './helpers.js'

test('every well-formed message type passes, checked against the connection', () => {
  for (const m of sampleMessages(2, 1)) {
    assert.equal(messageProblem(m, {from: 2, to: 1}), null, m.type)
    assert.ok(isMessage(m))
  }
})

test('malformed messages are refused with a reason', () => {
  const hb = heartbeat(2, 1, 3)
  const bad: Array<[unknown, RegExp]> = [
    [null, /not an object/],
    [[hb], /not an object/],
    [{...hb, type: 'Bogus'}, /unknown message type "Bogus"/],
    [{...hb, type: undefined}, /unknown message type/],
    [{...hb, from: 0}, /from is not a node id/],
    [{...hb, to: '1'}, /to is not a node id/],
    [{...hb, term: -1}, /term/],
    [{...hb, term: 2 ** 53}, /term/],
    [{...hb, term: 10n}, /term/],
    [{...hb, leaderCommit: NaN}, /leaderCommit/],
    [{...hb, readSeq: undefined}, /readSeq/],
    [{...hb, entries: 'none'}, /entries is not an array/],
    [{...hb, entries: [{term: 1, index: 1}]}, /entry type/],
    [{...hb, entries: [{term: 1, index: 2, type: 'normal'}]}, /index is 2, expected 1/],
    [{...hb, entries: [{term: 4, index: 1, type: 'normal'}]}, /out of order/],
    [
      {
        ...hb,
        entries: [
          {term: 2, index: 1, type: 'normal'},
          {term: 1, index: 2, type: 'normal'},
        ],
      },
      /out of order/,
    ],
    [{...hb, prevLogTerm: 9}, /prevLogTerm 9 is above term 3/],
    [{type: 'RequestVote', from: 2, to: 1, term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: 1, transfer: false}, /preVote is not a boolean/],
    [{type: 'AppendEntriesResponse', from: 2, to: 1, term: 1, success: true, matchIndex: 1, rejectedIndex: 0, conflictIndex: 0, readSeq: 0}, /conflictTerm/],
    [{type: 'AppendEntriesResponse', from: 2, to: 1, term: 1, success: true, matchIndex: 1, conflictIndex: 0, conflictTerm: 0, readSeq: 0}, /rejectedIndex/],
    [{type: 'InstallSnapshot', from: 2, to: 1, term: 1, snapshot: {lastIncludedIndex: 1, lastIncludedTerm: 1}}, /snapshot.data is missing/],
    [{type: 'InstallSnapshot', from: 2, to: 1, term: 1, snapshot: null}, /snapshot is not an object/],
  ]
  for (const [m, why] of bad) {
    const problem = messageProblem(m)
    assert.ok(problem && why.test(problem), `${JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}: ${problem}`)
    assert.equal(isMessage(m), false)
  }
  assert.match(messageProblem(hb, {from: 3}) ?? '', /does not match the authenticated peer 3/)
  assert.match(messageProblem(hb, {to: 2}) ?? '', /is not this node \(2\)/)
})
