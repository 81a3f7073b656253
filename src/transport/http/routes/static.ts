/**
 * `GET /static/styles/:id.webp`: each style's preview, drawn by the local
 * renderer from the style's default prompt and a fitting palette, whatever
 * provider runs generations. Rendered once per process, then served from memory.
 */
import { Elysia, t } from 'elysia'
import { renderImage } from '../../../adapters/models/local-render'
import { imageSlots } from '../../../domain/generations/images'
import { AppError } from '../../../lib/errors'
import { ErrorBody } from '../envelope'
import type { Services } from '../services'
import { loadSharp } from '../../../lib/sharp'

/** The palette each seeded style looks best in; others use `ocean`. */
const PREVIEW_PALETTE: Record<string, string> = {
  'voxel-3d': 'forest',
  'minimal-icon': 'pastel',
  'glass-morphism': 'ocean',
  'neon-glow': 'neon',
  'toy-figurine': 'sunset',
  modern: 'ocean',
  minimal: 'monochrome',
  corporate: 'ocean',
  cyberpunk: 'neon',
  'hand-drawn': 'earth',
}
const PREVIEW_SIZE = 512
const PREVIEW_SEED = 7
const ID = /^([a-z0-9-]{1,64})\.webp$/

interface Preview {
  body: Uint8Array<ArrayBuffer>
  etag: string
}

export function staticRoutes(s: Services) {
  const cache = new Map<string, Promise<Preview>>()

  const render = async (id: string): Promise<Preview | null> => {
    const style = await s.catalogue.getStyle(id)
    if (!style) return null
    const palette = (await s.catalogue.getPalette(PREVIEW_PALETTE[id] ?? 'ocean')) ?? (await s.catalogue.getPalette('ocean'))
    const body = await imageSlots.run(async () => {
      const png = await renderImage({
        styleId: id,
        kind: style.kind,
        colors: palette?.colors ?? [],
        text: style.defaultPrompt.en,
        seed: PREVIEW_SEED,
        width: PREVIEW_SIZE,
        height: PREVIEW_SIZE,
      })
      const sharp = await loadSharp()
      const webp = await sharp(png).webp({ quality: 85 }).toBuffer()
      return new Uint8Array(webp)
    })
    return { body, etag: `"${Bun.hash(body).toString(36)}"` }
  }

  return new Elysia({ name: 'kiln.static', detail: { tags: ['catalogue'] } }).get(
    '/static/styles/:file',
    async ({ params, request, set }) => {
      const id = ID.exec(params.file)?.[1]
      if (!id || !(await s.catalogue.getStyle(id))) throw new AppError('NOT_FOUND', 'no such style preview')
      let pending = cache.get(id)
      if (!pending) {
        pending = render(id).then((p) => {
          if (!p) throw new AppError('NOT_FOUND', 'no such style preview')
          return p
        })
        cache.set(id, pending)
        // A failed render is not cached: the next request tries again.
        pending.catch(() => cache.delete(id))
      }
      const preview = await pending
      const headers = new Headers(set.headers as Record<string, string>)
      headers.set('cache-control', 'public, max-age=86400')
      headers.set('etag', preview.etag)
      headers.set('x-content-type-options', 'nosniff')
      if (request.headers.get('if-none-match') === preview.etag) return new Response(null, { status: 304, headers })
      headers.set('content-type', 'image/webp')
      return new Response(preview.body, { status: 200, headers })
    },
    {
      params: t.Object({ file: t.String({ description: 'the style id followed by `.webp`', examples: ['voxel-3d.webp'] }) }),
      detail: {
        summary: "A style's preview image (WebP, 512×512)",
        responses: {
          200: { description: 'the preview', content: { 'image/webp': { schema: { type: 'string', format: 'binary' } } } },
          304: { description: 'not modified (ETag)' },
          404: { description: 'unknown style', content: { 'application/json': { schema: ErrorBody as never } } },
          500: { description: 'the preview could not be drawn', content: { 'application/json': { schema: ErrorBody as never } } },
        },
      },
    },
  )
}
