import { describe, expect, test } from 'bun:test'
import sharp from 'sharp'
import { composeSvg, renderImage } from '../../src/adapters/models/local-render'

const OCEAN = ['#03045e', '#0077b6', '#00b4d8', '#90e0ef', '#caf0f8']
const SUNSET = ['#ff7b00', '#ff5400', '#ff0054', '#9e0059', '#390099']
const base = { styleId: 'voxel-3d', colors: OCEAN, text: 'a cabin', seed: 1, width: 256, height: 256 }

/** Mean absolute difference of two same-sized images' RGB pixels, 0–255. */
async function diff(a: Uint8Array, b: Uint8Array): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((i) => sharp(i).removeAlpha().raw().toBuffer()))
  let sum = 0
  for (let i = 0; i < x!.length; i++) sum += Math.abs(x![i]! - y![i]!)
  return sum / x!.length
}

describe('local renderer', () => {
  // 1K sizes per aspect ratio, as the lifecycle computes them (long side 1024).
  const sizes: Array<[string, number, number]> = [
    ['1:1', 1024, 1024],
    ['4:3', 1024, 768],
    ['3:4', 768, 1024],
    ['16:9', 1024, 576],
    ['9:16', 576, 1024],
  ]
  for (const [ratio, width, height] of sizes)
    test(`renders a decodable PNG at ${ratio} (${width}×${height})`, async () => {
      for (const styleId of ['glass-morphism', 'modern']) {
        const png = await renderImage({ ...base, styleId, width, height })
        const meta = await sharp(png).metadata()
        expect(meta.format).toBe('png')
        expect([meta.width, meta.height]).toEqual([width, height])
      }
    })

  test('draws above the drawing size by scaling, at the exact asked size', async () => {
    const png = await renderImage({ ...base, width: 2048, height: 1152 })
    const meta = await sharp(png).metadata()
    expect([meta.width, meta.height]).toEqual([2048, 1152])
  })

  test('the same seed gives the same pixels; another seed another picture', async () => {
    const a = await renderImage(base)
    const b = await renderImage(base)
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true)
    expect(await diff(a, await renderImage({ ...base, seed: 2 }))).toBeGreaterThan(3)
  })

  test('the palette changes the picture', async () => {
    for (const styleId of ['minimal-icon', 'corporate'])
      expect(await diff(await renderImage({ ...base, styleId }), await renderImage({ ...base, styleId, colors: SUNSET }))).toBeGreaterThan(5)
  })

  test('3D styles and infographics look different; infographics carry the prompt as title', () => {
    const icon = composeSvg({ ...base, styleId: 'neon-glow' })
    const info = composeSvg({ ...base, styleId: 'cyberpunk', text: 'How <packets> & routes' })
    expect(icon).not.toContain('<text')
    expect(info).toContain('How &lt;packets&gt; &amp; routes')
    // every seeded style has its own look
    const ids = ['voxel-3d', 'minimal-icon', 'glass-morphism', 'neon-glow', 'toy-figurine', 'modern', 'minimal', 'corporate', 'cyberpunk', 'hand-drawn']
    expect(new Set(ids.map((styleId) => composeSvg({ ...base, styleId }).replace(/[\d.]+/g, ''))).size).toBe(ids.length)
  })

  test('Arabic titles are set from the right edge', () => {
    expect(composeSvg({ ...base, styleId: 'modern', text: 'كيف تعمل الألواح الشمسية' })).toContain('text-anchor="end"')
    expect(composeSvg({ ...base, styleId: 'modern', text: 'how solar panels work' })).not.toContain('text-anchor="end"')
  })

  test('colours that are not #rrggbb never reach the SVG', () => {
    const svg = composeSvg({ ...base, colors: ['red"/><script>alert(1)</script>', '#00ff00'] })
    expect(svg).not.toContain('script')
    expect(svg).toContain('#00ff00')
  })

  test('refuses absurd sizes', async () => {
    await expect(renderImage({ ...base, width: 100_000, height: 10 })).rejects.toThrow(RangeError)
  })
})
