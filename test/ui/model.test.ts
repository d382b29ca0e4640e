import {test} from 'node:test'
import assert from 'node:assert/strict'
import {
  addFeedItem,
  classifyEvent,
  commandForKey,
  commitRate,
  dashboardView,
  FEED_MAX,
  idRanges,
  initialState,
  lagCells,
  reduce,
  sourceLabel,
  type DashboardAction,
  type DashboardState,
  type FeedItem,
} from '../../src/ui/model.js'
import {partitionSides} from '../../src/cluster/partition.js'
import {event, healthy, snapshot} from './fixtures.js'

const T0 = 1_700_000_000_000

function run(actions: DashboardAction[], state: DashboardState = initialState([1, 2, 3])): DashboardState {
  return actions.reduce(reduce, state)
}

const texts = (s: DashboardState) => s.feed.map((f) => f.text)

test('the first snapshot says what is being watched and which nodes are already down', () => {
  const s = run([{type: 'status', status: snapshot({1: {role: 'leader', term: 3}, 2: {role: 'follower', term: 3}, 3: 'down'}), time: T0}])
  assert.deepEqual(texts(s), ['watching 3 nodes (2 up); leader node 1, term 3', 'node 3 is down'])
  assert.equal(s.feed[1]!.kind, 'down')
})

test('a node that stops answering shows up as down, and as up when it is back', () => {
  const s = run([
    {type: 'status', status: healthy(), time: T0},
    {type: 'status', status: snapshot({1: {role: 'leader', term: 2}, 2: 'down', 3: {role: 'follower', term: 2}}), time: T0 + 300},
    {type: 'status', status: healthy(), time: T0 + 600},
  ])
  const feed = s.feed.slice(1)
  assert.deepEqual(
    feed.map((f) => [f.kind, f.text, f.time]),
    [
      ['down', 'node 2 down (was follower)', T0 + 300],
      ['up', 'node 2 up (pid 4002), follower in term 2', T0 + 600],
    ],
  )
})

test('a whole cluster stopping or starting is one line, not one per node', () => {
  const five = (spec: 'down' | 'up') =>
    snapshot(Object.fromEntries([1, 2, 3, 4, 5].map((id) => [id, spec === 'down' ? 'down' : {role: id === 3 ? 'leader' : 'follower', term: 4}])))
  const s = run(
    [
      {type: 'status', status: five('up'), time: T0},
      {type: 'status', status: five('down'), time: T0 + 300},
      {type: 'status', status: five('up'), time: T0 + 600},
    ],
    initialState([1, 2, 3, 4, 5]),
  )
  assert.deepEqual(texts(s).slice(1), ['nodes 1-5 down (leader 3 among them)', 'no leader', 'nodes 1-5 up', 'leader elected: node 3 (term 4)'])
})

test('losing the leader, then electing another, reads as no leader followed by the new leader', () => {
  const s = run([
    {type: 'status', status: healthy(2), time: T0},
    {type: 'status', status: snapshot({1: 'down', 2: {role: 'follower', term: 2}, 3: {role: 'follower', term: 2}}), time: T0 + 300},
    {type: 'status', status: snapshot({1: 'down', 2: {role: 'leader', term: 3}, 3: {role: 'follower', term: 3}}), time: T0 + 600},
  ])
  assert.deepEqual(texts(s).slice(1), ['node 1 down (was leader)', 'no leader (highest term 2)', 'leader elected: node 2 (term 3)'])
})

test('a leader replaced between two snapshots reads as a leader change', () => {
  const s = run([
    {type: 'status', status: healthy(2), time: T0},
    {type: 'status', status: snapshot({1: {role: 'follower', term: 4}, 2: {role: 'follower', term: 4}, 3: {role: 'leader', term: 4}}), time: T0 + 300},
  ])
  assert.deepEqual(texts(s).slice(1), ['leader changed: node 1 → node 3 (term 4)'])
})

