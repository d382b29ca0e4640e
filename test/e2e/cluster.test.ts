// Raft behaviour of a real 3-node cluster, driven through the CLI: elections, leader failure,
// partitions (minority cannot elect, PreVote/CheckQuorum on rejoin), replication with a node down,
// no commit without a quorum, crash/restart durability, and a deposed leader's uncommitted entry.
// One cluster for the file; every test leaves it healed with all nodes running (restore()).
import fs from 'node:fs'
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {ClusterClient, UnavailableError} from '../../src/client/cluster-client.js'
import {loadCluster, readSecret} from '../../src/clusterdir/config.js'
import {DEFAULT_REPLICA_NODE_FLAGS} from '../../src/cluster/processes.js'
import {Cluster, ELECTION_MS, sleep, stackLines, type RunResult, type StatusJson} from './harness.js'

const T = {timeout: 90_000}

/** Samples status for `ms`: no node may claim leadership, and the cluster has no agreed leader. */
async function assertNoLeaderFor(c: Cluster, ms: number): Promise<number> {
  const end = Date.now() + ms
  let samples = 0
  for (let last = false; !last;) {
    last = Date.now() >= end
    const s = last ? await c.status() : await c.peek()
    const leaders = s.nodes.filter((n) => n.role === 'leader').map((n) => n.id)
    assert.deepEqual(leaders, [], `no node may be leader, sample ${samples}: ${JSON.stringify(s.nodes)}`)
    assert.equal(s.leader, null)
    samples++
  }
  return samples
}

/** Samples status for `ms`: the leader and term must stay exactly as given. */
async function assertStableFor(c: Cluster, ms: number, leader: number, term: number): Promise<void> {
  const end = Date.now() + ms
  let samples = 0
  for (let last = false; !last;) {
    last = Date.now() >= end
    const s = last ? await c.status() : await c.peek()
    assert.equal(s.leader, leader, `leader changed: ${JSON.stringify(s)}`)
    assert.equal(s.term, term, `term changed: ${JSON.stringify(s)}`)
    for (const n of s.nodes) assert.equal(n.term, term, `node ${n.id} is at term ${n.term}, not ${term}`)
    samples++
  }
  assert.ok(samples >= 2, `sampled the status ${samples} time(s) in ${ms} ms`)
}

function node(s: StatusJson, id: number) {
  return s.nodes.find((n) => n.id === id)!
}

