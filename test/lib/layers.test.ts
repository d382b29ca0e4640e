// The architecture's arrows, enforced: each layer imports only the layers below it (docs/design.md), and
// the deterministic layers (core, kv, sim, linearizability, lib) touch no clock, no randomness, no OS.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

const SRC = resolve('src')

/** Which layers each layer may import (itself included). */
const ALLOWED: Record<string, string[]> = {
  lib: ['lib'],
  linearizability: ['linearizability'],
  core: ['core', 'lib'],
  kv: ['kv', 'core', 'lib'],
  storage: ['storage', 'core', 'lib'],
  transport: ['transport', 'core', 'lib'],
  protocol: ['protocol', 'kv', 'core', 'lib'],
  clusterdir: ['clusterdir', 'storage', 'transport', 'core', 'lib'],
  server: ['server', 'protocol', 'clusterdir', 'kv', 'storage', 'transport', 'core', 'lib'],
  client: ['client', 'protocol', 'transport', 'kv', 'core', 'lib'],
  sim: ['sim', 'linearizability', 'server', 'client', 'protocol', 'storage', 'transport', 'kv', 'core', 'lib'],
  cluster: ['cluster', 'client', 'protocol', 'clusterdir', 'storage', 'transport', 'core', 'lib'],
  cli: ['cli', 'cluster', 'client', 'protocol', 'clusterdir', 'transport', 'core', 'lib'],
  ui: ['ui', 'cli', 'cluster', 'client', 'protocol', 'clusterdir', 'transport', 'core', 'lib'],
  check: ['check', 'cluster', 'client', 'protocol', 'clusterdir', 'transport', 'sim', 'linearizability', 'kv', 'core', 'lib'],
  bench: ['bench', 'cluster', 'client', 'protocol', 'clusterdir', 'transport', 'core', 'lib'],
  report: ['report', 'check', 'bench', 'lib'],
  hooks: ['hooks', 'cli', 'lib'],
  commands: [
    'commands',
    'ui',
    'report',
    'check',
    'bench',
    'cli',
    'cluster',
    'client',
    'server',
    'protocol',
    'clusterdir',
    'sim',
    'linearizability',
    'transport',
    'storage',
    'kv',
    'core',
    'lib',
  ],
}
/** Deliberate exceptions to the arrows (none today). */
const EXCEPTIONS = new Set<string>([])
/** Files of pure layers that are entry points (they parse argv and print). */
const PURE_EXEMPT = new Set(['sim/cli.ts'])
const PURE = ['core', 'kv', 'sim', 'linearizability', 'lib']
const IMPURE = [
  {re: /from 'node:/, what: 'a node: module'},
  {re: /\bDate\b/, what: 'Date'},
  {re: /Math\.random/, what: 'Math.random'},
  {re: /\bset(Timeout|Interval|Immediate)\(/, what: 'timers'},
  {re: /\bprocess\./, what: 'process'},
]

function files(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  )
}

const layerOf = (file: string) => relative(SRC, file).split('/')[0]!

test('imports point downward only', () => {
  const problems: string[] = []
  for (const file of files(SRC)) {
    const layer = layerOf(file)
    const allowed = ALLOWED[layer]
    if (!allowed) {
      problems.push(`${relative(SRC, file)}: layer ${layer} is not in the architecture`)
      continue
    }
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const target = layerOf(resolve(dirname(file), m[1]!))
      const rel = relative(SRC, file)
      if (!allowed.includes(target) && !EXCEPTIONS.has(`${rel} -> ${target}`)) problems.push(`${rel} imports ${target} (${m[1]})`)
    }
  }
  assert.deepEqual(problems, [])
})

test('core, kv, sim, linearizability and lib use no node: module, clock, timer, process or Math.random', () => {
  const problems: string[] = []
  for (const file of files(SRC)) {
    const rel = relative(SRC, file)
    if (!PURE.includes(layerOf(file)) || PURE_EXEMPT.has(rel)) continue
    const code = readFileSync(file, 'utf8')
      .replace(/\/\/.*$/gm, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
    for (const {re, what} of IMPURE) if (re.test(code)) problems.push(`${rel} uses ${what}`)
  }
  assert.deepEqual(problems, [])
})

test('only the real file port in src/storage touches the operating system', () => {
  const offenders = files(join(SRC, 'storage'))
    .filter((f) => /from 'node:/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(SRC, f))
  assert.deepEqual(offenders, ['storage/real-fs.ts'])
})
