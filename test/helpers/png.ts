// A minimal PNG decoder for tests that look at screenshots: 8-bit RGB or RGBA, not interlaced
// (what headless Chromium writes). Returns the pixels as RGBA.
import {inflateSync} from 'node:zlib'

export interface Image {
  width: number
  height: number
  /** RGBA, row by row. */
  data: Uint8Array
}

export function decodePng(buf: Buffer): Image {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let off = 8
  let width = 0
  let height = 0
  let colorType = 0
  const idat: Buffer[] = []
  while (off < buf.length) {
    const len = buf.readUInt32BE(off)
    const type = buf.toString('latin1', off + 4, off + 8)
    const body = buf.subarray(off + 8, off + 8 + len)
    if (type === 'IHDR') {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      const depth = body[8]
      colorType = body[9]!
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || body[12] !== 0)
        throw new Error(`unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${body[12]})`)
    } else if (type === 'IDAT') {
      idat.push(body)
    } else if (type === 'IEND') {
      break
    }
    off += 12 + len
  }
  const bpp = colorType === 6 ? 4 : 3
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * bpp
  const out = new Uint8Array(width * height * 4)
  let prev = new Uint8Array(stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const cur = new Uint8Array(stride)
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0
      const b = prev[i]!
      const c = i >= bpp ? prev[i - bpp]! : 0
      let p: number
      switch (filter) {
        case 0:
          p = 0
          break
        case 1:
          p = a
          break
        case 2:
          p = b
          break
        case 3:
          p = (a + b) >> 1
          break
        case 4: {
          const pa = Math.abs(b - c)
          const pb = Math.abs(a - c)
          const pc = Math.abs(a + b - 2 * c)
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
          break
        }
        default:
          throw new Error(`bad PNG filter ${filter}`)
      }
      cur[i] = (line[i]! + p) & 0xff
    }
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4
      out[o] = cur[x * bpp]!
      out[o + 1] = cur[x * bpp + 1]!
      out[o + 2] = cur[x * bpp + 2]!
      out[o + 3] = bpp === 4 ? cur[x * bpp + 3]! : 255
    }
    prev = cur
  }
  return {width, height, data: out}
}

/** How many pixels are within `tolerance` (per channel) of the colour `hex` (#rrggbb). */
export function countColour(img: Image, hex: string, tolerance = 6): number {
  const r = parseInt(hex.slice(1, 3), 16)
  const g = parseInt(hex.slice(3, 5), 16)
  const b = parseInt(hex.slice(5, 7), 16)
  let n = 0
  for (let i = 0; i < img.data.length; i += 4) {
    if (Math.abs(img.data[i]! - r) <= tolerance && Math.abs(img.data[i + 1]! - g) <= tolerance && Math.abs(img.data[i + 2]! - b) <= tolerance) n++
  }
  return n
}

/** Distinct colours (quantised to 16 levels per channel): a blank page has one or two. */
export function distinctColours(img: Image): number {
  const seen = new Set<number>()
  for (let i = 0; i < img.data.length; i += 4) seen.add(((img.data[i]! >> 4) << 8) | ((img.data[i + 1]! >> 4) << 4) | (img.data[i + 2]! >> 4))
  return seen.size
}
