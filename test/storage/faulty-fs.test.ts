// The disk faults a replica's storage goes through: a volatile write cache holds appended data in
// memory until fsync (so a process that dies loses it), a slow disk holds every fsync, a stall
// holds it until the fault is lifted; the control file is read again whenever it changes.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {diskFaultsReader} from '../../src/clusterdir/disk-faults.js'
import {FaultyFs, type DiskFaults} from '../../src/storage/faulty-fs.js'
import {RealFs} from '../../src/storage/real-fs.js'
import {SegmentLogStorage} from '../../src/storage/segment-log.js'
import {range} from './helpers.js'

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'raftctl-faulty-'))
}

test('volatile: appends reach the file only with fsync (or close, truncate, a read of the file)', () => {
  const dir = tmp()
  try {
    let faults: DiskFaults = {volatile: true}
    const f = new FaultyFs(new RealFs(), () => faults)
    const file = path.join(dir, 'a')
    const fd = f.openAppend(file)
    f.append(fd, Buffer.from('one '))
    f.append(fd, Buffer.from('two '))
    assert.equal(fs.readFileSync(file, 'utf8'), '', 'nothing written before fsync')
    f.fsync(fd)
    assert.equal(fs.readFileSync(file, 'utf8'), 'one two ')
    f.append(fd, Buffer.from('three'))
    assert.equal(Buffer.from(f.readFile(file)).toString(), 'one two three', 'a read sees what was appended')
    // Off again: written at once (after what was held, in order).
    f.append(fd, Buffer.from(' four'))
    faults = {}
    f.fsync(fd)
    f.append(fd, Buffer.from(' five'))
    assert.equal(fs.readFileSync(file, 'utf8'), 'one two three four five')
    f.close(fd)
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
})

test('volatile: a SIGKILLed process loses the entries it did not fsync, keeps the ones it did', () => {
  const dir = tmp()
  try {
    fs.mkdirSync(path.join(dir, 'node-1'))
    fs.writeFileSync(path.join(dir, 'node-1', 'disk-faults.json'), JSON.stringify({volatile: true}))
    const data = path.join(dir, 'data')
    const script = `
      import {diskFaultsReader} from ${JSON.stringify(path.resolve('src/clusterdir/disk-faults.ts'))}
      import {FaultyFs} from ${JSON.stringify(path.resolve('src/storage/faulty-fs.ts'))}
      import {RealFs} from ${JSON.stringify(path.resolve('src/storage/real-fs.ts'))}
      import {SegmentLogStorage} from ${JSON.stringify(path.resolve('src/storage/segment-log.ts'))}
      import {range} from ${JSON.stringify(path.resolve('test/storage/helpers.ts'))}
      const s = new SegmentLogStorage(new FaultyFs(new RealFs(), diskFaultsReader(${JSON.stringify(dir)}, 1)), ${JSON.stringify(data)})
      s.load()
      s.append(range(1, 10, 1))
      s.sync()
      s.append(range(11, 20, 1))
      process.kill(process.pid, 'SIGKILL')
    `
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {encoding: 'utf8'})
    assert.equal(r.signal, 'SIGKILL', r.stderr)
    const s = new SegmentLogStorage(new RealFs(), data)
    assert.deepEqual(s.load().entries, range(1, 10, 1))
    s.close()
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
})

test('a slow disk holds every fsync; a stall holds it until the fault is lifted', () => {
  const dir = tmp()
  try {
    let faults: DiskFaults = {fsyncDelayMs: 80}
    let reads = 0
    const f = new FaultyFs(new RealFs(), () => {
      reads++
      return faults
    })
    const fd = f.openAppend(path.join(dir, 'b'))
    f.append(fd, Buffer.from('x'))
    let t = performance.now()
    f.fsync(fd)
    assert.ok(performance.now() - t >= 75, `fsync took ${performance.now() - t} ms`)
    // A stall that is lifted after a few looks at the control file.
    faults = {fsyncDelayMs: 60_000}
    reads = 0
    const lifted = () => {
      if (reads >= 4) faults = {}
      return faults
    }
    const g = new FaultyFs(new RealFs(), () => {
      reads++
      return lifted()
    })
    t = performance.now()
    g.fsync(fd)
    const took = performance.now() - t
    assert.ok(took >= 50 && took < 1000, `stall lifted after ${took} ms`)
    f.close(fd)
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
})

test('the control file: read again when it changes; missing or malformed means no fault', () => {
  const dir = tmp()
  try {
    fs.mkdirSync(path.join(dir, 'node-2'))
    const file = path.join(dir, 'node-2', 'disk-faults.json')
    const read = diskFaultsReader(dir, 2)
    assert.deepEqual(read(), {})
    fs.writeFileSync(file, JSON.stringify({fsyncDelayMs: 20, volatile: true}))
    assert.deepEqual(read(), {fsyncDelayMs: 20, volatile: true})
    fs.writeFileSync(file, JSON.stringify({fsyncDelayMs: 2000}))
    assert.deepEqual(read(), {fsyncDelayMs: 2000})
    fs.writeFileSync(file, '{"fsyncDelayMs": -3}')
    assert.deepEqual(read(), {})
    fs.rmSync(file)
    assert.deepEqual(read(), {})
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
})

test('a slow disk off the event loop: fsyncAsync waits out the delay on timers, the loop keeps running, and a lifted stall ends it', async () => {
  const dir = tmp()
  try {
    let faults: DiskFaults = {fsyncDelayMs: 200, volatile: true}
    const f = new FaultyFs(new RealFs(), () => faults)
    const file = path.join(dir, 'a')
    const fd = f.openAppend(file)
    f.append(fd, Buffer.from('data'))
    const started = Date.now()
    const synced = new Promise<number>((resolve, reject) => f.fsyncAsync(fd, (err) => (err ? reject(err) : resolve(Date.now() - started))))
    // The event loop is free while the fsync is held.
    const tick = await new Promise<number>((resolve) => setTimeout(() => resolve(Date.now() - started), 20))
    assert.ok(tick < 150, `a timer fired after ${tick} ms`)
    assert.equal(fs.readFileSync(file, 'utf8'), 'data', 'handed to the file at the call')
    const took = await synced
    assert.ok(took >= 190, `completed after ${took} ms`)
    // A stall (10 minutes) lifted after 100 ms ends within a poll or two.
    faults = {fsyncDelayMs: 600_000}
    const t0 = Date.now()
    const stalled = new Promise<void>((resolve, reject) => f.fsyncAsync(fd, (err) => (err ? reject(err) : resolve())))
    setTimeout(() => (faults = {}), 100)
    await stalled
    assert.ok(Date.now() - t0 < 1000, `the stall ended ${Date.now() - t0} ms after it began`)
    f.close(fd)
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
})
