// The violating key's history around the operation that cannot be placed, drawn Porcupine-style:
// one row per process, each op a bar from invoke to completion (an indeterminate op open to the
// right: it may take effect any time after its invoke), the ops of the deepest partial
// linearization green and numbered in linearization order, the op that cannot be placed red with
// the violation marker above it, everything else grey; labels give the values involved. Pure.
import type {ViolationView} from './check-model.js'

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export const ROLE_COLOURS = {stuck: '#d62728', placed: '#2ca02c', context: '#9aa5b1'} as const

export function violationSvg(v: ViolationView): string {
  const processes = [...new Set(v.ops.map((o) => o.process))].sort((a, b) => a - b)
  const row = 34
  const left = 90
  const top = 46
  const width = 1100
  const plotW = width - left - 20
  const height = top + processes.length * row + 24
  const span = Math.max(1e-3, v.to - v.from)
  const x = (t: number) => left + ((Math.min(v.to, Math.max(v.from, t)) - v.from) / span) * plotW
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="violation" id="violation-svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
  ]
  for (let k = 0; k <= 8; k++) {
    const t = v.from + (span * k) / 8
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${top - 6}" y2="${height - 20}" stroke="#eee"/><text x="${x(t)}" y="${height - 6}" text-anchor="middle" font-size="11" fill="#555">${t.toFixed(1)} ms</text>`,
    )
  }
  processes.forEach((p, i) => {
    const client = v.ops.find((o) => o.process === p)?.client
    parts.push(`<text x="${left - 8}" y="${top + i * row + row / 2 + 4}" text-anchor="end" font-size="12">p${p} (c${client})</text>`)
  })
  for (const o of v.ops) {
    const i = processes.indexOf(o.process)
    const y0 = top + i * row + 5
    const x1 = x(o.invoke)
    const open = o.complete === null
    const x2 = open ? left + plotW : Math.max(x1 + 2, x(o.complete!))
    const fill = ROLE_COLOURS[o.role]
    const label = `${o.order !== undefined ? `${o.order}. ` : ''}${o.label}`
    parts.push(
      `<g class="op op-${o.role}" data-op="${o.id}"><rect x="${x1}" y="${y0}" width="${x2 - x1}" height="${row - 10}" rx="3" fill="${fill}" fill-opacity="${open ? 0.35 : 0.85}"${open ? ' stroke-dasharray="4 3"' : ''} stroke="${fill}"/>` +
        `<text x="${x1 + 3}" y="${y0 + row / 2 + 1}" font-size="11" fill="${o.role === 'context' && !open ? '#222' : '#000'}">${esc(label)}</text><title>${esc(o.text)}${o.role === 'stuck' ? ' — cannot be placed' : o.role === 'placed' ? ` — placed ${o.order}` : ''}</title></g>`,
    )
  }
  if (v.stuck) {
    const xs = x(v.stuck.invoke)
    parts.push(
      `<g id="violation-marker" data-op="${v.stuck.id}"><line x1="${xs}" x2="${xs}" y1="${top - 10}" y2="${height - 20}" stroke="${ROLE_COLOURS.stuck}" stroke-width="2"/>` +
        `<path d="M${xs - 8},${top - 28}L${xs + 8},${top - 28}L${xs},${top - 12}z" fill="${ROLE_COLOURS.stuck}"/>` +
        `<text x="${xs > width - 220 ? xs - 12 : xs + 12}" y="${top - 16}" text-anchor="${xs > width - 220 ? 'end' : 'start'}" font-size="12" font-weight="bold" fill="${ROLE_COLOURS.stuck}">#${v.stuck.id} cannot be placed</text></g>`,
    )
  }
  parts.push('</svg>')
  return parts.join('')
}
