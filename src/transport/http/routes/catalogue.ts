/** Public catalogue: styles and palettes, localised by Accept-Language. */
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib'
import { Elysia, t } from 'elysia'
import { type Language, languageFrom } from '../../../domain/catalogue/service'
import { Envelope, ErrorBody, ok } from '../envelope'
import type { Services } from '../services'

export const StyleSchema = t.Object(
  {
    id: t.String({ examples: ['voxel-3d'] }),
    kind: t.Union([t.Literal('3d'), t.Literal('infographic')]),
    title: t.String(),
    description: t.String(),
    defaultPrompt: t.String(),
    previewImage: t.Union([t.String(), t.Null()]),
    sortOrder: t.Integer(),
    model: t.String({ description: 'fal model id used for this style' }),
  },
  { title: 'Style' },
)

export const PaletteSchema = t.Object(
  {
    id: t.String({ examples: ['ocean'] }),
    name: t.String(),
    colors: t.Array(t.String({ pattern: '^#[0-9a-fA-F]{6}$' })),
    sortOrder: t.Integer(),
  },
  { title: 'Palette' },
)

/** A language's list as sent: serialised and compressed once, kept as Blobs (sent without copying). */
interface Encoded {
  json: Blob
  br?: Blob
  gzip?: Blob
  etag: string
}

/** Same threshold as the generic compression in request-context: small bodies go as they are. */
const COMPRESS_MIN_BYTES = 1024

// Keyed by the view array itself: the catalogue service hands out a new array after
// `invalidate()`, so a reseed is picked up without any extra bookkeeping here.
const encodings = new WeakMap<object, Encoded>()

function encode(view: object): Encoded {
  let e = encodings.get(view)
  if (!e) {
    const json = JSON.stringify(ok(view))
    const big = json.length >= COMPRESS_MIN_BYTES
    e = {
      json: new Blob([json]),
      br: big ? new Blob([brotliCompressSync(json, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } })]) : undefined,
      gzip: big ? new Blob([gzipSync(json, { level: 9 })]) : undefined,
      etag: `W/"${Bun.hash(json).toString(36)}"`,
    }
    encodings.set(view, e)
  }
  return e
}

/**
 * The catalogue is the hottest public read and changes only on a reseed, so its
 * bytes are prepared once per language and encoding; the handler only picks one
 * (and answers 304 to a matching If-None-Match). Response validation is skipped
 * for a prepared Response, which is safe: the view was built from the same schema.
 * The headers Elysia collected so far (the request id) move into the Response and
 * `set.headers` is emptied, so Elysia sends it as is instead of rebuilding it.
 */
function send(request: Request, set: { headers: Record<string, unknown>; status?: unknown }, lang: Language, view: object) {
  const e = encode(view)
  const headers: Record<string, string> = {
    ...(set.headers as Record<string, string>),
    'content-type': 'application/json; charset=utf-8',
    'content-language': lang,
    'cache-control': 'public, max-age=60',
    vary: 'Accept-Language, Accept-Encoding',
    etag: e.etag,
  }
  for (const key of Object.keys(set.headers)) delete set.headers[key]
  if (request.headers.get('if-none-match')?.split(',').some((tag) => tag.trim() === e.etag)) {
    set.status = 304
    return new Response(null, { status: 304, headers })
  }
  const accept = request.headers.get('accept-encoding') ?? ''
  let body = e.json
  if (e.br && /\bbr\b/.test(accept)) {
    headers['content-encoding'] = 'br'
    body = e.br
  } else if (e.gzip && /\bgzip\b/.test(accept)) {
    headers['content-encoding'] = 'gzip'
    body = e.gzip
  }
  return new Response(body, { headers })
}

export function catalogueRoutes(s: Services) {
  return new Elysia({ name: 'kiln.catalogue', prefix: '/api/v1', detail: { tags: ['catalogue'] } })
    .get(
      '/styles',
      async ({ request, headers, set }) => {
        const lang = languageFrom(headers['accept-language'])
        return send(request, set, lang, await s.catalogue.listStyles(lang))
      },
      {
        response: { 200: Envelope(t.Array(StyleSchema)), 500: ErrorBody },
        detail: { summary: 'List styles (localised: en, ar)' },
      },
    )
    .get(
      '/palettes',
      async ({ request, headers, set }) => {
        const lang = languageFrom(headers['accept-language'])
        return send(request, set, lang, await s.catalogue.listPalettes(lang))
      },
      {
        response: { 200: Envelope(t.Array(PaletteSchema)), 500: ErrorBody },
        detail: { summary: 'List palettes (localised: en, ar)' },
      },
    )
}
