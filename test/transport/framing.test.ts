import {test} from 'node:test'
import assert from 'node:assert/strict'
import {Prng} from '../../src/lib/prng.js'
import {decodeBody, DEFAULT_MAX_FRAME_BYTES, encodeBody, encodeFrame, FrameDecoder, FrameError} from '../../src/transport/framing.js'
import {sampleMessages} from './helpers.js'

function sampleValues(rand: () => number): unknown[] {
  const values: unknown[] = [...sampleMessages(1, 2), {k: 'req', id: 1, body: null}, 'x', 42, [1, [2, [3]]], {nested: {deep: true}}]
  for (let i = 0; i < 200; i++) {
    const size = Math.floor(rand() * 3000)
    values.push({k: 'res', id: i, body: {text: 'v'.repeat(size), bytes: Buffer.alloc(size % 97, i & 0xff), n: i * 1.5}})
  }
  return values
}

test('frames decode identically whatever the chunk boundaries', () => {
  const rand = (
    (p) => () =>
      p.next()
  )(new Prng(12345))
  const values = sampleValues(rand)
  const stream = Buffer.concat(values.map((v) => encodeFrame(v)))
  for (let round = 0; round < 40; round++) {
    const decoder = new FrameDecoder()
    const out: unknown[] = []
    let at = 0
    while (at < stream.length) {
      // Mix of single bytes, small splits and large slabs, including splits inside headers.
      const r = rand()
      const n = r < 0.3 ? 1 + Math.floor(rand() * 4) : r < 0.8 ? 1 + Math.floor(rand() * 500) : 1 + Math.floor(rand() * 20000)
      const {frames, error} = decoder.push(stream.subarray(at, at + n))
      assert.equal(error, null)
      out.push(...frames)
      at += n
    }
    assert.deepEqual(out, values)
    assert.equal(decoder.bufferedBytes, 0)
  }
})

test('many frames in one chunk all come out, in order', () => {
  const values = Array.from({length: 1000}, (_, i) => ({i}))
  const {frames, error} = new FrameDecoder().push(Buffer.concat(values.map((v) => encodeFrame(v))))
  assert.equal(error, null)
  assert.deepEqual(frames, values)
})

test('a 4 GiB length prefix fails at once, before any body byte is buffered', () => {
  const decoder = new FrameDecoder()
  const {frames, error} = decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))
  assert.deepEqual(frames, [])
  assert.ok(error instanceof FrameError)
  assert.equal(error.reason, 'oversized')
  assert.equal(error.declaredBytes, 0xffffffff)
  assert.match(error.message, /oversized frame \(4294967295 bytes/)
  assert.equal(decoder.bufferedBytes, 0)
  // The decoder stays failed: nothing after a bad frame is trusted.
  const again = decoder.push(encodeFrame({ok: true}))
  assert.equal(again.error, error)
  assert.deepEqual(again.frames, [])
})

test('the oversized header is caught even when its 4 bytes arrive one by one', () => {
  const decoder = new FrameDecoder({maxFrameBytes: 1000})
  for (const b of [0x00, 0x00, 0x03]) assert.equal(decoder.push(Buffer.from([b])).error, null)
  const {error} = decoder.push(Buffer.from([0xe9])) // 1001
  assert.equal(error?.reason, 'oversized')
})

test('a frame exactly at the limit passes; one byte more fails', () => {
  const limit = 1024
  // A msgpack str8 of length L encodes in L + 2 bytes.
  const atLimit = 'a'.repeat(limit - 3)
  assert.equal(encodeBody(atLimit).length, limit)
  const ok = new FrameDecoder({maxFrameBytes: limit}).push(encodeFrame(atLimit, limit))
  assert.equal(ok.error, null)
  assert.deepEqual(ok.frames, [atLimit])

  const over = 'a'.repeat(limit - 2)
  assert.throws(
    () => encodeFrame(over, limit),
    (e: unknown) => e instanceof FrameError && e.reason === 'oversized',
  )
  const bad = new FrameDecoder({maxFrameBytes: limit}).push(encodeFrame(over))
  assert.equal(bad.error?.reason, 'oversized')
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 16 * 1024 * 1024)
})

test('garbage bodies, empty frames and trailing bytes are malformed', () => {
  const withBody = (body: Buffer): Buffer => {
    const h = Buffer.alloc(4)
    h.writeUInt32BE(body.length)
    return Buffer.concat([h, body])
  }
  assert.equal(new FrameDecoder().push(Buffer.alloc(4)).error?.reason, 'empty')
  assert.equal(new FrameDecoder().push(withBody(Buffer.from([0xd9]))).error?.reason, 'malformed') // str8 without its length
  assert.equal(new FrameDecoder().push(withBody(Buffer.from([0x92, 0x01]))).error?.reason, 'malformed') // truncated array
  assert.equal(new FrameDecoder().push(withBody(Buffer.from([0x01, 0x02]))).error?.reason, 'malformed') // trailing byte
  // Frames before the bad one are still delivered.
  const r = new FrameDecoder().push(Buffer.concat([encodeFrame('first'), withBody(Buffer.from([0xd9]))]))
  assert.deepEqual(r.frames, ['first'])
  assert.equal(r.error?.reason, 'malformed')
  assert.throws(() => decodeBody(Buffer.alloc(0)), FrameError)
})

test('random byte soup never throws out of the decoder', () => {
  const rand = (
    (p) => () =>
      p.next()
  )(new Prng(99))
  for (let i = 0; i < 500; i++) {
    const decoder = new FrameDecoder({maxFrameBytes: 4096})
    const bytes = Buffer.from(Array.from({length: 5 + Math.floor(rand() * 300)}, () => Math.floor(rand() * 256)))
    // Force a plausible length so the body is really parsed half the time.
    if (i % 2 === 0) bytes.writeUInt32BE(bytes.length - 4, 0)
    const r = decoder.push(bytes)
    assert.ok(r.error === null || r.error instanceof FrameError)
  }
})

test('decoded binary values do not pin the chunk they came in', () => {
  const frame = encodeFrame({b: Buffer.from([1, 2, 3])})
  const chunk = Buffer.concat([frame, Buffer.alloc(60000)]).subarray(0, frame.length)
  const [v] = new FrameDecoder().push(chunk).frames as [{b: Buffer}]
  assert.deepEqual([...v.b], [1, 2, 3])
  assert.ok(v.b.buffer.byteLength < 60000)
})
