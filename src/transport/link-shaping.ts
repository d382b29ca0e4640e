// What a faulty link does to one message (LinkFault, link-filter.ts): lose it, deliver it once,
// or twice, each copy after the link's delay varied by its jitter. Pure (the random source is a
// parameter), so the rule is tested apart from the sockets; PeerTransport applies it to every
// outbound message of a link with a fault.
import type {LinkFault} from './link-filter.js'

/**
 * The delays (ms) after which copies of a message go out: [] when it is lost, one delay, or two
 * when it is duplicated. A delay is `delayMs` plus uniform jitter in [-jitterMs, +jitterMs],
 * never below 0; copies with different delays may overtake other messages (as with netem).
 */
export function shapeMessage(f: LinkFault, random: () => number): number[] {
  if (f.loss !== undefined && random() < f.loss) return []
  const copies = f.duplicate !== undefined && random() < f.duplicate ? 2 : 1
  const out: number[] = []
  for (let i = 0; i < copies; i++) out.push(delayOf(f, random))
  return out
}

function delayOf(f: LinkFault, random: () => number): number {
  const base = f.delayMs ?? 0
  const jitter = f.jitterMs ?? 0
  return Math.max(0, base + (jitter > 0 ? (random() * 2 - 1) * jitter : 0))
}
