// Small pure helpers the report view-models share: rounding, time bins, nemesis fault periods
// (bands), thinning a scatter to a bounded number of points while keeping each bin's spread.

export const round1 = (x: number) => Math.round(x * 10) / 10
export const round2 = (x: number) => Math.round(x * 100) / 100

/** How a fault is drawn: network cuts, link faults (delay, loss, duplication), kills, pauses, disks, the whole-cluster crash. */
export type FaultKind = 'partition' | 'net' | 'kill' | 'pause' | 'disk' | 'crash' | 'member'

/** A period a fault was in force: drawn as a coloured band on every time chart. */
export interface Band {
  from: number
  to: number
  kind: FaultKind
  text: string
  /** Held across the other faults (a slow network): drawn under them. */
  background?: boolean
  /** The fault did not fully apply (e.g. a node that did not answer). */
  error?: string
}

/** A moment drawn as a vertical line: the final heal, the quiet period, the violation, ... */
export interface Mark {
  t: number
  kind: 'final-heal' | 'quiet' | 'durability' | 'read-back' | 'violation' | 'leader'
  text: string
}

interface NemesisLike {
  nemesis: string
  time: number
  took: number
  nodes: number[]
  text: string
  kind?: string
  /** A background fault (a slow network across the others) and its end. */
  background?: boolean
  error?: string
}

/**
 * Pairs each fault with the action that undid it: a partition or a link fault with the next heal,
 * a kill of node N (or the crash of every node) with the restart of N, a pause of N with the resume
 * of N, a slow disk of N with the restore of N's disk. A fault never undone lasts to `endMs`.
 */
export function faultBands(nemesis: readonly NemesisLike[], endMs: number): Band[] {
  const open: Band[] = []
  const openNodes: number[][] = []
  const done: Band[] = []
  const close = (pred: (b: Band, nodes: number[]) => boolean, at: number) => {
    for (let i = open.length - 1; i >= 0; i--) {
      if (!pred(open[i]!, openNodes[i]!)) continue
      done.push({...open[i]!, to: Math.max(open[i]!.from, at)})
      open.splice(i, 1)
      openNodes.splice(i, 1)
    }
  }
  for (const r of [...nemesis].sort((a, b) => a.time - b.time)) {
    const end = r.time + (r.took ?? 0)
    // The end of a background fault closes its band; any other link fault opens one.
    if (r.nemesis === 'net' && r.background && r.kind === 'end') {
      close((b) => b.background === true, end)
      continue
    }
    switch (r.nemesis) {
      case 'net':
      case 'partition':
      case 'kill':
      case 'pause':
      case 'crash':
      case 'slow-disk':
      case 'demote':
        open.push({
          from: r.time,
          to: endMs,
          kind: r.nemesis === 'slow-disk' ? 'disk' : r.nemesis === 'demote' ? 'member' : (r.nemesis as FaultKind),
          text: r.text,
          ...(r.background ? {background: true} : {}),
          ...(r.error ? {error: r.error} : {}),
        })
        openNodes.push(r.nodes ?? [])
        break
      case 'heal':
        close((b) => b.kind === 'partition' || (b.kind === 'net' && !b.background), end)
        break
      case 'restart':
        close((b, nodes) => (b.kind === 'kill' || b.kind === 'crash') && nodes.some((n) => r.nodes.includes(n)), end)
        break
      case 'disk-restore':
        close((b, nodes) => b.kind === 'disk' && nodes.some((n) => r.nodes.includes(n)), end)
        break
      case 'promote':
        close((b, nodes) => b.kind === 'member' && nodes.some((n) => r.nodes.includes(n)), end)
        break
      case 'resume':
        close((b, nodes) => b.kind === 'pause' && nodes.some((n) => r.nodes.includes(n)), end)
        break
    }
  }
  close(() => true, endMs)
  return done.sort((a, b) => a.from - b.from).map((b) => ({...b, from: round1(b.from), to: round1(b.to)}))
}

/**
 * Thins points (x, y) to about `budget`: when there are more, the x range is cut into `bins` and
 * each bin keeps evenly spaced ranks of its y values, always its smallest and largest, so the
 * scatter keeps its shape, its outliers and its density per bin. Returns the kept indices, by x.
 */
export function thinScatter(xs: readonly number[], ys: readonly number[], budget: number, endMs: number, bins = 600): number[] {
  const n = xs.length
  if (n <= budget) return Array.from({length: n}, (_, i) => i).sort((a, b) => xs[a]! - xs[b]!)
  const width = Math.max(endMs, 1) / bins
  const byBin = new Map<number, number[]>()
  for (let i = 0; i < n; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(xs[i]! / width)))
    let list = byBin.get(b)
    if (!list) byBin.set(b, (list = []))
    list.push(i)
  }
  const per = Math.max(2, Math.floor(budget / byBin.size))
  const kept: number[] = []
  for (const list of byBin.values()) {
    if (list.length <= per) {
      kept.push(...list)
      continue
    }
    list.sort((a, b) => ys[a]! - ys[b]!)
    for (let k = 0; k < per; k++) kept.push(list[Math.round((k * (list.length - 1)) / (per - 1))]!)
  }
  return [...new Set(kept)].sort((a, b) => xs[a]! - xs[b]!)
}

/** Counts per fixed-width bin over [0, endMs): index = floor(t / binMs). */
export function binCounts(times: Iterable<number>, binMs: number, endMs: number): number[] {
  const out = new Array<number>(Math.max(1, Math.ceil(endMs / binMs))).fill(0)
  for (const t of times) {
    const b = Math.floor(t / binMs)
    if (b >= 0 && b < out.length) out[b]!++
  }
  return out
}
