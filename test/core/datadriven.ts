// Scripted tests in the "datadriven" format of etcd-io/raft's testdata/*.txt (from
// cockroachdb/datadriven): a script is a sequence of directives, each a command line, optional
// input lines, a `----` line, then the expected output up to the next blank line:
//
//     # comment lines and blank lines between directives are ignored
//     tick 2 n=10
//     ----
//     expected output
//
// `runScript` runs every directive through a handler and compares its output with the expected
// one; a mismatch fails naming the file and line, with a line diff. With `update` it rewrites the
// expected outputs in place instead (everything else in the file is kept as it is), so that a
// change of behaviour becomes a readable diff of the script. Outputs never hold a blank line.
// Knows nothing of Raft: the verbs live in interaction.ts. Not a test file itself.
import {readFileSync, writeFileSync} from 'node:fs'

/** A problem with a script (its syntax, an unknown verb, a bad argument) or a mismatch. */
export class ScriptError extends Error {
  override name = 'ScriptError'
}

export interface Token {
  /** `key=value` has a key; a bare word has none. */
  key?: string
  value: string
}

export interface Directive {
  /** 1-based line number of the command. */
  line: number
  /** The command line as written. */
  text: string
  verb: string
  tokens: Token[]
  /** The lines between the command and `----`. */
  input: string[]
  expected: string
  /** 0-based range [outStart, outEnd) of the lines holding the expected output. */
  outStart: number
  outEnd: number
}

export function tokenize(line: string): {verb: string; tokens: Token[]} {
  const [verb = '', ...words] = line.trim().split(/\s+/)
  const tokens = words.map((w): Token => {
    const eq = w.indexOf('=')
    if (eq < 0) return {value: w}
    if (eq === 0 || eq === w.length - 1) throw new ScriptError(`malformed argument "${w}" (want key=value)`)
    return {key: w.slice(0, eq), value: w.slice(eq + 1)}
  })
  return {verb, tokens}
}

export function parseScript(text: string, file: string): Directive[] {
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  const at = (i: number) => `${file}:${i + 1}`
  const out: Directive[] = []
  let i = 0
  while (i < lines.length) {
    const cmd = lines[i]!
    if (cmd.trim() === '' || cmd.startsWith('#')) {
      i++
      continue
    }
    if (cmd === '----') throw new ScriptError(`${at(i)}: ---- without a command before it`)
    const line = i
    let parsed
    try {
      parsed = tokenize(cmd)
    } catch (e) {
      throw new ScriptError(`${at(line)}: ${(e as Error).message}`)
    }
    const input: string[] = []
    for (i++; i < lines.length && lines[i] !== '----'; i++) {
      if (lines[i]!.trim() === '') throw new ScriptError(`${at(line)}: "${cmd}" has no ---- line before the blank line ${i + 1}`)
      input.push(lines[i]!)
    }
    if (i === lines.length) throw new ScriptError(`${at(line)}: "${cmd}" has no ---- line before the end of the file`)
    const outStart = ++i
    while (i < lines.length && lines[i]!.trim() !== '') i++
    out.push({line: line + 1, text: cmd, ...parsed, input, expected: lines.slice(outStart, i).join('\n'), outStart, outEnd: i})
  }
  return out
}

/** The script with each directive's expected output replaced by `outputs[k]`. */
export function rewriteScript(text: string, directives: Directive[], outputs: string[]): string {
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  const out: string[] = []
  let pos = 0
  directives.forEach((d, k) => {
    out.push(...lines.slice(pos, d.outStart))
    if (outputs[k] !== '') out.push(...outputs[k]!.split('\n'))
    pos = d.outEnd
  })
  out.push(...lines.slice(pos))
  return out.join('\n') + '\n'
}

/** Trailing spaces and trailing empty lines dropped; a blank line inside is a bug of the verb. */
function normalize(output: string): string {
  const lines = output.split('\n').map((l) => l.trimEnd())
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.includes('')) throw new Error('the output holds a blank line, which the script format cannot hold')
  return lines.join('\n')
}

