// Every fault kind end to end, on one 5-node cluster of real replica processes: `raftctl partition`
// draws bridges, rings, tethered majorities and one-way cuts, `raftctl net` slows, drops and
// duplicates messages and slows disks, status shows all of it and heal undoes it; `raftctl check`
// lists every kind and runs the partial topologies, link faults, slow disks and demotions (whole-group
// partitions, kills, pauses and the slow network are run by e2e.test.ts) with every verdict
// passing; and the negative control: with PreVote and CheckQuorum off, a tethered partition
// livelocks and the liveness verdict fails (exit 9).
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {CheckCluster, type CheckDoc} from './helpers.js'

interface Status {
  leader: number | null
  partition: {groups: number[][]; cuts?: {from: number; to: number}[]; links?: {from: number; to: number}[]} | null
  disks: {node: number; fsyncDelayMs?: number; volatile?: boolean}[]
}

describe('fault kinds on a 5-node cluster', () => {
  let c: CheckCluster
  const status = async (): Promise<Status> => JSON.parse((await c.cli(['status', '--json'])).stdout) as Status
  const ok = async (args: string[]) => {
    const r = await c.cli(args)
    assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }
  /** How long one acknowledged write takes, best of three. */
  const putMs = async () => {
    let best = Infinity
    for (let i = 0; i < 3; i++) {
      const t = performance.now()
      await ok(['put', 'probe', `v${i}`, '--timeout', '10s'])
      best = Math.min(best, performance.now() - t)
    }
    return best
  }

  before(async () => {
    c = await CheckCluster.create(5)
    await ok(['start'])
  })
  after(async () => {
    await c?.destroy()
  })

  test('partition and net draw every topology and link fault, status shows them, heal undoes them all', {timeout: 90_000}, async () => {
    const bridge = await ok(['partition', '--bridge', '3'])
    assert.match(bridge.stdout, /^Partitioned: all nodes together; one-way cuts 1>4 1>5 2>4 2>5 4>1 4>2 5>1 5>2\n/)
    assert.match((await ok(['partition', '--ring'])).stdout, /one-way cuts 1>3 1>4 2>4 2>5 3>1 3>5 4>1 4>2 5>2 5>3/)
    const teth = await ok(['partition', '--tethered', '1,2,3', '--json'])
    assert.deepEqual(
      (JSON.parse(teth.stdout) as {partition: Status['partition']}).partition!.cuts!.filter((x) => x.from === 4).map((x) => x.to),
      [2, 3, 5],
    )
    assert.equal((await c.cli(['partition', '--tethered', '1,2'])).exitCode, 2, 'not a majority')
    assert.match((await ok(['partition', '--one-way', '1:2', '--one-way', '3>1'])).stdout, /one-way cuts 1>2 3>1/)
    assert.equal((await c.cli(['partition', '--one-way', '1-2'])).exitCode, 2)

    // Link faults keep the partition; the partition keeps link faults.
    assert.match((await ok(['net', 'loss', '20%', '--link', '2:3'])).stdout, /^Network: all nodes together; one-way cuts 1>2 3>1; links 2>3: loss 20%\n/)
    await ok(['partition', '--heal'])
    assert.equal((await status()).partition, null)
    const before = await putMs()
    // 100 ms each way: a round trip stays below the 300 ms check-quorum period (the election
    // timeout), so the leader keeps leading; above it, leaders elected under the delay step down
    // before they hear back.
    assert.doesNotMatch((await ok(['net', 'delay', '100ms', '--jitter', '20ms'])).stderr, /Warning/)
    await ok(['net', 'duplicate', '10%', '--node', '4'])
    const s = await status()
    assert.equal(s.partition!.links!.length, 20)
    assert.match((await ok(['status'])).stdout, /\npartition: full connectivity; links .*delay 100ms±20ms/)
    const slow = await putMs()
    assert.ok(slow >= 150 && slow > before + 120, `a write over 100 ms links took ${slow} ms (${before} ms before)`)
    assert.match((await ok(['net'])).stdout, /^network: full connectivity; links .*delay 100ms±20ms, duplicate 10%.*\ndisks: no fault\n/)
    // A node whose round trips to its peers reach the election timeout could not keep leading:
    // said on stderr, naming it (one slow link alone is not: the others answer in time).
    assert.doesNotMatch((await ok(['net', 'delay', '150ms', '--link', '1:2'])).stderr, /Warning/)
    assert.match(
      (await ok(['net', 'delay', '150ms', '--node', '3'])).stderr,
      /^Warning: node\(s\) 3 would wait up to 300ms for a quorum's answer, at least the election timeout \(300ms\): as leader they may step down/m,
    )
    await ok(['net', 'delay', '0'])
    assert.ok(
      (await status()).partition!.links!.every((l) => !('delayMs' in l)),
      'delay 0 removes the delays',
    )
    await ok(['net', 'clear'])
    assert.equal((await status()).partition, null)

    // A slow disk on the leader slows every write (less than an election timeout, so it stays
    // the leader); heal restores it.
    const leader = String((await status()).leader)
    assert.match(
      (await ok(['net', 'slow-disk', '150ms', '--node', leader])).stdout,
      new RegExp(`^Slow disk on node\\(s\\) ${leader}: every fsync takes 150ms longer\\n`),
    )
    assert.deepEqual((await status()).disks, [{node: Number(leader), fsyncDelayMs: 150}])
    assert.match((await ok(['status'])).stdout, new RegExp(`\\ndisks: node ${leader} fsync \\+150ms\\n`))
    const disk = await putMs()
    assert.ok(disk >= 140, `a write with a 150 ms fsync on the leader took ${disk} ms`)
    const healed = await ok(['heal'])
    assert.match(healed.stdout, new RegExp(`^Healed: full connectivity; disks of node\\(s\\) ${leader} back to normal\\n`))
    assert.deepEqual((await status()).disks, [])
    // The best of three (one slow CLI start on a loaded machine is not a slow disk).
    const healedMs = Math.min(await putMs(), await putMs(), await putMs())
    assert.ok(healedMs < Math.max(300, disk - 100), `fast again after heal: ${healedMs} ms (${disk} ms with the slow disk)`)
    // Usage errors.
    for (const args of [
      ['net', 'loss', '120%'],
      ['net', 'delay'],
      ['net', 'delay', '5'],
      ['net', 'slow-disk', '1s', '--link', '1:2'],
      ['net', 'wobble', '1s'],
    ]) {
      assert.equal((await c.cli(args)).exitCode, 2, args.join(' '))
    }
  })

  test(
    'check --faults list names every kind; check runs the partial topologies, link faults and slow disks, every verdict passing',
    {timeout: 150_000},
    async () => {
      const list = await ok(['check', '--faults', 'list'])
      const kinds = ['partition', 'kill', 'pause', 'bridge', 'tethered', 'one-way', 'delay', 'loss', 'duplicate', 'slow-disk', 'member']
      assert.deepEqual(
        list.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/\s+/)[0]),
        kinds,
      )
      assert.match(list.stdout, /^delay +.*\(default\)$/m)
      const faults = 'bridge,tethered,one-way,loss,duplicate,slow-disk,delay'
      // A seed whose plan meets all six kinds in about 21 s (the partial topologies are held until
      // the cluster has settled and a while longer, for the liveness verdict).
      const r = await c.cli(['check', '--duration', '26s', '--faults', faults, '--seed', '96', '--json', '--no-report'], 140_000)
      assert.equal(r.exitCode, 0, `check failed:\n${r.stdout}\n${r.stderr}`)
      const doc = JSON.parse(r.stdout) as CheckDoc
      for (const k of faults.split(',')) assert.ok(doc.faults[k]! >= 1, `${k} never applied: ${JSON.stringify(doc.faults)}`)
      assert.deepEqual([doc.verdicts.linearizability.result, doc.verdicts.liveness.result, doc.verdicts.durability.result], ['pass', 'pass', 'pass'])
      assert.ok(doc.verdicts.liveness.windowsJudged >= 3, doc.verdicts.liveness.text)
      for (const t of [
        /nemesis: bridge \S+ <\d> \S+/,
        /nemesis: tethered: \S+ fully connected; only /,
        /nemesis: (one-way cuts|node \d is deaf)/,
        /nemesis: (lose|duplicate) \d+% of the messages/,
        /nemesis: (stall|slow) the disk of node \d/,
        /nemesis: slow network: delay/,
      ]) {
        assert.match(r.stderr, t)
      }
    },
  )

  test(
    'check --faults member demotes voters (the leader too) to learners under load and promotes them back, every verdict passing',
    {timeout: 90_000},
    async () => {
      const r = await c.cli(['check', '--duration', '9s', '--faults', 'member,delay', '--seed', '7', '--json', '--no-report'], 80_000)
      assert.equal(r.exitCode, 0, `check failed:\n${r.stdout}\n${r.stderr}`)
      const doc = JSON.parse(r.stdout) as CheckDoc
      assert.ok(doc.faults.member! >= 3, `too few demotions: ${JSON.stringify(doc.faults)}`)
      assert.deepEqual([doc.verdicts.linearizability.result, doc.verdicts.liveness.result, doc.verdicts.durability.result], ['pass', 'pass', 'pass'])
      assert.match(r.stderr, /nemesis: demote node \d \(leader\) to a learner/)
      assert.match(r.stderr, /nemesis: promote node \d back to a voter/)
      assert.deepEqual(doc.nemesisErrors, [], 'every demotion and promotion went through')
      // Every demoted node is a voter again at the end.
      const members = JSON.parse((await ok(['member', 'list', '--json'])).stdout) as {members: {id: number; role: string}[]}
      assert.deepEqual(
        members.members.map((m) => m.role),
        ['voter', 'voter', 'voter', 'voter', 'voter'],
      )
    },
  )

  test('negative control: with PreVote and CheckQuorum off a tethered partition livelocks, and liveness fails (exit 9)', {timeout: 90_000}, async () => {
    const r = await c.cli([
      'check',
      '--duration',
      '7s',
      '--faults',
      'tethered',
      '--mutant',
      'no-prevote-checkquorum',
      '--no-durability',
      '--json',
      '--no-report',
    ])
    assert.equal(r.exitCode, 9, `expected a liveness failure (exit 9):\n${r.stdout}\n${r.stderr}`)
    const doc = JSON.parse(r.stdout) as CheckDoc
    assert.equal(doc.verdicts.liveness.result, 'fail')
    assert.match(doc.verdicts.liveness.problems[0]!.what, /^tethered: /)
    // Elections one after another: leaders that do not stay, or none agreed on at all.
    assert.match(
      doc.verdicts.liveness.problems[0]!.text,
      /^(the leader did not stay: \d+ leader\(s\), terms \d+\.\.\d+|no leader in the \d+ ms after it settled)/,
    )
    assert.equal(doc.verdicts.linearizability.result, 'pass', 'liveness, not safety')
  })
})