test('node events by type: elections, leadership, partitions and snapshots are kept; votes and transport chatter are not', () => {
  assert.equal(classifyEvent({type: 'election-started', term: 5})?.kind, 'election')
  assert.equal(classifyEvent({type: 'became-leader', term: 5})?.kind, 'leader')
  assert.equal(classifyEvent({type: 'stepped-down', term: 6})?.kind, 'leader')
  assert.equal(classifyEvent({type: 'snapshot-taken', index: 10000, term: 3, keys: 42, bytes: 1000, steps: 1})?.kind, 'snapshot')
  assert.deepEqual(classifyEvent({type: 'partition-applied', rules: 'groups 3', group: 1}), {kind: 'partition', text: 'partition applied: groups 3'})
  assert.equal(classifyEvent({type: 'partition-healed'})?.kind, 'partition')
  assert.deepEqual(classifyEvent({type: 'started', pid: 42, address: '127.0.0.1:7101', term: 3, lastIndex: 7}), {
    kind: 'up',
    text: 'started (term 3, last index 7)',
  })
  assert.equal(classifyEvent({type: 'storage', text: 'torn tail repaired: seg-1 at offset 10 (3 bytes dropped)', recovery: true})?.kind, 'error')
  assert.equal(classifyEvent({type: 'storage', text: 'removing leftover temporary file: x.tmp', recovery: false}), null)
  assert.equal(classifyEvent({type: 'note', text: 'peer 2 unreachable: connect ECONNREFUSED; retrying'}), null)
  assert.equal(classifyEvent({type: 'voted', for: 2, term: 5}), null)
  assert.equal(classifyEvent({type: 'pre-vote-started', term: 5}), null)
})

test('rewording an event cannot change what the feed makes of it: the type decides', () => {
  const e = {time: T0, node: 1, text: 'anything at all', event: {type: 'became-leader', term: 4}} as const
  const s = run([{type: 'events', events: [e]}])
  assert.deepEqual(texts(s), ['became leader of term 4'])
})

test('an event delivered twice (backfill overlapping the subscription) appears once', () => {
  const e = event(1, T0, {type: 'became-leader', term: 2})
  const s = run([
    {type: 'events', events: [e]},
    {type: 'events', events: [e, event(2, T0 + 5, {type: 'note', text: 'peer 1 connected from x'})]},
  ])
  assert.deepEqual(texts(s), ['became leader of term 2'])
  assert.deepEqual(s.feed[0]!.source, {type: 'nodes', nodes: [1]})
})

test('the same line from every node becomes one feed line naming them all', () => {
  const s = run([
    {
      type: 'events',
      events: [
        event(2, T0 + 2, {type: 'partition-applied', rules: 'groups 3', group: 2}),
        event(1, T0 + 1, {type: 'partition-applied', rules: 'groups 3', group: 2}),
        event(3, T0 + 3, {type: 'partition-applied', rules: 'groups 3', group: 1}),
      ],
    },
  ])
  assert.equal(s.feed.length, 1)
  assert.deepEqual(s.feed[0]!.source, {type: 'nodes', nodes: [1, 2, 3]})
  assert.equal(sourceLabel(s.feed[0]!.source), 'n1-3')
  assert.equal(s.feed[0]!.time, T0 + 1, "the line carries the first report's time")
  assert.equal(sourceLabel({type: 'nodes', nodes: [2]}), 'node 2')
  assert.equal(sourceLabel({type: 'nodes', nodes: [1, 3]}), 'n1,3')
  assert.equal(idRanges([1, 2, 3, 5, 7, 8, 9, 11, 12]), '1-3,5,7-9,11,12')
})

test('a late backfill of an earlier report moves a merged line back to its time', () => {
  const s = run([
    {type: 'events', events: [event(2, T0 + 100, {type: 'started', pid: 2, address: 'h:2', term: 0, lastIndex: 0})]},
    {
      type: 'events',
      events: [event(1, T0, {type: 'started', pid: 1, address: 'h:1', term: 0, lastIndex: 0}), event(1, T0 + 50, {type: 'became-leader', term: 1})],
    },
  ])
  assert.deepEqual(
    s.feed.map((f) => [f.text, sourceLabel(f.source)]),
    [
      ['started (term 0, last index 0)', 'n1,2'],
      ['became leader of term 1', 'node 1'],
    ],
  )
})

