/**
 * The browser playground: `GET /` (HTML shell), `/playground.js` (the app,
 * bundled once with Bun.build on first request and kept in memory) and
 * `/playground.css`. Hidden from the OpenAPI document: they are pages, not API.
 */
import { join } from 'node:path'
import { Elysia } from 'elysia'
import { languageFrom } from '../../../domain/catalogue/service'
import { AppError } from '../../../lib/errors'
import { playgroundHtml } from '../../../playground/page'
import type { Services } from '../services'

const DIR = join(import.meta.dir, '../../../playground')
const SANE_HOST = /^[A-Za-z0-9.:[\]-]{1,255}$/

interface Asset {
  body: string
  etag: string
}

async function bundle(): Promise<Asset> {
  const out = await Bun.build({ entrypoints: [join(DIR, 'app.ts')], target: 'browser', minify: true, format: 'esm' })
  const js = out.outputs[0]
  if (!out.success || !js) throw new AppError('INTERNAL_ERROR', `playground bundle failed: ${out.logs.map(String).join('; ')}`)
  const body = await js.text()
  return { body, etag: `"${Bun.hash(body).toString(36)}"` }
}

/**
 * Only our own origin, plus the socket on the host the page came from and images
 * from the public URL (local signed files) or any https origin (an S3 bucket).
 */
function csp(request: Request, publicUrl: string): string {
  const host = request.headers.get('host') ?? new URL(request.url).host
  const socket = SANE_HOST.test(host) ? ` ws://${host} wss://${host}` : ''
  const files = new URL(publicUrl).origin
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' ${files} https: data: blob:`,
    `connect-src 'self'${socket}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ')
}

export function playgroundRoutes(s: Services) {
  let js: Promise<Asset> | undefined
  let css: Promise<Asset> | undefined

  const headersFor = (request: Request, set: { headers: Record<string, unknown> }, type: string) => {
    const h = new Headers(set.headers as Record<string, string>)
    h.set('content-type', type)
    h.set('content-security-policy', csp(request, s.config.publicUrl))
    h.set('x-content-type-options', 'nosniff')
    h.set('referrer-policy', 'same-origin')
    return h
  }
  const serve = async (request: Request, set: { headers: Record<string, unknown> }, type: string, asset: Asset) => {
    const h = headersFor(request, set, type)
    h.set('etag', asset.etag)
    h.set('cache-control', 'no-cache')
    if (request.headers.get('if-none-match') === asset.etag) return new Response(null, { status: 304, headers: h })
    return new Response(asset.body, { status: 200, headers: h })
  }
  // A failed build is not cached: the next request tries again.
  const cached = (make: () => Promise<Asset>, get: () => Promise<Asset> | undefined, put: (p: Promise<Asset> | undefined) => void) => {
    let p = get()
    if (!p) {
      p = make()
      put(p)
      p.catch(() => put(undefined))
    }
    return p
  }

  return new Elysia({ name: 'kiln.playground' })
    .get(
      '/',
      ({ request, set }) => {
        const h = headersFor(request, set, 'text/html; charset=utf-8')
        h.set('cache-control', 'no-cache')
        h.set('vary', 'Accept-Language')
        return new Response(playgroundHtml(languageFrom(request.headers.get('accept-language'))), { status: 200, headers: h })
      },
      { detail: { hide: true } },
    )
    .get(
      '/playground.js',
      async ({ request, set }) =>
        serve(request, set, 'text/javascript; charset=utf-8', await cached(bundle, () => js, (p) => (js = p))),
      { detail: { hide: true } },
    )
    .get(
      '/playground.css',
      async ({ request, set }) => {
        const make = async () => {
          const body = await Bun.file(join(DIR, 'playground.css')).text()
          return { body, etag: `"${Bun.hash(body).toString(36)}"` }
        }
        return serve(request, set, 'text/css; charset=utf-8', await cached(make, () => css, (p) => (css = p)))
      },
      { detail: { hide: true } },
    )
}
