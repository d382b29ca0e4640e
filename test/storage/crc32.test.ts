import {test} from 'node:test'
import assert from 'node:assert/strict'
import {crc32c} from '../../src/storage/crc32.js'

const bytes = (s: string) => new TextEncoder().encode(s)

test('crc32c matches the published check value and known vectors', () => {
  assert.equal(crc32c(bytes('123456789')), 0xe3069283)
  assert.equal(crc32c(new Uint8Array(0)), 0)
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa) // RFC 3720 B.4: 32 bytes of zeros
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43) // RFC 3720 B.4: 32 bytes of 0xff
})

test('crc32c over consecutive ranges chains to the crc of the whole, at every split point', () => {
  const data = new Uint8Array(67).map((_, i) => (i * 131 + 7) & 0xff)
  const whole = crc32c(data)
  for (let split = 0; split <= data.length; split++) {
    assert.equal(crc32c(data, split, data.length, crc32c(data, 0, split)), whole)
  }
})
