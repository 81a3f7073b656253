/**
 * The local renderer: composes an SVG from style, colours, prompt and seed
 * and rasterises it with sharp at the requested size. The same inputs always
 * give the same pixels, so a job rendered again after a restart is unchanged.
 */
import { loadSharp } from '../../lib/sharp'
import { canvasFor, cleanColors, hash32, rng } from './local-paint'
import { type SceneInput, glass, minimalIcon, neon, toy, voxel } from './local-scenes-3d'
import { infographic } from './local-scenes-info'

export interface RenderRequest {
  styleId: string
  /** When omitted, known 3D styles draw as 3D and everything else as an infographic. */
  kind?: '3d' | 'infographic'
  colors: readonly string[]
  /** The user's own text: the title of an infographic. */
  text: string
  seed: number
  width: number
  height: number
}

const SCENES_3D: Record<string, (input: SceneInput) => string> = {
  'voxel-3d': voxel,
  'minimal-icon': minimalIcon,
  'glass-morphism': glass,
  'neon-glow': neon,
  'toy-figurine': toy,
}

const FALLBACK_COLORS = ['#264653', '#2a9d8f', '#e9c46a', '#f4a261', '#e76f51']

/** Largest side the renderer accepts: 4K output, with room for odd aspect ratios. */
export const MAX_RENDER_SIDE = 8192

/**
 * Long side at which the SVG is drawn before sharp scales it to the asked size.
 * librsvg's blur filters grow with the square of the blur radius times the
 * area: a 4K glass scene took 36 s drawn directly, under a second this way.
 */
export const DRAW_LONG_SIDE = 1024

function drawSize(width: number, height: number): { width: number; height: number } {
  const k = Math.min(1, DRAW_LONG_SIDE / Math.max(width, height))
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) }
}

/** The SVG document for a request (exported for tests and previews). */
export function composeSvg(req: RenderRequest): string {
  const c = canvasFor(req.width, req.height)
  const px = drawSize(req.width, req.height)
  // Mixing the style into the seed keeps two styles with the same seed from sharing a layout.
  const r = rng((req.seed ^ hash32(req.styleId)) >>> 0)
  const colors = cleanColors(req.colors, FALLBACK_COLORS)
  const kind = req.kind ?? (req.styleId in SCENES_3D ? '3d' : 'infographic')
  const scene = kind === '3d' ? (SCENES_3D[req.styleId] ?? minimalIcon)({ c, r, colors }) : infographic(req.styleId, req.text, { c, r, colors })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${px.width}" height="${px.height}" viewBox="0 0 ${c.w} ${c.h}" preserveAspectRatio="none">${scene}</svg>`
}

/** Renders the request to a PNG (lossless, so finalizing is the only lossy step). */
export async function renderImage(req: RenderRequest): Promise<Uint8Array> {
  for (const side of [req.width, req.height])
    if (!Number.isInteger(side) || side < 16 || side > MAX_RENDER_SIDE) throw new RangeError(`render size out of range: ${req.width}x${req.height}`)
  const svg = composeSvg(req)
  const px = drawSize(req.width, req.height)
  // Two pipelines on purpose: given a resize, sharp re-renders an SVG at the target density,
  // which brings back the cost that drawing small avoids. Density 72 makes librsvg take
  // width/height as pixels; low zlib effort keeps 4K PNGs quick.
  const sharp = await loadSharp()
  let drawn = sharp(Buffer.from(svg), { density: 72, limitInputPixels: MAX_RENDER_SIDE * MAX_RENDER_SIDE })
  if (px.width !== req.width || px.height !== req.height) {
    const raw = await drawn.raw().toBuffer({ resolveWithObject: true })
    drawn = sharp(raw.data, { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } }).resize(
      req.width,
      req.height,
      { fit: 'fill', kernel: 'lanczos3' },
    )
  }
  const png = await drawn.png({ compressionLevel: 2, adaptiveFiltering: false }).toBuffer()
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength)
}
