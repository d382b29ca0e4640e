import {test} from 'node:test'
import assert from 'node:assert/strict'
// tsx applies tsconfig's `jsx: react-jsx` only to files the tsconfig includes (src/); here JSX
// compiles to React.createElement.
import React from 'react'
import type {ClusterStatus} from '../../src/cluster/status.js'
import type {NodeEvent} from '../../src/protocol/events.js'
import type {ClusterActions} from '../../src/ui/actions.js'
import type {StatusSource} from '../../src/ui/cluster-source.js'
import {dashboardView, initialState, reduce, type DashboardAction, type DashboardState} from '../../src/ui/model.js'
import {event, healthy, snapshot, stripAnsi} from './fixtures.js'

// Colour on for the whole file (chalk decides at import), so "no colour" below is a real check.
process.env.FORCE_COLOR = '1'
const {render} = await import('ink-testing-library')
const {Dashboard} = await import('../../src/ui/dashboard.js')
const {DashboardApp} = await import('../../src/ui/app.js')

const T0 = new Date(2025, 0, 2, 13, 4, 5).getTime()

function stateOf(actions: DashboardAction[], ids = [1, 2, 3]): DashboardState {
  return actions.reduce(reduce, initialState(ids))
}

function frame(state: DashboardState, opts: {width?: number; height?: number; color?: boolean; dir?: string} = {}): string {
  const view = dashboardView(state, opts.dir ?? '/tmp/raftctl-demo/cluster')
  const r = render(<Dashboard view={view} width={opts.width ?? 80} height={opts.height ?? 23} color={opts.color ?? false} />)
  const out = r.lastFrame() ?? ''
  r.unmount()
  return out
}

function assertFits(text: string, width: number, height: number): void {
  const lines = stripAnsi(text).split('\n')
  assert.ok(lines.length <= height, `${lines.length} lines, more than ${height}:\n${text}`)
  for (const line of lines) assert.ok([...line].length <= width, `line wider than ${width} (${[...line].length}): ${JSON.stringify(line)}`)
}

test('a healthy cluster: header with directory, leader and term; a row per node with its role; the footer keys', () => {
  const s = stateOf([
    {type: 'status', status: healthy(7, 130), time: T0},
    {type: 'events', events: [event(1, T0 - 2000, {type: 'election-started', term: 7}), event(1, T0 - 1900, {type: 'became-leader', term: 7})]},
  ])
  const out = frame(s)
  assertFits(out, 80, 23)
  assert.equal(out.split('\n').length, 23, 'the frame fills the height it is given')
  assert.match(out, /raftctl status {2}\/tmp\/raftctl-demo\/cluster/)
  assert.match(out, /leader node 1 {3}term 7 {3}commit 130/)
  assert.match(out, /3\/3 up/)
  assert.match(out, /› {2}1 leader +7 +130 +130 +130/)
  assert.match(out, /^ {3}2 follower +7 /m)
  assert.match(out, /^ {3}3 follower +7 /m)
  assert.match(out, /down: none/)
  assert.match(out, /partition: none/)
  assert.match(out, /13:04:03 {2}node 1 {3}election started for term 7/)
  assert.match(out, /became leader of term 7/)
  const footer = out.split('\n').at(-1)!
  for (const key of ['↑↓ select', 'k kill', 'r restart', 'i isolate', 'h heal', 'q quit']) assert.ok(footer.includes(key), `footer lacks ${key}: ${footer}`)
})

test('before the first status arrives, nodes are not claimed to be down', () => {
  const out = frame(stateOf([]))
  assertFits(out, 80, 23)
  assert.match(out, /connecting…/)
  assert.match(out, /^› {2}1 …/m)
  assert.doesNotMatch(out, /\bdown\b(?!:)/)
})

