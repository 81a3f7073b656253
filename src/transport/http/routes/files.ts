/**
 * `GET /files/*`: serves local-storage files to whoever holds a signed URL
 * (`exp`, `sig`, optional `fn`; see LocalStorage.signedUrl). Tampered or
 * expired links are 403; ranges, ETags and download names work as browsers
 * and download managers expect. Only mounted when storage is local: with S3
 * the bucket serves its own presigned URLs.
 */
import { stat } from 'node:fs/promises'
import { Elysia, t } from 'elysia'
import { LocalStorage } from '../../../adapters/storage/local'
import { AppError } from '../../../lib/errors'
import type { Services } from '../services'

const TYPES: Record<string, string> = { webp: 'image/webp', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', avif: 'image/avif' }

const contentTypeOf = (key: string) => TYPES[key.slice(key.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream'

/** `attachment` with an ASCII fallback name and the exact UTF-8 one (RFC 6266). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`
}

/** One `bytes=` range of a file of `size` bytes: the span, `null` if unsatisfiable, `undefined` to ignore it. */
export function parseRange(header: string, size: number): { start: number; end: number } | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  // Several ranges or another unit: answering with the whole file is allowed (RFC 9110 §14.2).
  if (!m) return undefined
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return undefined
  if (a === '') {
    const suffix = Number(b)
    if (suffix === 0 || size === 0) return null
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(a)
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (start >= size || end < start) return null
  return { start, end }
}

export function fileRoutes(s: Services) {
  const plugin = new Elysia({ name: 'kiln.files' })
  const storage = s.storage
  if (!(storage instanceof LocalStorage)) return plugin
  return plugin.get(
    '/files/*',
    async ({ params, query, request, set }) => {
      const key = params['*']
      const fn = query.fn
      const secondsLeft = storage.verify({ key, exp: query.exp, sig: query.sig, fn })
      if (secondsLeft === null) throw new AppError('FORBIDDEN', 'this link is invalid or has expired')
      const path = storage.pathOf(key)
      const info = await stat(path).catch(() => null)
      if (!info?.isFile()) throw new AppError('NOT_FOUND', 'file not found')

      const size = info.size
      const etag = `"${size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`
      const headers = new Headers(set.headers as Record<string, string>)
      headers.set('content-type', contentTypeOf(key))
      headers.set('cache-control', `private, max-age=${secondsLeft}`)
      headers.set('etag', etag)
      headers.set('last-modified', info.mtime.toUTCString())
      headers.set('accept-ranges', 'bytes')
      headers.set('x-content-type-options', 'nosniff')
      if (fn !== undefined) headers.set('content-disposition', contentDisposition(fn))

      const ifNoneMatch = request.headers.get('if-none-match')
      if (ifNoneMatch?.split(',').some((t) => t.trim() === etag || t.trim() === '*'))
        return new Response(null, { status: 304, headers })

      const rangeHeader = request.headers.get('range')
      const ifRange = request.headers.get('if-range')
      // A Range whose If-Range names another version gets the whole current file instead.
      const range = rangeHeader && (!ifRange || ifRange === etag) ? parseRange(rangeHeader, size) : undefined
      const file = Bun.file(path)
      if (range === null) {
        headers.set('content-range', `bytes */${size}`)
        headers.delete('content-type')
        return new Response(null, { status: 416, headers })
      }
      if (range) {
        headers.set('content-range', `bytes ${range.start}-${range.end}/${size}`)
        headers.set('content-length', String(range.end - range.start + 1))
        return new Response(file.slice(range.start, range.end + 1), { status: 206, headers })
      }
      headers.set('content-length', String(size))
      return new Response(file, { status: 200, headers })
    },
    {
      // Optional, so that a link missing its signature is 403 like a wrong one, not 400.
      query: t.Object({ exp: t.Optional(t.String()), sig: t.Optional(t.String()), fn: t.Optional(t.String()) }),
      // Signed links are not API operations: kept out of the OpenAPI document.
      detail: { hide: true },
    },
  )
}
