import { describe, expect, test } from 'bun:test'
import { deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { finalizeImage, imageSlots, defaultImageConcurrency } from '../../src/domain/generations/images'
import { AppError } from '../../src/lib/errors'
import { Semaphore } from '../../src/lib/semaphore'

/** A JPEG with EXIF (camera, GPS-ish comment) and orientation 6 (rotate 90°). */
async function jpegWithExif(width: number, height: number) {
  return sharp({ create: { width, height, channels: 3, background: '#3366cc' } })
    .withExif({ IFD0: { Make: 'KilnCam', Model: 'Secret 1', ImageDescription: 'home address' } })
    .withMetadata({ orientation: 6 })
    .jpeg()
    .toBuffer()
}

describe('finalizeImage', () => {
  test('WebP full image and a 400 px wide WebP thumbnail, with size facts', async () => {
    const input = await sharp({ create: { width: 1024, height: 768, channels: 3, background: '#ff8800' } }).png().toBuffer()
    const out = await finalizeImage(input)
    const [full, thumb] = await Promise.all([sharp(out.full).metadata(), sharp(out.thumb).metadata()])
    expect(full.format).toBe('webp')
    expect(thumb.format).toBe('webp')
    expect([full.width, full.height]).toEqual([1024, 768])
    expect([thumb.width, thumb.height]).toEqual([400, 300])
    expect(out).toMatchObject({ width: 1024, height: 768, bytes: out.full.byteLength })
  })

  test('orientation is applied and every piece of metadata is stripped', async () => {
    const out = await finalizeImage(await jpegWithExif(600, 300))
    const meta = await sharp(out.full).metadata()
    expect([out.width, out.height]).toEqual([300, 600]) // rotated upright
    expect(meta.exif).toBeUndefined()
    expect(meta.xmp).toBeUndefined()
    expect(meta.icc).toBeUndefined()
    expect(meta.orientation).toBeUndefined()
    expect(Buffer.from(out.full).includes('KilnCam')).toBe(false)
    expect(Buffer.from(out.thumb).includes('KilnCam')).toBe(false)
  })

  test('a pixel bomb is refused before it is decoded', async () => {
    // A valid PNG header claiming 20,000 × 20,000 pixels (400 Mpx), with 100 bytes of data behind it.
    const ihdr = Buffer.alloc(13)
    ihdr.writeUInt32BE(20_000, 0)
    ihdr.writeUInt32BE(20_000, 4)
    ihdr.set([8, 2, 0, 0, 0], 8)
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4)
      len.writeUInt32BE(data.length)
      const body = Buffer.concat([Buffer.from(type), data])
      const crc = Buffer.alloc(4)
      crc.writeUInt32BE(Bun.hash.crc32(body) >>> 0)
      return Buffer.concat([len, body, crc])
    }
    const bomb = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(100))), chunk('IEND', Buffer.alloc(0))])
    expect(bomb.length).toBeLessThan(200)
    const started = performance.now()
    const err = await finalizeImage(bomb).catch((e) => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err.errorCode).toBe('VALIDATION_ERROR')
    expect(performance.now() - started).toBeLessThan(500)
  })

  test('a real image above a lowered limit is refused too; garbage is 415', async () => {
    const big = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#000' } }).png().toBuffer()
    await expect(finalizeImage(big, { maxInputPixels: 1000 * 1000 })).rejects.toMatchObject({ errorCode: 'VALIDATION_ERROR' })
    await expect(finalizeImage(new TextEncoder().encode('not an image at all'))).rejects.toMatchObject({ errorCode: 'UNSUPPORTED_MEDIA_TYPE' })
  })

  test('runs inside the shared image slots: never more at once than the cap', async () => {
    expect(imageSlots.capacity).toBe(defaultImageConcurrency())
    expect(defaultImageConcurrency()).toBeGreaterThanOrEqual(1)
    const slots = new Semaphore(1)
    const input = await sharp({ create: { width: 512, height: 512, channels: 3, background: '#123456' } }).png().toBuffer()
    let peak = 0
    const watcher = setInterval(() => (peak = Math.max(peak, slots.running)), 1)
    await Promise.all(Array.from({ length: 4 }, () => finalizeImage(input, { slots })))
    clearInterval(watcher)
    expect(peak).toBe(1)
    expect(slots.running).toBe(0)
  })
})
