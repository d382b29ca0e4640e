// The one progress line bench's bar and check's counter draw: redrawn in place only on a terminal
// without NO_COLOR/CI, cleared before a line that stays and at the end.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {ProgressLine} from '../../src/lib/progress-line.js'

const stream = (isTTY: boolean) => {
  const out: string[] = []
  return {out, s: {isTTY, write: (t: string) => out.push(t)}}
}

test('on a terminal: redrawn in place, cleared once before a line that stays and at the end', () => {
  const {out, s} = stream(true)
  const p = new ProgressLine(s, {})
  assert.equal(p.animate, true)
  p.redraw('a')
  p.redraw('bb')
  p.line('stays')
  p.redraw('c')
  p.clear()
  p.clear()
  assert.deepEqual(out, ['\ra\x1b[K', '\rbb\x1b[K', '\r\x1b[K', 'stays\n', '\rc\x1b[K', '\r\x1b[K'])
})

test('off a terminal, or with NO_COLOR or CI: no redraw and no escape codes, only the lines', () => {
  for (const [isTTY, env] of [
    [false, {}],
    [true, {NO_COLOR: '1'}],
    [true, {CI: 'true'}],
  ] as const) {
    const {out, s} = stream(isTTY)
    const p = new ProgressLine(s, env)
    assert.equal(p.animate, false)
    p.redraw('a')
    p.line('stays')
    p.clear()
    assert.deepEqual(out, ['stays\n'], JSON.stringify(env))
  }
})