test('down nodes are marked down and listed; the partition groups are shown', () => {
  const s = stateOf(
    [
      {type: 'status', status: healthy(3, 40), time: T0 - 1000},
      {
        type: 'status',
        status: snapshot(
          {
            1: {role: 'leader', term: 3, commit: 50},
            2: 'down',
            3: {role: 'follower', term: 3, commit: 50},
            4: {role: 'candidate', term: 3, commit: 40, group: 2},
            5: {role: 'follower', term: 3, commit: 50},
          },
          {groups: [[4]]},
        ),
        time: T0,
      },
    ],
    [1, 2, 3, 4, 5],
  )
  const out = frame(s)
  assertFits(out, 80, 23)
  assert.match(out, /^ {3}2 down +- +- +- +- {2}down/m)
  assert.match(out, /down: node 2 /)
  assert.match(out, /partition: g1 \[4\] {2}g2 \[1,2,3,5\]/)
  assert.match(out, /^ {3}4 candidate +3 +40 +40 +40 {2}█+░+ 10 +g2/m)
  assert.match(out, /cluster {2}node 2 down \(was follower\)/)
  assert.match(out, /4\/5 up/)
})

test('a node whose process is alive but does not answer says so; a paused one says paused', () => {
  const status = snapshot({1: {role: 'leader', term: 2}, 2: {role: 'follower', term: 2}, 3: 'down', 4: 'down', 5: {role: 'pre-candidate', term: 2}})
  status.nodes[2]!.pid = 4242
  status.nodes[3]!.pid = 4243
  status.nodes[3]!.role = 'paused'
  const out = frame(stateOf([{type: 'status', status, time: T0}], [1, 2, 3, 4, 5]))
  assert.match(out, /^ {3}3 down +- +- +- +- {2}no answer\b/m)
  assert.match(out, /^ {3}4 paused +- +- +- +- {2}paused\b/m)
  assert.match(out, /^ {3}5 pre-candidate +2 /m)
  assert.match(out, /down: node 3 +paused: node 4 /)
  assert.match(out, /node 3 is down — process alive but not answering/)
  assert.match(out, /node 4 is paused\n/)
  const wide = frame(stateOf([{type: 'status', status, time: T0}], [1, 2, 3, 4, 5]), {width: 100})
  assert.match(wide, /^ {3}3 down +- +- +- +- {2}no answer \(pid 4242\)/m)
})

test('a 60x20 terminal: the columns that fit, the short header and footer; too small says so', () => {
  const s = stateOf([
    {type: 'status', status: healthy(7, 1_234_567), time: T0},
    {type: 'events', events: [event(1, T0, {type: 'became-leader', term: 7})]},
  ])
  const out = frame(s, {width: 60, height: 19})
  assertFits(out, 60, 19)
  const cut = out.split('\n').filter((l) => l.includes('…') && !/^\d\d:\d\d:\d\d /.test(l))
  assert.deepEqual(cut, [], 'only event lines are cut short')
  assert.match(out, /^ {2}ID ROLE +TERM +COMMIT +APPLIED +LAG +GROUP$/m, 'LAST and the lag bar go first')
  assert.match(out, /^leader 1 {2}term 7 {2}commit 1234567 {2}\S+\/s \(5s\) {2}3\/3 up$/m, 'the rate names its window')
  assert.match(out, /became leader of term 7/)
  assert.match(out.split('\n').at(-1)!, /q quit$/)
  const short = frame(s, {width: 60, height: 9})
  assertFits(short, 60, 9)
  assert.doesNotMatch(short, /events/, 'the event feed goes before the node rows')
  assert.match(short, /^ {3}3 follower/m)
  const tiny = frame(s, {width: 30, height: 5})
  assertFits(tiny, 30, 5)
  assert.match(tiny, /terminal too small \(30x6\)/)
  assert.match(tiny, /q quits/)
})