test('the feed is in time order whatever order the nodes report in, and bounded', () => {
  const s = run([
    {type: 'events', events: [event(2, T0 + 200, {type: 'became-leader', term: 3})]},
    {type: 'events', events: [event(1, T0 + 100, {type: 'election-started', term: 3})]},
    {type: 'status', status: healthy(), time: T0 + 150},
  ])
  assert.deepEqual(texts(s), ['election started for term 3', 'watching 3 nodes (3 up); leader node 1, term 2', 'became leader of term 3'])
  let feed: FeedItem[] = []
  for (let i = 0; i < FEED_MAX + 50; i++) {
    feed = addFeedItem(feed, {time: T0 + i * 10_000, lastTime: T0 + i * 10_000, source: {type: 'cluster'}, kind: 'info', text: `line ${i}`, count: 1})
  }
  assert.equal(feed.length, FEED_MAX)
  assert.equal(feed[feed.length - 1]!.text, `line ${FEED_MAX + 49}`)
})

test('up/down move the selection within the nodes; a key maps to one command', () => {
  let s = initialState([1, 2, 3])
  assert.equal(s.selected, 1)
  s = reduce(s, {type: 'move', delta: -1})
  assert.equal(s.selected, 1)
  s = run(
    [
      {type: 'move', delta: 1},
      {type: 'move', delta: 1},
      {type: 'move', delta: 1},
    ],
    s,
  )
  assert.equal(s.selected, 3)
  s = reduce(s, {type: 'select', node: 9})
  assert.equal(s.selected, 3)
  assert.deepEqual(commandForKey('', {upArrow: true}), {type: 'move', delta: -1})
  assert.deepEqual(commandForKey('', {downArrow: true}), {type: 'move', delta: 1})
  assert.deepEqual(commandForKey('k', {}), {type: 'run', action: 'kill'})
  assert.deepEqual(commandForKey('r', {}), {type: 'run', action: 'restart'})
  assert.deepEqual(commandForKey('i', {}), {type: 'run', action: 'isolate'})
  assert.deepEqual(commandForKey('h', {}), {type: 'run', action: 'heal'})
  assert.deepEqual(commandForKey('q', {}), {type: 'quit'})
  assert.deepEqual(commandForKey('c', {ctrl: true}), {type: 'quit'})
  assert.equal(commandForKey('x', {}), null)
})

test('an action shows while it runs, then its result (or error) replaces it in the feed', () => {
  let s = run([{type: 'action-started', action: 'kill', node: 2, time: T0}])
  assert.equal(s.pending[2], 'kill')
  assert.deepEqual(texts(s), ['killing node 2…'])
  assert.equal(dashboardView(s, '/d').rows[1]!.pending, 'kill')
  s = reduce(s, {type: 'action-finished', action: 'kill', node: 2, ok: true, message: 'killed node 2 (SIGKILL)', time: T0 + 40})
  assert.equal(s.pending[2], undefined)
  assert.deepEqual(texts(s), ['killed node 2 (SIGKILL)'])
  s = run(
    [
      {type: 'action-started', action: 'heal', node: null, time: T0 + 100},
      {type: 'action-finished', action: 'heal', node: null, ok: false, message: 'cluster directory is locked', time: T0 + 200},
    ],
    s,
  )
  assert.equal(s.feed[1]!.kind, 'error')
  assert.equal(s.feed[1]!.text, 'healing the partition failed: cluster directory is locked')
})

test('the commit rate is entries per second over the recent snapshots, and starts over after a restart', () => {
  let s = run([{type: 'status', status: healthy(2, 100), time: T0}])
  assert.equal(commitRate(s.samples), null)
  s = run(
    [1, 2, 3, 4].map((i) => ({type: 'status', status: healthy(2, 100 + 50 * i), time: T0 + 250 * i})),
    s,
  )
  assert.equal(commitRate(s.samples), 200)
  assert.equal(dashboardView(s, '/d').commitRate, 200)
  // 10 s later: only the window counts (no commits in it).
  s = run(
    [
      {type: 'status', status: healthy(2, 300), time: T0 + 11_000},
      {type: 'status', status: healthy(2, 300), time: T0 + 16_500},
    ],
    s,
  )
  assert.equal(commitRate(s.samples), 0)
  // No node answers: the rate is not known (rather than the last one seen).
  s = run([{type: 'status', status: snapshot({1: 'down', 2: 'down', 3: 'down'}), time: T0 + 16_800}], s)
  assert.equal(commitRate(s.samples), null)
  // Every node restarted: the commit index starts over, the rate does not go negative.
  s = run(
    [
      {type: 'status', status: healthy(3, 5), time: T0 + 17_000},
      {type: 'status', status: healthy(3, 15), time: T0 + 18_000},
    ],
    s,
  )
  assert.equal(commitRate(s.samples), 10)
})

