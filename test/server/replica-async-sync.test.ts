// The driver with a storage that syncs off the event loop (as the replica process does): a Ready's
// acknowledgements and votes leave only once its sync completed, the loop keeps stepping input
// meanwhile (batched into the next Ready), and a leader's AppendEntries leave before its own sync
// (Raft thesis 10.2.1) without the leader counting itself until the sync is done.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import type {AppendEntries, AppendEntriesResponse, Message, RequestVote} from '../../src/core/types.js'
import {Prng} from '../../src/lib/prng.js'
import {Replica} from '../../src/server/replica.js'
import {MemoryFs} from '../../src/storage/memory-fs.js'
import {SegmentLogStorage} from '../../src/storage/segment-log.js'
import {asyncSyncDisk} from '../storage/helpers.js'

/** Node 1 of a 3-node cluster over an in-memory disk whose fsyncs complete when the test says. */
function node(onSend?: (m: Message, fs: MemoryFs) => void) {
  const {fs, completions} = asyncSyncDisk()
  const sent: Message[] = []
  let synced = 0
  const replica = new Replica(
    {id: 1, peers: [1, 2, 3], electionTicks: 10, heartbeatTicks: 2, prng: new Prng(7)},
    {
      storage: new SegmentLogStorage(fs, '/n1'),
      send: (m) => {
        onSend?.(m, fs)
        sent.push(m)
      },
      log: () => {},
      synced: () => synced++,
    },
  )
  /** Completes the fsync in flight, then processes again (what the process's synced port does). */
  const completeSync = () => {
    assert.equal(completions.length, 1, 'one sync in flight')
    completions.shift()!()
    replica.process()
  }
  return {fs, replica, sent, completions, completeSync, synced: () => synced}
}

/** Node `from`'s successful answer to an AppendEntries. */
const ack = (m: AppendEntries, from = m.to): AppendEntriesResponse => ({
  type: 'AppendEntriesResponse',
  from,
  to: m.from,
  term: m.term,
  success: true,
  matchIndex: m.prevLogIndex + m.entries.length,
  rejectedIndex: 0,
  conflictIndex: 0,
  conflictTerm: 0,
  readSeq: m.readSeq,
})

const append = (term: number, prev: number, entries: number[], commit = 0): AppendEntries => ({
  type: 'AppendEntries',
  from: 2,
  to: 1,
  term,
  prevLogIndex: prev,
  prevLogTerm: prev > 0 ? term : 0,
  entries: entries.map((index) => ({term, index, type: 'noop' as const})),
  leaderCommit: commit,
  readSeq: 0,
})

test('a follower acknowledges an append only once its fsync completed; input stepped meanwhile waits for the next Ready', () => {
  const n = node()
  n.replica.receive(append(1, 0, [1]))
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true)
  assert.deepEqual(n.sent, [], 'nothing leaves before the sync completes')
  // The loop goes on: the next append is stepped, but no Ready is taken while the sync is out.
  n.replica.receive(append(1, 1, [2]))
  n.replica.process()
  assert.deepEqual(n.sent, [])
  assert.equal(n.completions.length, 1)
  n.completions.shift()!()
  assert.equal(n.synced(), 1, 'the synced port is told')
  assert.deepEqual(
    n.sent.map((m) => m.type === 'AppendEntriesResponse' && m.matchIndex),
    [1],
    'the first Ready acknowledges index 1 only',
  )
  n.replica.process() // the next Ready: index 2, synced off the loop again
  assert.equal(n.sent.length, 1)
  n.completeSync()
  assert.deepEqual(
    n.sent.map((m) => m.type === 'AppendEntriesResponse' && m.matchIndex),
    [1, 2],
  )
})

test('a vote leaves only once the term and vote are durable', () => {
  let onDisk: number[] | null = null
  const n = node((m, fs) => {
    if (m.type !== 'RequestVoteResponse' || !m.voteGranted) return
    // What a power loss at the moment the vote leaves would keep.
    const disk = fs.clone()
    disk.crash(new Prng(1), {dataOps: 'none', dirOps: 'none'})
    const st = new SegmentLogStorage(disk, '/n1').load()
    onDisk = [st.hardState.currentTerm, st.hardState.votedFor]
  })
  const vote: RequestVote = {type: 'RequestVote', from: 3, to: 1, term: 4, lastLogIndex: 0, lastLogTerm: 0, preVote: false, transfer: false}
  n.replica.receive(vote)
  n.replica.process()
  while (n.completions.length > 0) n.completeSync()
  assert.deepEqual(onDisk, [4, 3], 'the vote was granted with term and vote durable')
})