test('nothing exceeds 80 columns: 15 nodes, 7-digit indexes, a long directory, long event lines', () => {
  const nodes: Parameters<typeof snapshot>[0] = {}
  for (let id = 1; id <= 15; id++) nodes[id] = id === 7 ? 'down' : {role: id === 1 ? 'leader' : 'follower', term: 123456, commit: 9_999_999 - id * 1000}
  const s = stateOf(
    [
      {
        type: 'status',
        status: snapshot(nodes, {
          groups: [
            [1, 2, 3, 4, 5, 6],
            [8, 9, 10, 11, 12],
          ],
        }),
        time: T0,
      },
      {type: 'events', events: [event(3, T0, {type: 'snapshot-taken', index: 9_999_999_999, term: 123456, keys: 1_234_567_890, bytes: 9e12, steps: 100000})]},
      {type: 'move', delta: 14},
    ],
    Array.from({length: 15}, (_, i) => i + 1),
  )
  const dir = '/home/someone/with/a/very/long/path/to/projects/and/experiments/raftctl/cluster-number-seven'
  const out = frame(s, {dir})
  assertFits(out, 80, 23)
  assert.match(out, /…/)
  assert.match(out, /cluster-number-seven/, 'the end of a long directory stays visible')
  assert.match(out, /› 15 follower/, 'the selected node stays in view')
  assert.match(out, /q quit/)
})

test('a small terminal still gets the table and footer; a large one gets PID and address columns', () => {
  const s = stateOf([{type: 'status', status: healthy(2, 10), time: T0}])
  const small = frame(s, {width: 60, height: 12})
  assertFits(small, 60, 12)
  assert.match(small, /leader/)
  assert.match(small, /q quit/)
  const large = frame(s, {width: 140, height: 40})
  assertFits(large, 140, 40)
  assert.match(large, /PID +ADDRESS/)
  assert.match(large, /4001 {2}127\.0\.0\.1:7101/)
})

