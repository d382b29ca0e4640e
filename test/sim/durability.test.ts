// The crash-consistency oracle of the simulator's crash-state explorer: a recovered disk state
// keeps what the node's messages promised and claims nothing undurable.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {judgeRecovered, Promises} from '../../src/sim/durability.js'
import type {Entry, Message} from '../../src/core/types.js'
import type {PersistedState} from '../../src/storage/port.js'

const e = (index: number, term: number): Entry => ({index, term, type: 'normal', data: `${index}@${term}`})
const key = (x: Entry) => String(x.data)
const state = (term: number, votedFor: number, commitIndex: number, entries: Entry[]): PersistedState => ({
  hardState: {currentTerm: term, votedFor, commitIndex},
  snapshot: null,
  entries,
})
const none = () => undefined

function promisesOf(...messages: Message[]): Promises {
  const p = new Promises()
  const log: Record<number, number> = {1: 1, 2: 1, 3: 2}
  for (const m of messages) p.sent(m, (i) => log[i])
  return p
}

test('a disk that kept everything promised passes', () => {
  const p = promisesOf(
    {type: 'RequestVoteResponse', from: 2, to: 1, term: 2, voteGranted: true, preVote: false},
    {type: 'AppendEntriesResponse', from: 2, to: 1, term: 2, success: true, matchIndex: 3, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, readSeq: 0},
  )
  assert.equal(judgeRecovered(state(2, 1, 0, [e(1, 1), e(2, 1), e(3, 2)]), p, none, key), null)
})

test('a term gone back, a vote gone, an acknowledged entry gone: each is named', () => {
  const vote = promisesOf({type: 'RequestVoteResponse', from: 2, to: 1, term: 2, voteGranted: true, preVote: false})
  assert.match(judgeRecovered(state(1, 0, 0, []), vote, none, key)!, /term 1 on disk, but it already acted in term 2/)
  assert.match(judgeRecovered(state(2, 3, 0, []), vote, none, key)!, /vote for 3 on disk in term 2, but it voted for 1/)
  const ack = promisesOf({
    type: 'AppendEntriesResponse',
    from: 2,
    to: 1,
    term: 2,
    success: true,
    matchIndex: 3,
    rejectedIndex: 0,
    conflictIndex: 0,
    conflictTerm: 0,
    readSeq: 0,
  })
  assert.match(judgeRecovered(state(2, 0, 0, [e(1, 1), e(2, 1)]), ack, none, key)!, /acknowledged entry 3@2, but the disk holds entries up to 2/)
  // PreVote rounds promise nothing.
  const pre = promisesOf({type: 'RequestVote', from: 2, to: 1, term: 9, lastLogIndex: 0, lastLogTerm: 0, preVote: true, transfer: false})
  assert.equal(judgeRecovered(state(0, 0, 0, []), pre, none, key), null)
})

test('a commitIndex over entries that are not the committed ones is caught (issue #12 bug 1)', () => {
  const committed = (i: number) => (i === 3 ? {term: 3, key: '3@3'} : undefined)
  assert.match(
    judgeRecovered(state(4, 5, 3, [e(1, 1), e(2, 1), e(3, 2)]), new Promises(), committed, key)!,
    /commitIndex 3 on disk covers entry 3@2, but 3@3 was committed/,
  )
  assert.equal(
    judgeRecovered(state(4, 5, 2, [e(1, 1), e(2, 1), e(3, 2)]), new Promises(), committed, key),
    null,
    'a commitIndex below the replaced entries is fine',
  )
})

test('an acknowledgement the log no longer holds (a later leader replaced it) promises nothing', () => {
  const p = promisesOf({
    type: 'AppendEntriesResponse',
    from: 2,
    to: 1,
    term: 2,
    success: true,
    matchIndex: 3,
    rejectedIndex: 0,
    conflictIndex: 0,
    conflictTerm: 0,
    readSeq: 0,
  })
  p.refresh((i) => (i === 3 ? 4 : 1), 0)
  assert.equal(p.acked, null)
})
