// The report code (and uPlot) stays off the CLI's start-up path: no command file, and not the
// get/put fast path, imports it statically; check, bench and report load it with import() when
// they write a report.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

const SRC = resolve('src')

/** Every source file reachable from `entry` through static imports. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*'([^']+)'/gm)) {
      const spec = m[1]!
      if (!spec.startsWith('.')) {
        seen.add(spec)
        continue
      }
      const target = resolve(dirname(file), spec).replace(/\.js$/, '')
      for (const ext of ['.ts', '.tsx']) {
        try {
          readFileSync(target + ext)
          visit(target + ext)
          break
        } catch {
          // try the next extension
        }
      }
    }
  }
  visit(entry)
  return seen
}

test('no command and not the get/put fast path imports the report code or uPlot statically', () => {
  const entries = [
    join(SRC, 'cli/fast-path.ts'),
    ...readdirSync(join(SRC, 'commands'), {recursive: true, encoding: 'utf8'})
      .filter((f) => /\.tsx?$/.test(f))
      .map((f) => join(SRC, 'commands', f)),
  ]
  const offenders: string[] = []
  for (const entry of entries) {
    for (const f of staticClosure(entry)) {
      if (f.startsWith(join(SRC, 'report')) || f === 'uplot') offenders.push(`${relative(SRC, entry)} -> ${f.startsWith('/') ? relative(SRC, f) : f}`)
    }
  }
  assert.deepEqual(offenders, [])
  // ...and the commands that write reports do load it, lazily.
  for (const c of ['check', 'bench', 'report'])
    assert.match(readFileSync(join(SRC, 'commands', `${c}.ts`), 'utf8'), /await import\('\.\.\/report\/write\.js'\)/)
})
