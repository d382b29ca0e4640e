// Functions of one idea: no function, method or arrow in src/ runs over MAX_LINES lines (formatted).
// A longer one is split along its steps; the limit is the issue's, and this keeps it from drifting
// back the way the five named in #13 had grown.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import ts from 'typescript'

const SRC = resolve('src')
const MAX_LINES = 70

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  )
}

function nameOf(n: ts.FunctionLikeDeclaration): string {
  if (n.name) return n.name.getText()
  if (ts.isConstructorDeclaration(n)) return 'constructor'
  const p = n.parent
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name.getText()
  return '(anonymous)'
}

function longFunctions(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS)
  const found: string[] = []
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = src.getLineAndCharacterOfPosition(n.getStart()).line
      const last = src.getLineAndCharacterOfPosition(n.end).line
      const lines = last - first + 1
      if (lines > MAX_LINES) found.push(`${relative(resolve('.'), file)}:${first + 1} ${nameOf(n as ts.FunctionLikeDeclaration)} (${lines} lines)`)
    }
    ts.forEachChild(n, visit)
  }
  visit(src)
  return found
}

test(`no function in src/ is longer than ${MAX_LINES} lines`, () => {
  const files = sources(SRC)
  assert.ok(files.length > 50, 'the sources were found')
  const long = files.flatMap(longFunctions)
  assert.deepEqual(long, [], `split these along their steps:\n${long.join('\n')}`)
})