function ok(r: RunResult, what: string): void {
  assert.equal(r.exitCode, 0, `${what} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
}

async function put(c: Cluster, key: string, value: string): Promise<void> {
  const r = await c.run(['put', key, value, '--timeout', '10s'])
  ok(r, `put ${key}`)
  assert.equal(r.stdout, 'OK\n')
}

async function assertGet(c: Cluster, key: string, value: string): Promise<void> {
  const r = await c.run(['get', key, '--timeout', '10s'])
  ok(r, `get ${key}`)
  assert.equal(r.stdout, value + '\n', `get ${key}`)
}

function followerOf(s: StatusJson): number {
  return s.nodes.find((n) => n.id !== s.leader && n.up)!.id
}

describe('raft cluster (3 nodes, through the CLI)', () => {
  let c: Cluster
  let startResult: RunResult

  before(async () => {
    c = new Cluster(3)
    startResult = await c.startAll()
  })
  after(async () => {
    await c?.destroy()
  })

  test('1. start elects exactly one leader that every node agrees on', T, async () => {
    ok(startResult, 'start --nodes 3')
    const lines = startResult.stdout.trimEnd().split('\n')
    assert.match(lines[0]!, /^ID\s+ADDRESS\s+PID\s+ROLE\s+TERM\s+LEADER\s+LAST\s+COMMIT\s+APPLIED\s+LAG\s+GROUP$/)
    for (const id of [1, 2, 3])
      assert.ok(
        lines.some((l) => l.startsWith(`${id} `) && l.includes(`127.0.0.1:${c.basePort + id}`)),
        `row for node ${id}`,
      )
    assert.match(startResult.stdout, /leader: node [123], term \d+/)
    assert.equal(stackLines(startResult.stderr).length, 0)

    const s = await c.waitForSettled()
    assert.equal(s.nodes.length, 3)
    assert.deepEqual(
      s.nodes.filter((n) => n.role === 'leader').map((n) => n.id),
      [s.leader],
    )
    for (const n of s.nodes) {
      assert.equal(n.up, true)
      assert.equal(n.leader, s.leader, `node ${n.id} follows ${n.leader}`)
      assert.equal(n.term, s.term, `node ${n.id} term`)
      assert.equal(n.address, `127.0.0.1:${c.basePort + n.id}`)
      assert.ok(Number.isInteger(n.pid) && n.pid! > 0)
      assert.ok(Number.isInteger(n.rssBytes) && n.rssBytes! > 10e6 && n.rssBytes! < 1e9, `node ${n.id} rssBytes ${n.rssBytes}`)
      // Replicas run the lean entry (no oclif) with the memory flags, detached from the CLI.
      const argv = fs.readFileSync(`/proc/${n.pid}/cmdline`, 'utf8').split('\0')
      assert.ok(
        argv.some((a) => a.endsWith('dist/server/replica-main.js')),
        argv.join(' '),
      )
      for (const flag of DEFAULT_REPLICA_NODE_FLAGS) assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`)
    }
    // A fresh cluster: start asked node 1 to campaign at once rather than wait out a timeout.
    assert.match(c.nodeLog(1), /asked to campaign at once/)
  })

  test('2. killing the leader elects a new one in a higher term; the dead node is listed as down', T, async () => {
    try {
      const s0 = await c.waitForSettled()
      const old = s0.leader
      ok(await c.run(['stop', String(old), '--kill']), 'stop --kill leader')
      const s1 = await c.waitForLeader([old], {minTerm: s0.term + 1})
      assert.ok(s1.term > s0.term, `term ${s1.term} > ${s0.term}`)
      assert.equal(s1.nodes.length, 3, 'the dead node is never dropped')
      const dead = node(s1, old)
      assert.equal(dead.role, 'down')
      assert.equal(dead.up, false)
      assert.equal(dead.pid, null)
      const table = await c.run(['status'])
      ok(table, 'status')
      assert.match(table.stdout, new RegExp(`^${old}\\s+127\\.0\\.0\\.1:${c.basePort + old}\\s+-\\s+down\\b`, 'm'))
    } finally {
      await c.restore()
    }
  })

  test('3. with the leader and one follower cut off, the last node cannot elect; once one returns, a leader', T, async () => {
    try {
      const s0 = await c.waitForSettled()
      const L = s0.leader
      const F = followerOf(s0)
      const R = [1, 2, 3].find((id) => id !== L && id !== F)!
      // Groups [L] [F] and the rest [R]: every node alone.
      ok(await c.run(['partition', String(L), String(F)]), `partition ${L} ${F}`)
      // CheckQuorum: the old leader steps down; nobody can win an election.
      await c.poll((s) => s.nodes.every((n) => n.role !== 'leader'), {timeoutMs: 10_000, what: 'the cut-off leader to step down'})
      await assertNoLeaderFor(c, 5 * ELECTION_MS)
      // F comes back to R: two of three can elect.
      ok(await c.run(['partition', '--isolate', String(L)]), `partition --isolate ${L}`)
      const s1 = await c.waitForLeader([L], {timeoutMs: 15_000})
      assert.ok([F, R].includes(s1.leader))
      assert.ok(s1.term > s0.term)
      ok(await c.run(['heal']), 'heal')
      await c.waitForSettled()
    } finally {
      await c.restore()
    }
  })

  test('4. all nodes cut off from each other: no leader; after heal, a leader again', T, async () => {
    try {
      const s0 = await c.waitForSettled()
      const r = await c.run(['partition', '1', '2', '3'])
      ok(r, 'partition 1 2 3')
      await c.poll((s) => s.nodes.every((n) => n.role !== 'leader'), {timeoutMs: 10_000, what: 'no leader'})
      await assertNoLeaderFor(c, 3 * ELECTION_MS)
      const noLeader = await c.run(['partition', '--isolate', 'leader'])
      assert.equal(noLeader.exitCode, 4, `--isolate leader without a leader: ${noLeader.stdout} ${noLeader.stderr}`)
      assert.match(noLeader.stderr, /^Error: .*leader/m)
      const healed = await c.run(['heal'])
      ok(healed, 'heal')
      assert.match(healed.stdout, /Healed/)
      const s1 = await c.waitForSettled()
      assert.ok(s1.term >= s0.term)
    } finally {
      await c.restore()
    }
  })

  test('5. an isolated leader rejoins without disturbing the new leader (PreVote, CheckQuorum)', T, async () => {
    try {
      const s0 = await c.waitForSettled()
      const old = s0.leader
      const r = await c.run(['partition', '--isolate', 'leader'])
      ok(r, 'partition --isolate leader')
      assert.match(r.stdout, new RegExp(`^Partitioned: ${old} \\| ${[1, 2, 3].filter((id) => id !== old).join(',')}$`, 'm'))
      const s1 = await c.waitForLeader([old], {minTerm: s0.term + 1})
      const fresh = s1.leader
      // The cut-off leader stops acting as leader (CheckQuorum) and, with PreVote, does not raise its term.
      const isolated = node(await c.poll((s) => node(s, old).role !== 'leader', {timeoutMs: 10_000, what: `node ${old} to step down`}), old)
      assert.ok(isolated.term! < s1.term, `isolated node term ${isolated.term} must stay below ${s1.term}`)

      ok(await c.run(['heal']), 'heal')
      const s2 = await c.poll(
        (s) => {
          const n = node(s, old)
          return n.role === 'follower' && n.leader === fresh && n.term === s1.term
        },
        {timeoutMs: 10_000, what: `node ${old} to follow ${fresh} in term ${s1.term}`},
      )
      assert.equal(s2.leader, fresh, 'the new leader stays leader')
      assert.equal(s2.term, s1.term, 'the term does not move on rejoin')
      await assertStableFor(c, 4 * ELECTION_MS, fresh, s1.term)
    } finally {
      await c.restore()
    }
  })

  test('6. an isolated follower rejoins without an election', T, async () => {
    try {
      const s0 = await c.waitForSettled()
      const F = followerOf(s0)
      ok(await c.run(['partition', '--isolate', String(F)]), `partition --isolate ${F}`)
      // Several election timeouts cut off (a fixed wait is the point here).
      await sleep(5 * ELECTION_MS)
      const during = await c.status()
      assert.equal(during.leader, s0.leader, 'the leader keeps its majority')
      assert.equal(node(during, F).term, s0.term, 'PreVote: the isolated follower does not raise its term')
      ok(await c.run(['heal']), 'heal')
      await c.poll(
        (s) => {
          const n = node(s, F)
          return n.role === 'follower' && n.leader === s0.leader
        },
        {timeoutMs: 10_000, what: `node ${F} to follow ${s0.leader} again`},
      )
      await assertStableFor(c, 3 * ELECTION_MS, s0.leader, s0.term)
    } finally {
      await c.restore()
    }
  })

  test('7. a write commits with one follower down; the follower catches up after restart', T, async () => {
    try {
      const s0 = await c.waitForSettled()
      const F = followerOf(s0)
      const stop = await c.run(['stop', String(F)])
      ok(stop, `stop ${F}`)
      assert.match(stop.stdout, new RegExp(`Stopped node\\(s\\) ${F}`))
      await put(c, 'k7', 'v7')
      await put(c, 'k7b', 'v7b')
      const s1 = await c.status()
      assert.equal(node(s1, F).role, 'down')
      const leaderNode = node(s1, s1.leader!)
      assert.ok(leaderNode.commitIndex! > node(s0, s0.leader).commitIndex!, 'the leader committed the writes')
      ok(await c.run(['start', String(F)]), `start ${F}`)
      await c.poll(
        (s) => {
          const n = node(s, F)
          const l = node(s, s.leader ?? 0)
          return n?.up && l && n.appliedIndex! >= leaderNode.commitIndex! && n.lastIndex === l.lastIndex && n.commitIndex === l.commitIndex
        },
        {timeoutMs: 15_000, what: `node ${F} to catch up to index ${leaderNode.commitIndex}`},
      )
      await assertGet(c, 'k7', 'v7')
      await assertGet(c, 'k7b', 'v7b')
      // Every node has applied it, so a stale read from whichever node answers sees it too.
      const stale = await c.run(['get', 'k7b', '--stale'])
      ok(stale, 'get --stale')
      assert.equal(stale.stdout, 'v7b\n')
    } finally {
      await c.restore()
    }
  })

  test('8. no commit without a quorum (nodes stopped, or partitioned); recovery afterwards', T, async () => {
    try {
      const s0 = await c.waitForSettled()
      const followers = s0.nodes.filter((n) => n.id !== s0.leader).map((n) => String(n.id))
      ok(await c.run(['stop', ...followers]), `stop ${followers}`)
      const r = await c.run(['put', 'k8', 'lost?', '--timeout', '2s'])
      assert.equal(r.exitCode, 4, `put without quorum: ${r.stdout} ${r.stderr}`)
      assert.equal(r.stdout, '')
      const errLines = r.stderr.split('\n').filter((l) => l.startsWith('Error:'))
      assert.equal(errLines.length, 1, r.stderr)
      assert.equal(stackLines(r.stderr).length, 0)
      assert.ok(r.durationMs < 9000, `--timeout 2s should give up in about 2 s, took ${Math.round(r.durationMs)} ms`)

      ok(await c.run(['start', '--timeout', '20s']), 'start')
      await put(c, 'k8', 'after-restart')
      await assertGet(c, 'k8', 'after-restart')

      // The same with every node cut off from the others.
      ok(await c.run(['partition', '1', '2', '3']), 'partition 1 2 3')
      await c.poll((s) => s.nodes.every((n) => n.role !== 'leader'), {timeoutMs: 10_000, what: 'no leader'})
      const p = await c.run(['put', 'k8', 'lost-too?', '--timeout', '2s'])
      assert.equal(p.exitCode, 4, `put while partitioned: ${p.stdout} ${p.stderr}`)
      assert.equal(p.stderr.split('\n').filter((l) => l.startsWith('Error:')).length, 1, p.stderr)
      ok(await c.run(['heal']), 'heal')
      await c.waitForLeader()
      await put(c, 'k8', 'after-heal')
      await assertGet(c, 'k8', 'after-heal')
    } finally {
      await c.restore()
    }
  })

  test('9. acknowledged writes survive crashes of a follower, of the leader, and of all nodes', T, async () => {
    try {
      const written: [string, string][] = []
      const write = async (k: string, v: string) => {
        await put(c, k, v)
        written.push([k, v])
      }
      let s = await c.waitForSettled()
      await write('c1', 'before any crash')

      const F = followerOf(s)
      ok(await c.run(['stop', String(F), '--kill']), `kill follower ${F}`)
      await write('c2', 'follower down')
      ok(await c.run(['start', String(F)]), `start ${F}`)
      s = await c.waitForSettled()

      const L = s.leader
      ok(await c.run(['stop', String(L), '--kill']), `kill leader ${L}`)
      await c.waitForLeader([L])
      await write('c3', 'old leader down')
      ok(await c.run(['start', String(L)]), `start ${L}`)
      await c.waitForSettled()
      await write('c4', 'all back')

      ok(await c.run(['stop', '--kill']), 'kill all')
      const down = await c.status()
      assert.ok(
        down.nodes.every((n) => n.role === 'down' && !n.up),
        'every node is down',
      )
      ok(await c.run(['start', '--timeout', '20s']), 'start all')
      await c.waitForLeader()
      for (const [k, v] of written) await assertGet(c, k, v)
    } finally {
      await c.restore()
    }
  })

  test("10. a deposed leader's uncommitted entry is replaced; only acknowledged writes are visible", T, async () => {
    const config = loadCluster(c.dir)
    const secret = readSecret(c.dir)
    let client: ClusterClient | undefined
    try {
      const s0 = await c.waitForSettled()
      const old = s0.leader
      await put(c, 'd1', 'before isolation')
      const before = node(await c.status(), old)

      ok(await c.run(['partition', '--isolate', String(old)]), `partition --isolate ${old}`)
      // A client that knows only the isolated leader: its write reaches the old leader, which
      // cannot commit it. It must not be acknowledged.
      client = new ClusterClient({nodes: [config.nodes[old - 1]!], clusterId: config.clusterId, secret})
      await assert.rejects(client.put('d-lost', 'never acknowledged', 1500), (e) => e instanceof UnavailableError)
      const isolated = node(await c.status(), old)
      const appended = isolated.lastIndex! > before.lastIndex!
      assert.ok(appended, `the isolated leader appended the write to its log (last index ${before.lastIndex} -> ${isolated.lastIndex})`)
      assert.ok(isolated.commitIndex! < isolated.lastIndex!, 'and could not commit it')

      const s1 = await c.waitForLeader([old], {minTerm: s0.term + 1})
      await put(c, 'd2', 'on the majority')

      ok(await c.run(['heal']), 'heal')
      // The old leader's log converges with the new leader's (its uncommitted tail is replaced).
      await c.poll(
        (s) => {
          const o = node(s, old)
          const l = node(s, s.leader ?? 0)
          return (
            l &&
            s.leader === s1.leader &&
            o.leader === s1.leader &&
            o.lastIndex === l.lastIndex &&
            o.commitIndex === l.commitIndex &&
            o.appliedIndex === l.commitIndex
          )
        },
        {timeoutMs: 15_000, what: `node ${old} to converge with leader ${s1.leader}`},
      )
      await assertGet(c, 'd1', 'before isolation')
      await assertGet(c, 'd2', 'on the majority')
      const lost = await c.run(['get', 'd-lost'])
      assert.equal(lost.exitCode, 3, `the unacknowledged write must not appear: ${lost.stdout}`)
      assert.equal(lost.stdout, '')
    } finally {
      await client?.close()
      await c.restore()
    }
  })
})