test('rows: role, indexes and how far each node trails the leader; down nodes are listed, not dropped', () => {
  const s = run(
    [
      {
        type: 'status',
        status: snapshot(
          {
            1: {role: 'leader', term: 5, commit: 500},
            2: {role: 'follower', term: 5, commit: 480, applied: 470},
            3: 'down',
            4: {role: 'candidate', term: 6, commit: 20, group: 2},
            5: {role: 'follower', term: 5, commit: 500},
          },
          {groups: [[4]]},
        ),
        time: T0,
      },
      {type: 'move', delta: 1},
    ],
    initialState([1, 2, 3, 4, 5]),
  )
  const v = dashboardView(s, '/tmp/c')
  assert.equal(v.leader, 1)
  assert.equal(v.term, 5)
  assert.equal(v.commitIndex, 500)
  assert.deepEqual(
    v.rows.map((r) => [r.id, r.role, r.lag, r.selected]),
    [
      [1, 'leader', 0, false],
      [2, 'follower', 30, true],
      [3, 'down', null, false],
      [4, 'candidate', 480, false],
      [5, 'follower', 0, false],
    ],
  )
  assert.deepEqual(v.down, [3])
  assert.deepEqual(v.groups, [[4], [1, 2, 3, 5]])
  assert.equal(v.upCount, 4)
})

test('without an agreed leader, lag is measured against the highest commit index', () => {
  const s = run([
    {type: 'status', status: snapshot({1: {role: 'candidate', term: 4, commit: 9}, 2: {role: 'follower', term: 3, commit: 7}, 3: 'down'}), time: T0},
  ])
  const v = dashboardView(s, '/d')
  assert.equal(v.leader, null)
  assert.deepEqual(
    v.rows.map((r) => r.lag),
    [0, 2, null],
  )
})

test('partition groups include the nodes not named, as one more group', () => {
  assert.deepEqual(partitionSides([[1, 2]], [1, 2, 3, 4, 5]), [
    [1, 2],
    [3, 4, 5],
  ])
  assert.deepEqual(
    partitionSides(
      [
        [1, 2],
        [3, 4, 5],
      ],
      [1, 2, 3, 4, 5],
    ),
    [
      [1, 2],
      [3, 4, 5],
    ],
  )
})

test('the lag bar is empty when caught up, shows any lag, and fills logarithmically', () => {
  assert.equal(lagCells(null, 20), 0)
  assert.equal(lagCells(0, 20), 0)
  assert.equal(lagCells(1, 20), 2)
  assert.equal(lagCells(1, 4), 1)
  assert.equal(lagCells(9, 20), 5)
  assert.equal(lagCells(99, 20), 10)
  assert.equal(lagCells(10_000, 20), 20)
  assert.equal(lagCells(5_000_000, 20), 20)
})

test('link and disk faults are summed up; link faults alone are no partition', () => {
  const links = [1, 2, 3].flatMap((a) => [1, 2, 3].filter((b) => b !== a).map((b) => ({from: a, to: b, delayMs: 100, jitterMs: 20})))
  links[0] = {...links[0]!, loss: 0.1}
  const status = {
    ...healthy(),
    partition: {groups: [], links},
    disks: [
      {node: 3, fsyncDelayMs: 2000},
      {node: 1, volatile: true},
    ],
  }
  const s = run([{type: 'status', status, time: T0}])
  const v = dashboardView(s, '/d')
  assert.equal(v.groups, null)
  assert.equal(v.net, 'delay 100ms±20ms, loss 10% on 1 link, delay 100ms±20ms on 5 links')
  assert.equal(v.disks, 'node 3 fsync +2000ms, node 1 volatile write cache')
})
