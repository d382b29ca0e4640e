// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time and by
// inclusive time, with their share of the sampled time (idle and GC shown separately).
//   node bench/tools/prof-top.mjs FILE.cpuprofile [--top 25] [--filter src/]
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

/** The checkout this script is in (with a trailing slash): its paths are shown relative to it. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const file = process.argv[2]
if (!file) {
  console.error('usage: node bench/tools/prof-top.mjs FILE.cpuprofile [--top N]')
  process.exit(2)
}
const topIdx = process.argv.indexOf('--top')
const TOP = topIdx > 0 ? Number(process.argv[topIdx + 1]) : 25
const prof = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(prof.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

// Time per sample: timeDeltas[i] is the time before sample i.
const selfUs = new Map()
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i]
  selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0))
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

const short = (url) => {
  const path = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'nm:')
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path
}
const key = (n) => {
  const cf = n.callFrame
  return `${cf.functionName || '(anonymous)'} ${cf.url ? short(cf.url) + ':' + (cf.lineNumber + 1) : ''}`.trim()
}

const self = new Map()
const incl = new Map()
for (const [id, us] of selfUs) {
  const n = byId.get(id)
  self.set(key(n), (self.get(key(n)) ?? 0) + us)
  // Inclusive: every distinct frame key on the stack, once.
  const seen = new Set()
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur))
    if (seen.has(k)) continue
    seen.add(k)
    incl.set(k, (incl.get(k) ?? 0) + us)
  }
}
const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + '%'
const idle = self.get('(idle)') ?? 0
console.log(
  `profile ${file}: ${(total / 1e6).toFixed(1)} s sampled, idle ${pct(idle)}, GC ${pct(self.get('(garbage collector)') ?? 0)}, busy ${pct(total - idle)}`,
)
console.log(`\nTop ${TOP} by self time:`)
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
console.log(`\nTop ${TOP} by inclusive time (project and library frames):`)
for (const [k, us] of [...incl]
  .filter(([k]) => !/^\((root|program|idle)\)/.test(k))
  .sort((a, b) => b[1] - a[1])
  .slice(0, TOP)) {
  console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
}
