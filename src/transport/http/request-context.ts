/**
 * Per-request plumbing shared by every route: the request id, the access log,
 * metrics, the JSON body limit and response compression.
 */
import { Elysia } from 'elysia'
import { gzipSync } from 'node:zlib'
import { brotliCompressSync, constants as zlib } from 'node:zlib'
import { AppError } from '../../lib/errors'
import { newId } from '../../lib/ids'
import { readCapped } from '../../lib/read-capped'
import type { Logger } from '../../lib/logger'
import type { Metrics } from './metrics'

export const JSON_BODY_LIMIT = 1024 * 1024
/** Largest request body Bun accepts at all (uploads are 10 MB plus multipart overhead). */
export const MAX_BODY_BYTES = 11 * 1024 * 1024
const COMPRESS_MIN_BYTES = 1024
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

interface RequestState {
  id: string
  started: number
}
const state = new WeakMap<Request, RequestState>()

/** The request id of a request seen by the request-context plugin. */
export function requestIdOf(request: Request): string {
  return state.get(request)?.id ?? 'unknown'
}

function isMultipart(request: Request) {
  return (request.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')
}

/** The exact bytes of JSON bodies, for routes that verify a signature over them (provider webhooks). */
const rawBodies = new WeakMap<Request, Uint8Array>()

/** The raw bytes of a JSON request body already read by the parser (empty when there was none). */
export function rawBodyOf(request: Request): Uint8Array {
  return rawBodies.get(request) ?? new Uint8Array()
}

const bodyTooLarge = (limit: number) => new AppError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`)

/** Bodies sent without Content-Length (chunked) get the same 1 MB bound as declared ones. */
async function checkStreamedBody(request: Request): Promise<void> {
  const copy = request.clone().body
  if (copy) await readCapped(copy, JSON_BODY_LIMIT, bodyTooLarge)
}

/**
 * A route-level JSON parser that also keeps the exact bytes (`rawBodyOf`), for
 * routes that verify a signature over them (provider webhooks). Use it as the
 * route plugin's `onParse`, with `parse: 'application/json'` on the route so the
 * OpenAPI document still names the media type.
 */
export async function parseJsonKeepingBytes({ request }: { request: Request }): Promise<unknown> {
  if (!request.body) return undefined
  const raw = await readCapped(request.body, JSON_BODY_LIMIT, bodyTooLarge)
  rawBodies.set(request, raw)
  const text = raw.toString('utf8')
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw new AppError('VALIDATION_ERROR', 'request body is not valid JSON')
  }
}

/** Compresses a large JSON/text body when the client accepts brotli or gzip (headers are Elysia's `set.headers`). */
function compress(request: Request, body: string, headers: Record<string, unknown>): string | Uint8Array {
  if (body.length < COMPRESS_MIN_BYTES) return body
  const accept = request.headers.get('accept-encoding') ?? ''
  const vary = typeof headers.vary === 'string' ? headers.vary : ''
  if (!/accept-encoding/i.test(vary)) headers.vary = vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding'
  if (/\bbr\b/.test(accept)) {
    headers['content-encoding'] = 'br'
    return brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } })
  }
  if (/\bgzip\b/.test(accept)) {
    headers['content-encoding'] = 'gzip'
    return gzipSync(body, { level: 6 })
  }
  return body
}

/**
 * Request ids: one random, time-ordered id per process plus a counter. Unique
 * across nodes and cheap (no random bytes per request); they need not be secret.
 */
function requestIds(): () => string {
  const base = newId('request')
  let n = 0
  return () => `${base}${(n++).toString(36)}`
}

/** Labelled metric children by method, route and status: prom-client hashes labels on every call otherwise. */
function metricChildren(metrics: Metrics) {
  const children = new Map<string, { count: { inc(): void }; duration: { observe(v: number): void } }>()
  return (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`
    let c = children.get(key)
    if (!c) {
      const labels = { method, route, status }
      c = { count: metrics.httpRequests.labels(labels), duration: metrics.httpDuration.labels(labels) }
      // Routes are templates and statuses few, so this stays small; the cap is a guard.
      if (children.size < 10_000) children.set(key, c)
    }
    return c
  }
}

export function requestContext(deps: { log: Logger; metrics: Metrics }) {
  const nextRequestId = requestIds()
  const metricsFor = metricChildren(deps.metrics)
  return new Elysia({ name: 'kiln.request-context' })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get('x-request-id')
      const id = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : nextRequestId()
      state.set(request, { id, started: performance.now() })
      set.headers['x-request-id'] = id
      const declared = request.headers.get('content-length')
      const length = Number(declared ?? 0)
      if (length > MAX_BODY_BYTES || (length > JSON_BODY_LIMIT && !isMultipart(request)))
        throw new AppError('PAYLOAD_TOO_LARGE', `request body exceeds ${isMultipart(request) ? MAX_BODY_BYTES : JSON_BODY_LIMIT} bytes`)
      // A body streamed without Content-Length is measured on a copy before Elysia parses it.
      if (declared === null && request.body && !isMultipart(request)) return checkStreamedBody(request)
    })
    .derive({ as: 'global' }, ({ request }) => ({ requestId: requestIdOf(request) }))
    .mapResponse({ as: 'global' }, ({ request, response, set }) => {
      if (response instanceof Response || response === undefined || response === null) return
      if (typeof response !== 'object' || response instanceof Blob || response instanceof ReadableStream) return
      if (ArrayBuffer.isView(response) || response instanceof ArrayBuffer) return
      // Hand Elysia a string or bytes with `set.headers` filled in: it builds the one
      // Response itself (returning our own Response would make it copy every header again).
      set.headers['content-type'] = 'application/json; charset=utf-8'
      return compress(request, JSON.stringify(response), set.headers) as unknown as Response
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, route, path }) => {
      const s = state.get(request)
      const status = typeof set.status === 'number' ? set.status : 200
      const durationMs = s ? performance.now() - s.started : 0
      const routeLabel = route || 'unmatched'
      const m = metricsFor(request.method, routeLabel, status)
      m.count.inc()
      m.duration.observe(durationMs / 1000)
      const fields = { requestId: s?.id, method: request.method, path, status, durationMs: Math.round(durationMs * 100) / 100 }
      if (status >= 500) deps.log.error('request', fields)
      else deps.log.info('request', fields)
    })
}
