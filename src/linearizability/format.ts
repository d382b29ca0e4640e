// The canonical one-line text of a history op, used in the checker's reasons and by its callers.
import type {HistoryOp} from './history.js'

/** One-line canonical text, e.g. "c3 #17 put(k1,v9) -> ok [120..135]". */
export function formatOp(op: HistoryOp): string {
  const o = op.op
  let call: string
  switch (o.type) {
    case 'put':
      call = `put(${fmtVal(o.key)},${fmtVal(o.value)})`
      break
    case 'get':
      call = `get(${fmtVal(o.key)})`
      break
    case 'del':
      call = `del(${fmtVal(o.key)})`
      break
    case 'cas':
      call = `cas(${fmtVal(o.key)},${fmtVal(o.expected)},${fmtVal(o.value)})`
      break
  }
  const r = op.result
  let res: string
  switch (r.status) {
    case 'ok':
      res = o.type === 'get' ? `ok(${r.value == null ? 'null' : fmtVal(r.value)})` : 'ok'
      break
    case 'mismatch':
      res = `mismatch(${fmtVal(r.current)})`
      break
    default:
      res = r.status
  }
  return `c${op.client} #${op.id} ${call} -> ${res} [${fmtTime(op.invoke)}..${fmtTime(op.complete)}]`
}

/** A key or value as written in the text forms: bare when unambiguous, else JSON-quoted. */
export function fmtVal(v: string): string {
  return /^[A-Za-z0-9_.:/@+-]+$/.test(v) ? v : JSON.stringify(v)
}

function fmtTime(t: number): string {
  return t === Infinity ? 'inf' : String(t)
}
