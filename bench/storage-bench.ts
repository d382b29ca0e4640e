// Storage benchmark on real files (RealFs) in a temporary directory, removed afterwards.
//   node --expose-gc --import tsx bench/storage-bench.ts [--entries 1000000] [--seconds 2]
// (--expose-gc is optional: it lets each load run start without the previous run's garbage.)
// 1. append throughput with one sync (fdatasync) per batch, batches of 1, 16 and 128 entries
//    carrying ~100-byte values, alternating with the raw device's write+fdatasync rate;
// 2. restart time (load) with N entries in 64 MiB segments, without a snapshot and with a snapshot
//    at N-1000 (segments below it deleted, so only the segment straddling it is read).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {performance} from 'node:perf_hooks'
import {pack} from 'msgpackr'
import type {Entry} from '../src/core/types.js'
import {RealFs} from '../src/storage/real-fs.js'
import {SegmentLogStorage} from '../src/storage/segment-log.js'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const ENTRIES = arg('entries', 1_000_000)
const SECONDS = arg('seconds', 4)
const VALUE = 'v'.repeat(100)

function makeEntries(from: number, count: number, term = 1): Entry[] {
  const out: Entry[] = new Array(count)
  for (let i = 0; i < count; i++) out[i] = {term, index: from + i, type: 'normal', data: {op: 'put', key: `k${from + i}`, value: VALUE}}
  return out
}

function dirSize(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, n) => sum + fs.statSync(path.join(dir, n)).size, 0)
}

function open(dir: string): {storage: SegmentLogStorage; loadMs: number; loadCpuMs: number; entries: number} {
  const storage = new SegmentLogStorage(new RealFs(), dir, {log: (l) => console.log(`  [log] ${l}`)})
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const state = storage.load()
  const cpu = process.cpuUsage(c0)
  return {storage, loadMs: performance.now() - t0, loadCpuMs: (cpu.user + cpu.system) / 1000, entries: state.entries.length}
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-bench-'))
const rows: string[][] = []
try {
  // 1. append throughput, measured in alternating slices against the raw device figure: the same
  //    bytes written with one writeSync + fdatasync per batch and no storage code. fsync latency on
  //    shared virtual disks drifts within seconds; alternating gives both the same conditions.
  const recordBytes = 8 + (pack(makeEntries(1, 1)[0]) as Uint8Array).length
  const SLICES = 10
  for (const batch of [1, 16, 128]) {
    const dir = path.join(root, `append-${batch}`)
    const {storage} = open(dir)
    const rawFd = fs.openSync(path.join(root, `raw-${batch}`), 'a')
    const rawBuf = Buffer.alloc(recordBytes * batch, 7)
    let next = 1
    let batches = 0
    let rawSyncs = 0
    let storageMs = 0
    let rawMs = 0
    const sliceMs = (SECONDS * 1000) / SLICES
    for (let slice = 0; slice < SLICES; slice++) {
      let t0 = performance.now()
      while (performance.now() - t0 < sliceMs) {
        fs.writeSync(rawFd, rawBuf)
        fs.fdatasyncSync(rawFd)
        rawSyncs++
      }
      rawMs += performance.now() - t0
      t0 = performance.now()
      while (performance.now() - t0 < sliceMs) {
        storage.append(makeEntries(next, batch))
        storage.sync()
        next += batch
        batches++
      }
      storageMs += performance.now() - t0
    }
    storage.close()
    fs.closeSync(rawFd)
    const perSec = (n: number, ms: number) => Math.round((n * 1000) / ms).toLocaleString('en-US')
    rows.push([
      `append + sync, batch ${batch}`,
      `${perSec(next - 1, storageMs)} entries/s`,
      `${perSec(batches, storageMs)} syncs/s, ${(storageMs / batches).toFixed(2)} ms/batch; raw device, same bytes: ` +
        `${perSec(rawSyncs, rawMs)} syncs/s, ${(rawMs / rawSyncs).toFixed(2)} ms/sync`,
    ])
    console.log(rows.at(-1)!.join(' | '))
  }

  // CPU cost of the append path alone (encode, checksum, one write per call), no fsync.
  {
    const dir = path.join(root, 'append-nosync')
    const {storage} = open(dir)
    const N = 1000
    const batches = Array.from({length: N + 100}, (_, b) => makeEntries(b * 128 + 1, 128))
    for (const b of batches.slice(0, 100)) storage.append(b) // warm-up
    const t0 = performance.now()
    for (const b of batches.slice(100)) storage.append(b)
    const elapsed = performance.now() - t0
    storage.close()
    rows.push([
      'append without sync, batch 128',
      `${Math.round((N * 128 * 1000) / elapsed).toLocaleString('en-US')} entries/s`,
      `${((elapsed * 1000) / (N * 128)).toFixed(2)} µs/entry: encoding + crc + one write per call`,
    ])
    console.log(rows.at(-1)!.join(' | '))
  }

  // 2. restart time
  const dir = path.join(root, 'load')
  {
    const {storage} = open(dir)
    const t0 = performance.now()
    for (let i = 1; i <= ENTRIES; i += 1000) {
      storage.append(makeEntries(i, Math.min(1000, ENTRIES - i + 1)))
      storage.sync()
    }
    storage.setHardState({currentTerm: 1, votedFor: 1, commitIndex: ENTRIES})
    storage.close()
    const ms = performance.now() - t0
    const segments = fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).length
    rows.push([
      `write ${ENTRIES.toLocaleString('en-US')} entries (batches of 1000)`,
      `${(ms / 1000).toFixed(2)} s`,
      `${(dirSize(dir) / 1e6).toFixed(1)} MB in ${segments} segments`,
    ])
    console.log(rows.at(-1)!.join(' | '))
  }
  const measureLoad = (label: string, expected: number): void => {
    const runs: {wall: number; cpu: number}[] = []
    for (let run = 0; run < 3; run++) {
      ;(globalThis as {gc?: () => void}).gc?.() // start each run without the previous one's garbage
      const r = open(dir)
      if (r.entries !== expected) throw new Error(`loaded ${r.entries} entries, expected ${expected}`)
      r.storage.close()
      runs.push({wall: r.loadMs, cpu: r.loadCpuMs})
    }
    runs.sort((a, b) => a.wall - b.wall)
    rows.push([
      label,
      `${runs[1]!.wall.toFixed(0)} ms (median of 3)`,
      `wall ${runs.map((t) => t.wall.toFixed(0)).join(', ')} ms; cpu ${runs.map((t) => t.cpu.toFixed(0)).join(', ')} ms; ` +
        `${expected.toLocaleString('en-US')} entries returned`,
    ])
    console.log(rows.at(-1)!.join(' | '))
  }
  measureLoad(`load ${ENTRIES.toLocaleString('en-US')} entries, no snapshot`, ENTRIES)
  {
    const {storage} = open(dir)
    const snapIndex = ENTRIES - 1000
    storage.saveSnapshot({lastIncludedIndex: snapIndex, lastIncludedTerm: 1, data: {note: 'bench'}}, false)
    storage.close()
  }
  const segmentsLeft = fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).length
  measureLoad(`load with snapshot at ${(ENTRIES - 1000).toLocaleString('en-US')} (${segmentsLeft} segment left)`, 1000)

  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)))
  console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}, tmpdir ${os.tmpdir()}`)
  console.log(`| ${['measurement', 'result', 'detail'].map((h, i) => h.padEnd(widths[i]!)).join(' | ')} |`)
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`)
  for (const r of rows) console.log(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`)
} finally {
  fs.rmSync(root, {recursive: true, force: true})
}