test('roles in colour when colour is on; no escape codes at all when it is off', () => {
  const s = stateOf([{type: 'status', status: snapshot({1: {role: 'leader', term: 2}, 2: {role: 'candidate', term: 3}, 3: 'down'}), time: T0}])
  const coloured = frame(s, {color: true})
  assert.match(coloured, /\x1b\[32m(\x1b\[1m)?leader/, 'leader in green')
  assert.match(coloured, /\x1b\[33m(\x1b\[1m)?candidate/, 'candidate in yellow')
  assert.match(coloured, /\x1b\[31m(\x1b\[1m)?down/, 'down in red')
  const plain = frame(s, {color: false})
  assert.ok(!plain.includes('\x1b['), 'no ANSI escapes without colour')
  assert.equal(stripAnsi(coloured), plain)
})

// --------------------------------------------------------------------------- the container

class FakeSource implements StatusSource {
  status: ClusterStatus = healthy(2, 10)
  closed = false
  polls = 0
  private events: (e: NodeEvent[]) => void = () => {}
  async poll(): Promise<ClusterStatus> {
    this.polls++
    return this.status
  }
  onEvents(cb: (events: NodeEvent[]) => void): void {
    this.events = cb
  }
  onChange(): void {}
  push(events: NodeEvent[]): void {
    this.events(events)
  }
  async close(): Promise<void> {
    this.closed = true
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('the container polls, keys select and act on a node, results land in the feed, q quits', async () => {
  const source = new FakeSource()
  const calls: string[] = []
  const actions: ClusterActions = {
    kill: async (id) => {
      calls.push(`kill ${id}`)
      source.status = snapshot({1: {role: 'leader', term: 2, commit: 10}, 2: 'down', 3: {role: 'follower', term: 2, commit: 10}})
      return `killed node ${id} (SIGKILL)`
    },
    restart: async (id) => {
      calls.push(`restart ${id}`)
      throw new Error('port 7102 is in use')
    },
    isolate: async (id) => (calls.push(`isolate ${id}`), `isolated node ${id}`),
    heal: async () => (calls.push('heal'), 'healed the partition'),
  }
  const r = render(
    <DashboardApp dir="/tmp/c" nodeIds={[1, 2, 3]} source={source} actions={actions} intervalMs={20} color={false} size={{columns: 80, rows: 24}} />,
  )
  const screen = () => stripAnsi(r.lastFrame() ?? '')
  try {
    await waitFor('the first status', () => screen().includes('leader node 1'))
    source.push([event(1, Date.now(), {type: 'became-leader', term: 2})])
    await waitFor('the pushed event', () => screen().includes('became leader of term 2'))

    r.stdin.write('\x1b[B') // down arrow: node 2
    await waitFor('node 2 selected', () => /› {2}2 follower/.test(screen()))
    r.stdin.write('k')
    await waitFor('the kill result', () => screen().includes('killed node 2 (SIGKILL)'))
    await waitFor('node 2 shown down', () => /› {2}2 down/.test(screen()) && screen().includes('down: node 2'))
    r.stdin.write('r')
    await waitFor('the restart error', () => screen().includes('(re)starting node 2 failed: port 7102 is in use'))
    r.stdin.write('i')
    r.stdin.write('h')
    await waitFor('isolate and heal', () => screen().includes('isolated node 2') && screen().includes('healed the partition'))
    assert.deepEqual(calls, ['kill 2', 'restart 2', 'isolate 2', 'heal'])
    assertFits(r.lastFrame() ?? '', 80, 23)

    // Keys arriving in one chunk, before a render: `i` isolates the node the arrows chose.
    r.stdin.write('\x1b[A\x1b[B\x1b[Bi')
    await waitFor('node 3 isolated', () => screen().includes('isolated node 3'))
    assert.deepEqual(calls, ['kill 2', 'restart 2', 'isolate 2', 'heal', 'isolate 3'])

    r.stdin.write('q')
    await waitFor('the source closed on quit', () => source.closed)
    const polls = source.polls
    await new Promise((res) => setTimeout(res, 100))
    assert.equal(source.polls, polls, 'no polling after quit')
  } finally {
    r.unmount()
  }
})

test('membership: rows follow the members; a learner is shown as one; the configuration is on the summary line, yellow while joint', () => {
  const grown = snapshot({
    1: {role: 'leader', term: 3, commit: 40},
    2: {role: 'follower', term: 3, commit: 40},
    3: {role: 'follower', term: 3, commit: 40},
    4: {role: 'follower', term: 3, commit: 12},
  })
  grown.nodes[3]!.member = 'learner'
  for (const n of grown.nodes.slice(0, 3)) n.member = 'voter'
  grown.configuration = {voters: [1, 2, 3], outgoing: [], learners: [4]}
  // The dashboard started with three nodes; the fourth appears when the poll reports it.
  const s = stateOf([{type: 'status', status: grown, time: T0}])
  assert.deepEqual(s.nodeIds, [1, 2, 3, 4])
  // A removed member leaves the rows, and the selection moves off it.
  const removed = reduce(s, {type: 'status', status: {...grown, nodes: grown.nodes.slice(1)}, time: T0 + 1000})
  assert.deepEqual([removed.nodeIds, removed.selected], [[2, 3, 4], 2])
  const out = frame(s)
  assert.match(out, /^ {3}4 learner +3 /m)
  assert.match(out, /config: voters 1,2,3; learners 4/)
  // Every node a voter: nothing to say.
  assert.doesNotMatch(
    frame(stateOf([{type: 'status', status: {...healthy(), configuration: {voters: [1, 2, 3], outgoing: [], learners: []}}, time: T0}])),
    /config:/,
  )
  const joint = {...grown, configuration: {voters: [1, 2, 4], outgoing: [1, 2, 3], learners: []}}
  const colored = frame(stateOf([{type: 'status', status: joint, time: T0}]), {color: true})
  assert.match(stripAnsi(colored), /config: joint 1,2,4 \/ 1,2,3/)
  assert.match(colored, /\x1b\[33m[^\x1b]*joint 1,2,4/, 'yellow while joint')
})