/** Node 1 elected leader (node 2 votes), its first entry replicated to both followers. */
function leader() {
  const n = node()
  for (let i = 0; i < 40 && n.replica.status().role !== 'leader'; i++) {
    n.replica.tick()
    n.replica.process()
    while (n.completions.length > 0) n.completeSync()
    for (const m of n.sent.splice(0)) {
      if (m.type === 'RequestVote' && m.to === 2) {
        n.replica.receive({type: 'RequestVoteResponse', from: 2, to: 1, term: m.term, voteGranted: true, preVote: m.preVote})
      }
    }
    n.replica.process()
  }
  assert.equal(n.replica.status().role, 'leader')
  for (let i = 0; i < 5; i++) {
    while (n.completions.length > 0) n.completeSync()
    for (const m of n.sent.splice(0)) if (m.type === 'AppendEntries') n.replica.receive(ack(m))
    n.replica.process()
  }
  while (n.completions.length > 0) n.completeSync()
  n.sent.length = 0
  return n
}

const appendsWithEntries = (sent: Message[]) => sent.filter((m): m is AppendEntries => m.type === 'AppendEntries' && m.entries.length > 0)

test('while its sync is in flight a leader replicates what it is proposed meanwhile, and applies and answers what commits meanwhile', () => {
  const n = leader()
  const answers: string[] = []
  n.replica.request({type: 'register', nonce: 'a'}, (r) => answers.push(`a:${r.ok}`))
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true, "the first write's sync is out")
  const first = appendsWithEntries(n.sent.splice(0))
  assert.equal(first.length, 2)
  // A second write arrives during that sync: its entry goes to the followers at once, before any
  // sync of the leader's own (it is not even written here yet).
  n.replica.request({type: 'register', nonce: 'b'}, (r) => answers.push(`b:${r.ok}`))
  n.replica.process()
  const second = appendsWithEntries(n.sent.splice(0))
  assert.deepEqual(
    second.map((m) => [m.to, m.entries.map((e) => e.index)]),
    [
      [2, [first[0]!.entries.at(-1)!.index + 1]],
      [3, [first[0]!.entries.at(-1)!.index + 1]],
    ],
    'the second entry left during the first sync',
  )
  assert.equal(n.completions.length, 1, 'still one sync in flight')
  // The first sync completes; the second entry's Ready (its write and sync) starts.
  n.completeSync()
  assert.equal(n.replica.syncInFlight, true)
  // Both followers acknowledge both entries while that second sync is out: the first entry is
  // durable here and on a quorum, so it is applied and answered now, not after the second sync.
  for (const m of [...first, ...second]) n.replica.receive(ack(m))
  n.replica.process()
  assert.deepEqual(answers, ['a:true'], 'the first write answered during the second sync')
  // The second entry is on both followers' disks, a quorum without the leader: committed, and
  // (durable here only once the sync completes) applied and answered after it.
  n.completeSync()
  assert.deepEqual(answers, ['a:true', 'b:true'])
  assert.equal(n.replica.status().appliedIndex, second[0]!.entries.at(-1)!.index)
})

test('a leader whose sync hangs falls silent after a heartbeat interval, so that its followers elect another', () => {
  const n = leader()
  n.replica.request({type: 'register', nonce: 'a'}, () => {})
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true)
  n.sent.length = 0
  // Within the first heartbeat interval (2 ticks) of the sync, it still replicates and heartbeats.
  n.replica.tick()
  n.replica.request({type: 'register', nonce: 'b'}, () => {})
  n.replica.process()
  assert.equal(appendsWithEntries(n.sent.splice(0)).length, 2, 'replicated during the sync')
  // From then on, nothing leaves while the sync hangs: neither new entries nor heartbeats (6
  // ticks: three heartbeat intervals, within the election timeout of 10).
  for (let i = 0; i < 6; i++) {
    n.replica.tick()
    n.replica.request({type: 'register', nonce: `c${i}`}, () => {})
    n.replica.process()
  }
  assert.deepEqual(n.sent, [], 'silent while its disk hangs')
  // The sync completes: what waited goes out with the next Ready.
  n.completeSync()
  assert.ok(appendsWithEntries(n.sent).length >= 2)
})

