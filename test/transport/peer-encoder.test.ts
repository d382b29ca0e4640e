// PeerEncoder: the entries of an AppendEntries are encoded once for every follower sent the same
// slice; the bytes each follower receives decode to exactly the message the leader sent.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import type {AppendEntries, Entry, Message} from '../../src/core/types.js'
import {encodePeerMessage, PeerEncoder, PeerStreamReader} from '../../src/transport/peer-codec.js'

const log: Entry[] = Array.from({length: 40}, (_, i) => ({
  term: 2,
  index: i + 1,
  type: 'normal',
  data: {op: 'put', key: `k${i}`, value: 'é'.repeat(i), session: 3, seq: i + 1},
}))

function append(to: number, from: number, through: number, extra: Partial<AppendEntries> = {}): AppendEntries {
  return {
    type: 'AppendEntries',
    from: 1,
    to,
    term: 2,
    prevLogIndex: from - 1,
    prevLogTerm: from > 1 ? 2 : 0,
    entries: log.slice(from - 1, through),
    leaderCommit: 7,
    readSeq: 4,
    ...extra,
  }
}

/** What node `to` decodes from the chunks, fed one byte at a time (chunk boundaries anywhere). */
function receive(to: number, chunks: Buffer[]): Message[] {
  const reader = new PeerStreamReader(1, to)
  const out: Message[] = []
  for (const c of chunks)
    for (let i = 0; i < c.length; i++) {
      const r = reader.push(c.subarray(i, i + 1))
      assert.equal(r.problem, null)
      out.push(...r.messages)
    }
  return out
}

test('followers sent the same slice share its encoded bytes, and each decodes its own message', () => {
  const enc = new PeerEncoder()
  const to2 = append(2, 11, 26)
  const to3 = append(3, 11, 26, {leaderCommit: 9, readSeq: 0})
  const a = enc.encode(to2)
  const b = enc.encode(to3)
  assert.equal(enc.reused, 1)
  assert.equal(a.length, 2)
  assert.equal(a[1], b[1], 'the entries are one buffer, not copied per follower')
  assert.deepEqual(receive(2, a), [to2])
  assert.deepEqual(receive(3, b), [to3])
  // The same bytes as the plain encoder's, key order aside: the decoded messages are equal.
  assert.deepEqual(receive(2, encodePeerMessage(to2)), [to2])
})

test('another slice is encoded afresh: a different start, end or length never reuses', () => {
  const enc = new PeerEncoder()
  enc.encode(append(2, 11, 26))
  for (const [from, through] of [
    [12, 26],
    [11, 25],
    [11, 27],
  ] as const) {
    const m = append(3, from, through)
    assert.deepEqual(receive(3, enc.encode(m)), [m])
  }
  assert.equal(enc.reused, 0)
  // Equal entries that are other objects (decoded elsewhere) are encoded, not trusted by value.
  const copy = append(2, 11, 26, {entries: structuredClone(log.slice(10, 26))})
  assert.deepEqual(receive(2, enc.encode(copy)), [copy])
  assert.equal(enc.reused, 0)
})

test('heartbeats and other messages go as before; a slice too large for one frame goes in parts', () => {
  const enc = new PeerEncoder(4096)
  const heartbeat = append(2, 41, 40)
  assert.deepEqual(receive(2, enc.encode(heartbeat)), [heartbeat])
  const vote: Message = {type: 'RequestVote', from: 1, to: 2, term: 3, lastLogIndex: 40, lastLogTerm: 2, preVote: false, transfer: false}
  assert.deepEqual(receive(2, enc.encode(vote)), [vote])
  const big = append(2, 1, 40)
  const chunks = enc.encode(big)
  assert.ok(chunks.length > 2, 'split into parts')
  assert.deepEqual(receive(2, chunks), [big])
})
