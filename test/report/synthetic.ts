// A synthetic `raftctl check` run of realistic density for report tests: 4 closed-loop clients
// (~3,000 ops/s together, 1–3 ms each, timeouts while a fault is in force), a fault every 2 s
// undone a second later, a status sample every 200 ms, a leader change after each partition, a
// violation verdict on key k1 that names real ops, and sampled captured messages (heartbeats and
// their responses in the capture slots, an election after each partition).
import {Prng} from '../../src/lib/prng.js'

export interface Synthetic {
  history: string
  messages: string
  ops: number
  stuckId: number
}

export const EPOCH_MS = 1_700_000_000_000

export function syntheticRun(durationMs: number, opts: {violation?: boolean; seed?: number} = {}): Synthetic {
  const prng = new Prng(opts.seed ?? 7)
  const clients = 4
  const keys = ['t/k0', 't/k1', 't/k2']
  const quietMs = 2000
  const endMs = durationMs + quietMs
  const lines: string[] = []
  lines.push(
    JSON.stringify({
      meta: {
        version: 1,
        started: new Date(EPOCH_MS).toISOString(),
        seed: 42,
        nodes: 3,
        clients,
        keys,
        faults: ['partition', 'kill', 'pause'],
        durationMs,
        quietMs,
        opTimeoutMs: 100,
        unsafeStaleReads: false,
        timeUnit: 'ms since start',
        epochMs: EPOCH_MS,
      },
    }),
  )

  // Faults: [from, to, kind].
  const faults: [number, number, 'partition' | 'kill' | 'pause'][] = []
  for (let t = 1500, k = 0; t + 1000 < durationMs; t += 2000, k++) faults.push([t, t + 1000, (['partition', 'kill', 'pause'] as const)[k % 3]])
  const inFault = (t: number) => faults.some(([a, b]) => t >= a && t < b)
  const nemesis: {time: number; line: string}[] = []
  faults.forEach(([a, b, kind], i) => {
    const node = (i % 3) + 1
    const start =
      kind === 'partition'
        ? {
            nemesis: 'partition',
            time: a,
            took: 2.1,
            nodes: [node],
            kind: 'isolate-leader',
            groups: [[node], [1, 2, 3].filter((n) => n !== node)],
            text: `isolate leader ${node} (${node} | ${[1, 2, 3].filter((n) => n !== node).join(',')})`,
          }
        : {nemesis: kind, time: a, took: 3.5, nodes: [node], text: `${kind} node ${node}`}
    const end =
      kind === 'partition'
        ? {nemesis: 'heal', time: b, took: 1.9, nodes: [], text: 'heal the network'}
        : {nemesis: kind === 'kill' ? 'restart' : 'resume', time: b, took: 40, nodes: [node], text: `${kind === 'kill' ? 'restart' : 'resume'} node ${node}`}
    nemesis.push({time: a, line: JSON.stringify(start)}, {time: b, line: JSON.stringify(end)})
  })

  // Ops, per client back to back; written in completion order like the real history.
  const opLines: {complete: number; line: string}[] = []
  let id = 0
  const written = [0, 0, 0, 0]
  const latest = new Map<string, string>()
  const k1Ops: {id: number; invoke: number; complete: number}[] = []
  const events: {t: number; client: number}[] = Array.from({length: clients}, (_, c) => ({t: c * 0.1, client: c}))
  const procs = [0, 1, 2, 3]
  while (events.length > 0) {
    events.sort((a, b) => a.t - b.t)
    const ev = events.shift()!
    const c = ev.client
    const invoke = ev.t
    if (invoke >= endMs) continue
    const key = prng.pick(keys)
    const x = prng.next()
    const op = c % 2 === 1 || x < 0.6 ? 'get' : x < 0.85 ? 'put' : 'cas'
    const stalled = inFault(invoke) && prng.chance(0.02)
    const latency = stalled ? 100 + prng.next() * 2 : 0.4 + prng.next() * prng.next() * 4
    const complete = Math.round((invoke + latency) * 1000) / 1000
    const rec: Record<string, unknown> = {id: ++id, client: c, process: procs[c], op, key}
    if (op === 'put' || op === 'cas') {
      const value = `c${c}-${++written[c]!}`
      if (op === 'cas') rec.expected = latest.get(key) ?? 'c0-1'
      rec.value = value
      if (!stalled) latest.set(key, value)
    }
    rec.invoke = Math.round(invoke * 1000) / 1000
    rec.complete = complete
    if (stalled) {
      Object.assign(rec, op === 'get' ? {status: 'failed', error: 'unavailable'} : {status: 'indeterminate', error: 'timeout'})
      if (op !== 'get') procs[c]! += clients
    } else if (op === 'cas' && prng.chance(0.3)) {
      Object.assign(rec, {status: 'failed', error: 'mismatch', current: latest.get(key) ?? 'c0-1', node: 1})
    } else {
      Object.assign(rec, {status: 'ok', node: 1})
      if (op === 'get') rec.value = latest.get(key) ?? null
    }
    if (key === 't/k1') k1Ops.push({id: id, invoke, complete})
    opLines.push({complete, line: JSON.stringify(rec)})
    events.push({t: complete + 0.05 + prng.next() * 0.2, client: c})
  }

  // Status samples: the leader changes (term + 1) 400 ms into every partition.
  const statusLines: {time: number; line: string}[] = []
  for (let t = 0, leader = 1, term = 2; t < endMs; t += 200) {
    const p = faults.find(([a, , kind]) => kind === 'partition' && t >= a + 400 && t - 200 < a + 400)
    if (p) {
      leader = (leader % 3) + 1
      term++
    }
    const nodes = [1, 2, 3].map((n) => ({role: n === leader ? 'leader' : 'follower', term, commit: Math.round(t * 1.5)}))
    statusLines.push({time: t, line: JSON.stringify({status: {time: t, leader, term, nodes}})})
  }

  const merged = [
    ...opLines.map((o) => ({t: o.complete, line: o.line})),
    ...nemesis.map((n) => ({t: n.time, line: n.line})),
    ...statusLines.map((s) => ({t: s.time, line: s.line})),
  ]
  merged.push(
    {t: durationMs, line: JSON.stringify({phase: 'final-heal', time: durationMs})},
    {t: durationMs + 60, line: JSON.stringify({phase: 'quiet', time: durationMs + 60})},
  )
  merged.sort((a, b) => a.t - b.t)
  for (const m of merged) lines.push(m.line)

  // The verdict: a violation on t/k1 in the middle of the run (ids of real ops).
  const mid = k1Ops.findIndex((o) => o.invoke > durationMs / 2)
  const stuck = k1Ops[mid]!
  if (opts.violation !== false) {
    const placed = k1Ops.slice(mid - 6, mid).map((o) => o.id)
    const excerpt = k1Ops.slice(mid - 6, mid + 4).map((o) => o.id)
    lines.push(
      JSON.stringify({
        verdict: 'not-linearizable',
        checkedOps: id,
        violation: {
          key: 't/k1',
          reason: `not linearizable: c1 #${stuck.id} get(t/k1) -> ok(c0-3) [${stuck.invoke}..${stuck.complete}] cannot take effect in any order consistent with real time (deepest partial order placed 812 of 9000 ops, leaving t/k1=c2-9)`,
          excerpt: excerpt.map((i) => `c? #${i} ...`),
          nemesis: [],
          ops: excerpt,
          detail: {stuck: stuck.id, placed, placedCount: 812, value: 'c2-9'},
        },
      }),
    )
  } else {
    lines.push(JSON.stringify({verdict: 'linearizable', checkedOps: id}))
  }

  // Captured messages: heartbeats every 50 ms from the leader in the sampled slots, and an
  // election 400 ms into each partition (always captured).
  const msg: string[] = [JSON.stringify({capture: {mode: 'sampled', slotMs: 250, everyMs: 2000}})]
  const cap = (t: number, n: number, e: 's' | 'r', m: string) => msg.push(JSON.stringify({t: Math.round((EPOCH_MS + t) * 1000) / 1000, n, e, m}))
  for (let t = 0; t < endMs; t += 50) {
    if ((EPOCH_MS + t) % 2000 >= 250) continue
    for (const f of [2, 3]) {
      cap(t, 1, 's', `1->${f} AppendEntries t2 prev=10@2 [] commit=10`)
      cap(t + 0.3, f, 'r', `1->${f} AppendEntries t2 prev=10@2 [] commit=10`)
      cap(t + 0.5, f, 's', `${f}->1 AppendEntriesResponse t2 ok match=10`)
      cap(t + 0.8, 1, 'r', `${f}->1 AppendEntriesResponse t2 ok match=10`)
    }
  }
  for (const [a, , kind] of faults) {
    if (kind !== 'partition') continue
    const t = a + 390
    cap(t, 2, 's', '2->3 RequestVote t3 last=10@2')
    cap(t + 0.4, 3, 'r', '2->3 RequestVote t3 last=10@2')
    cap(t + 0.6, 3, 's', '3->2 RequestVoteResponse t3 granted')
    cap(t + 0.9, 2, 'r', '3->2 RequestVoteResponse t3 granted')
    cap(t, 2, 's', '2->1 RequestVote t3 last=10@2')
  }
  return {history: lines.join('\n') + '\n', messages: msg.join('\n') + '\n', ops: id, stuckId: stuck.id}
}