test('a stopping leader sends nothing more while it waits for its sync (its ticks have stopped)', () => {
  const n = leader()
  n.replica.request({type: 'register', nonce: 'a'}, () => {})
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true)
  n.sent.length = 0
  n.replica.stop()
  n.replica.request({type: 'register', nonce: 'b'}, () => {})
  n.replica.process()
  assert.deepEqual(n.sent, [], 'no AppendEntries from a stopping leader')
})

test('a follower applies what commits during its sync once it is durable here, in order, each entry once', () => {
  const n = node()
  const applied: number[] = []
  n.replica.onApply = (e) => applied.push(e.index)
  n.replica.receive(append(1, 0, [1, 2]))
  n.replica.process()
  n.completeSync()
  // Entries 3 and 4 arrive with commit news up to 3: the Ready hands out 1..3, and 3 is not
  // durable yet, so nothing is applied before that Ready's sync.
  n.replica.receive(append(1, 2, [3, 4], 3))
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true)
  assert.deepEqual(applied, [])
  // Commit news up to 4 during the sync: nothing may jump ahead of 1..3, handed out but not applied.
  n.replica.receive(append(1, 4, [], 4))
  n.replica.process()
  assert.deepEqual(applied, [])
  n.completeSync()
  assert.deepEqual(applied, [1, 2, 3, 4])
  // Entries 5 and 6, synced; then during the sync of entry 7 the commit news of 6 arrives: 5 and 6
  // are durable here, so they are applied at once.
  n.replica.receive(append(1, 4, [5, 6], 4))
  n.replica.process()
  n.completeSync()
  n.replica.receive(append(1, 6, [7], 4))
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true)
  n.replica.receive(append(1, 7, [], 6))
  n.replica.process()
  assert.deepEqual(applied, [1, 2, 3, 4, 5, 6], 'applied during the sync of entry 7')
  n.completeSync()
  assert.deepEqual(applied, [1, 2, 3, 4, 5, 6])
})

test('a configuration change committed during a sync waits for its Ready, and so does everything after it', () => {
  const n = node()
  const applied: number[] = []
  n.replica.onApply = (e) => applied.push(e.index)
  const learner = {term: 1, index: 2, type: 'config' as const, data: {ops: [{type: 'add-learner', node: 4}]}}
  n.replica.receive({...append(1, 0, [1]), entries: [{term: 1, index: 1, type: 'noop'}, learner, {term: 1, index: 3, type: 'noop'}]})
  n.replica.process()
  n.completeSync()
  n.replica.receive(append(1, 3, [4]))
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true)
  // Commit news up to 3 while entry 4 syncs: 1 is applied at once; 2 (a change) and 3 wait.
  n.replica.receive(append(1, 4, [], 3))
  n.replica.process()
  assert.deepEqual(applied, [1])
  assert.deepEqual(n.replica.status().membership.learners, [], 'not in force yet')
  n.completeSync()
  assert.deepEqual(applied, [1, 2, 3])
  assert.deepEqual(n.replica.status().membership.learners, [4], 'in force once its Ready is advanced')
})

test("a leader's AppendEntries leave before its own fsync; it commits once a follower acknowledged and its own sync completed", () => {
  const n = leader()
  const before = n.replica.status().commitIndex
  // A write: its entry is appended and sent to the followers before the leader's fsync is done.
  n.replica.request({type: 'register', nonce: 'n1'}, () => {})
  n.replica.process()
  assert.equal(n.replica.syncInFlight, true)
  const appends = n.sent.filter((m): m is AppendEntries => m.type === 'AppendEntries' && m.entries.length > 0)
  assert.equal(appends.length, 2, 'both followers got the entry while the leader syncs')
  const index = appends[0]!.entries.at(-1)!.index
  // Node 2 acknowledges while the leader's own fsync is still out: one durable copy of three.
  n.replica.receive(ack(appends.find((m) => m.to === 2)!))
  n.replica.process()
  assert.equal(n.replica.status().commitIndex, before, 'not committed: the leader has not synced it')
  n.completeSync()
  assert.equal(n.replica.status().commitIndex, index, 'committed once the leader synced it too')
})
