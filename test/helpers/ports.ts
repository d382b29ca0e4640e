// Free ports on 127.0.0.1 for tests that start replicas: one finder shared by every test file.
import net from 'node:net'

/** Ports handed out by this process, so two clusters of one test file never share them. */
const reserved = new Set<number>()

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen({host: '127.0.0.1', port, exclusive: true}, () => srv.close(() => resolve(true)))
  })
}

/**
 * A base port P such that P+1..P+n are free on 127.0.0.1. Searches from a random start below the
 * ephemeral range (32768+) so outgoing connections do not grab our ports, and so concurrent test
 * files do not collide.
 */
export async function findBasePort(n: number): Promise<number> {
  const lo = 12_000
  const hi = 32_000
  let p = lo + Math.floor(Math.random() * (hi - lo))
  for (let attempt = 0; attempt < 500; attempt++) {
    if (p + n + 1 >= hi) p = lo
    let ok = true
    for (let i = 1; i <= n; i++) {
      if (reserved.has(p + i) || !(await portFree(p + i))) {
        ok = false
        break
      }
    }
    if (ok) {
      for (let i = 1; i <= n; i++) reserved.add(p + i)
      return p
    }
    p += n + 1 + Math.floor(Math.random() * 50)
  }
  throw new Error(`no ${n} consecutive free ports found`)
}
