// MemoryFs keeps only what a real disk could after power loss: fsynced data and fsynced directory
// entries always survive; anything else may be lost, partly kept (a prefix), or torn.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {MemoryFs, SimulatedCrash} from '../../src/storage/memory-fs.js'
import {Prng} from '../../src/lib/prng.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

test('fsynced data in an fsynced directory survives every crash', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const fs = new MemoryFs()
    fs.mkdirp('/d')
    const fd = fs.create('/d/f')
    fs.append(fd, bytes('hello '))
    fs.fsync(fd)
    fs.fsyncDir('/d')
    fs.append(fd, bytes('world'))
    fs.crash(new Prng(seed))
    const content = text(fs.readFile('/d/f'))
    assert.ok('hello world'.startsWith(content) && content.startsWith('hello '), `seed ${seed}: ${content}`)
    assert.equal(fs.openFdCount(), 0)
  }
})

test('unsynced appends survive as a prefix, the last one possibly torn, never out of order', () => {
  const seen = new Set<string>()
  for (let seed = 1; seed <= 300; seed++) {
    const fs = new MemoryFs()
    fs.mkdirp('/d')
    const fd = fs.create('/d/f')
    fs.fsyncDir('/d')
    fs.fsync(fd)
    for (const part of ['aaaa', 'bbbb', 'cccc']) fs.append(fd, bytes(part))
    fs.crash(new Prng(seed))
    const content = text(fs.readFile('/d/f'))
    assert.ok('aaaabbbbcccc'.startsWith(content), `seed ${seed}: ${content}`)
    seen.add(content)
  }
  // Whole prefixes and torn ones both occur.
  assert.ok(seen.has('') && seen.has('aaaabbbbcccc') && seen.has('aaaabbbb'))
  assert.ok(
    [...seen].some((s) => s.length % 4 !== 0),
    'some write was torn',
  )
})

test('a created file whose directory was not fsynced may vanish; an unsynced rename may revert', () => {
  let vanished = 0
  let reverted = 0
  for (let seed = 1; seed <= 100; seed++) {
    const fs = new MemoryFs()
    fs.mkdirp('/d')
    let fd = fs.create('/d/old')
    fs.append(fd, bytes('old'))
    fs.fsync(fd)
    fs.close(fd)
    fs.fsyncDir('/d')
    fd = fs.create('/d/new.tmp')
    fs.append(fd, bytes('new'))
    fs.fsync(fd)
    fs.close(fd)
    fs.rename('/d/new.tmp', '/d/old')
    fd = fs.create('/d/other')
    fs.fsync(fd)
    fs.crash(new Prng(seed))
    const names = fs.readdir('/d')
    const old = text(fs.readFile('/d/old'))
    assert.ok(old === 'old' || old === 'new')
    if (old === 'old') reverted++
    if (!names.includes('other')) vanished++
    // rename happened before 'other' was created: a prefix of the directory's history survives
    if (names.includes('other')) assert.equal(old, 'new')
  }
  assert.ok(vanished > 0 && reverted > 0)
})

test('fsyncDir makes creates, renames and unlinks durable', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const fs = new MemoryFs()
    fs.mkdirp('/d')
    fs.setFile('/d/gone', bytes('x'))
    const fd = fs.create('/d/a')
    fs.fsync(fd)
    fs.unlink('/d/gone')
    fs.rename('/d/a', '/d/b')
    fs.fsyncDir('/d')
    fs.crash(new Prng(seed))
    assert.deepEqual(fs.readdir('/d'), ['b'])
  }
})

test('an unsynced truncation may be lost, the fsynced one is kept', () => {
  let lost = 0
  for (let seed = 1; seed <= 50; seed++) {
    const fs = new MemoryFs()
    fs.mkdirp('/d')
    fs.setFile('/d/f', bytes('0123456789'))
    const fd = fs.openAppend('/d/f')
    fs.truncate(fd, 4)
    fs.append(fd, bytes('ab'))
    fs.crash(new Prng(seed))
    const content = text(fs.readFile('/d/f'))
    assert.ok(['0123456789', '0123', '0123a', '0123ab'].includes(content), content)
    if (content === '0123456789') lost++
  }
  assert.ok(lost > 0)
})

test('armCrash kills the process at the chosen call: that call has no effect', () => {
  const fs = new MemoryFs()
  fs.mkdirp('/d')
  const fd = fs.create('/d/f')
  fs.armCrash(1)
  fs.append(fd, bytes('one'))
  assert.throws(() => fs.append(fd, bytes('two')), SimulatedCrash)
  assert.equal(text(fs.readFile('/d/f')), 'one')
  fs.crash(new Prng(3))
  assert.equal(fs.openFdCount(), 0)
  const fd2 = fs.openAppend('/d/g') // disarmed by the crash
  fs.append(fd2, bytes('x'))
})

test('kill keeps the page cache readable but not durable: a later power loss can still lose it', () => {
  let lost = 0
  for (let seed = 1; seed <= 20; seed++) {
    const fs = new MemoryFs()
    fs.mkdirp('/d')
    const fd = fs.create('/d/f')
    fs.fsync(fd)
    fs.fsyncDir('/d')
    fs.append(fd, bytes('unsynced'))
    fs.kill()
    assert.equal(fs.openFdCount(), 0)
    assert.equal(text(fs.readFile('/d/f')), 'unsynced', 'the page cache survived the kill')
    assert.ok(fs.hasPendingWrites())
    fs.crash(new Prng(seed))
    if (text(fs.readFile('/d/f')) !== 'unsynced') lost++
  }
  assert.ok(lost > 0, 'a power loss after the kill loses what was never synced')
})