/** A line diff of two texts: `- ` only in expected, `+ ` only in actual, `  ` both; context around changes. */
export function diff(expected: string, actual: string, context = 3): string {
  const a = expected === '' ? [] : expected.split('\n')
  const b = actual === '' ? [] : actual.split('\n')
  // lcs[i][j]: length of a longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({length: a.length + 1}, () => new Array<number>(b.length + 1).fill(0))
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const ops: {op: ' ' | '-' | '+'; line: string}[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({op: ' ', line: a[i++]!})
      j++
    } else if (j === b.length || (i < a.length && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({op: '-', line: a[i++]!})
    else ops.push({op: '+', line: b[j++]!})
  }
  const near = ops.map((_, k) => ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.op !== ' '))
  const shown: string[] = []
  ops.forEach((o, k) => {
    if (near[k]) shown.push(`${o.op} ${o.line}`)
    else if (k === 0 || near[k - 1]) shown.push('  ...')
  })
  return shown.join('\n')
}

export interface RunOptions {
  /** Rewrite the expected outputs with the actual ones instead of comparing. */
  update?: boolean
  /** The file's name in messages (default: the path). */
  name?: string
}

/**
 * Runs a script file: each directive through `handler` (a fresh one per file is the caller's
 * business), output compared with the expected one, or rewritten in place with `update`.
 * Every failure names the file and the line of the directive.
 */
export function runScript(path: string, handler: (d: Directive) => string, opts: RunOptions = {}): void {
  const name = opts.name ?? path
  const text = readFileSync(path, 'utf8')
  const directives = parseScript(text, name)
  const outputs: string[] = []
  for (const d of directives) {
    let actual: string
    try {
      actual = normalize(handler(d))
    } catch (e) {
      const err = e as Error
      throw new ScriptError(`${name}:${d.line}: "${d.text}": ${err.message}`, {cause: err})
    }
    if (!opts.update && actual !== d.expected) {
      throw new ScriptError(
        `${name}:${d.line}: the output of "${d.text}" differs (- expected, + actual):\n${diff(d.expected, actual)}\n` +
          'If the new behaviour is right, rewrite the expected outputs: UPDATE=1 npm test -- test/core/interaction.test.ts',
      )
    }
    outputs.push(actual)
  }
  if (opts.update) {
    const rewritten = rewriteScript(text, directives, outputs)
    if (rewritten !== text) writeFileSync(path, rewritten)
  }
}

/** The arguments of one directive, read by name; whatever was not read is an error (a typo). */
export class Args {
  private readonly used = new Set<number>()

  constructor(
    readonly verb: string,
    private readonly tokens: Token[],
  ) {}

  /** The bare words, in order. */
  words(): string[] {
    const out: string[] = []
    this.tokens.forEach((t, k) => {
      if (t.key === undefined) {
        this.used.add(k)
        out.push(t.value)
      }
    })
    return out
  }

  get(key: string): string | undefined {
    const k = this.tokens.findIndex((t) => t.key === key)
    if (k < 0) return undefined
    if (this.tokens.findIndex((t, k2) => k2 > k && t.key === key) >= 0) throw new ScriptError(`${key}= given twice`)
    this.used.add(k)
    return this.tokens[k]!.value
  }

  int(key: string, dflt?: number): number {
    const v = this.get(key)
    if (v === undefined) {
      if (dflt === undefined) throw new ScriptError(`${this.verb} needs ${key}=N`)
      return dflt
    }
    return toInt(v, key)
  }

  /** A comma-separated list (`type=A,B`), or undefined when not given. */
  list(key: string): string[] | undefined {
    const v = this.get(key)
    return v === undefined ? undefined : v.split(',')
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.get(key)
    if (v === undefined) return dflt
    if (v !== 'true' && v !== 'false') throw new ScriptError(`${key}= must be true or false, not "${v}"`)
    return v === 'true'
  }

  /** Fails on any argument no one asked for. */
  done(): void {
    const left = this.tokens.filter((_, k) => !this.used.has(k))
    if (left.length > 0) {
      const names = left.map((t) => (t.key === undefined ? `"${t.value}"` : `${t.key}=`)).join(', ')
      throw new ScriptError(`${this.verb} does not take ${names}`)
    }
  }
}

export function toInt(v: string, what: string): number {
  if (!/^-?\d+$/.test(v)) throw new ScriptError(`${what} must be a whole number, not "${v}"`)
  return Number(v)
}
