/** Batches: submit many generations at once, follow them, read their results, cancel, retry. All `{ auth: true }`. */
import { Elysia, t } from 'elysia'
import { BatchItemResult, BatchView } from '../../../domain/batches/view'
import { GenerationInput } from '../../../domain/generations/input'
import { quotaHeaders } from '../../../domain/quota/quota'
import { TIER_LIMITS } from '../../../domain/tiers'
import { AppError } from '../../../lib/errors'
import { authPlugin } from '../auth'
import { Envelope, ErrorBody, PageEnvelope, PageQuery, commonErrors, ok, page } from '../envelope'
import { IdempotencyStore } from '../idempotency'
import { requestIdOf } from '../request-context'
import type { Services } from '../services'

/** The largest batch any tier may send; each tier's own limit is checked by the service. */
const MAX_ITEMS = Math.max(...Object.values(TIER_LIMITS).map((l) => l.batchSize))

const BatchBody = t.Object(
  {
    defaults: t.Optional(GenerationInput),
    items: t.Array(GenerationInput, {
      minItems: 1,
      maxItems: MAX_ITEMS,
      description: 'one input per generation, each over `defaults`; at most 5 (free), 50 (pro) or 500 (enterprise)',
    }),
  },
  { additionalProperties: false, title: 'NewBatch' },
)

const IdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) })
const errors = { ...commonErrors, 404: ErrorBody }
const INPUT_FIELDS = new Set(Object.keys(GenerationInput.properties))

/**
 * Elysia silently drops properties a schema does not know; a misspelt field of
 * one item must not pass unnoticed, so unknown keys are 400 with their place.
 */
function rejectUnknownBatchKeys({ body }: { body: unknown }) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return
  const issues: { field: string; message: string }[] = []
  const check = (value: unknown, at: string, known: Set<string>) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return
    for (const k of Object.keys(value)) if (!known.has(k)) issues.push({ field: `${at}${k}`, message: 'unknown property' })
  }
  const b = body as Record<string, unknown>
  check(b, '', new Set(Object.keys(BatchBody.properties)))
  check(b.defaults, 'defaults.', INPUT_FIELDS)
  if (Array.isArray(b.items)) for (const [i, item] of b.items.entries()) check(item, `items.${i}.`, INPUT_FIELDS)
  if (issues.length > 0) throw new AppError('VALIDATION_ERROR', 'invalid request in body', { in: 'body', issues: issues.slice(0, 20) })
}

export function batchRoutes(s: Services) {
  const idempotency = new IdempotencyStore(s.database.db)
  const batches = s.batches
  return new Elysia({ name: 'kiln.batches', prefix: '/api/v1/batches', detail: { tags: ['batches'] } })
    .use(authPlugin(s))
    .post(
      '',
      async ({ body, user, request, set }) => {
        const req = { userId: user.id, rawKey: request.headers.get('idempotency-key'), path: '/api/v1/batches', fingerprint: () => body, set }
        return idempotency.accept(req, 202, async (key) => {
          const { batch, quota } = await batches.create(user, body, { idempotencyKey: key, requestId: requestIdOf(request) })
          Object.assign(set.headers, quotaHeaders(quota))
          set.headers.location = `/api/v1/batches/${batch.id}`
          return ok(batch)
        })
      },
      {
        auth: true,
        transform: rejectUnknownBatchKeys,
        body: BatchBody,
        headers: t.Object({ 'idempotency-key': t.Optional(t.String({ description: 'replays the first response for 24 h' })) }),
        response: { 202: Envelope(BatchView), ...errors, 409: ErrorBody, 422: ErrorBody, 503: ErrorBody },
        detail: {
          summary: 'Queue a batch of generations',
          description:
            'Each item is `defaults` overlaid by the item, validated like POST /generations; a bad item is 400 naming it (`items.<index>.<field>`) and nothing is queued. The remaining daily quota must cover every item (else 429 QUOTA_EXCEEDED). Items are queued in order; 202 with the batch. Follow it over the socket (`batch.progress`, `batch.completed`) or GET /batches/{id}. Counts as one request against the per-minute limit.',
        },
      },
    )
    .get(
      '',
      async ({ query, user }) => {
        const { items, meta } = await batches.list(user, query.page ?? 1, query.limit ?? 20)
        return page(items, meta)
      },
      {
        auth: true,
        query: t.Object(PageQuery),
        response: { 200: PageEnvelope(BatchView), ...commonErrors },
        detail: { summary: 'Your batches, newest first' },
      },
    )
    .get('/:id', async ({ params, user }) => ok(await batches.get(user, params.id)), {
      auth: true,
      params: IdParams,
      response: { 200: Envelope(BatchView), ...errors },
      detail: { summary: 'One batch with its counts per status' },
    })
    .get(
      '/:id/results',
      async ({ params, query, user }) => {
        const { items, meta } = await batches.results(user, params.id, query.page ?? 1, query.limit ?? 20)
        return page(items, meta)
      },
      {
        auth: true,
        params: IdParams,
        query: t.Object(PageQuery),
        response: { 200: PageEnvelope(BatchItemResult), ...errors },
        detail: { summary: "A batch's items in submitted order, each with its current generation (signed image URLs once completed)" },
      },
    )
    .post('/:id/cancel', async ({ params, user }) => ok(await batches.cancel(user, params.id)), {
      auth: true,
      params: IdParams,
      response: { 200: Envelope(BatchView), ...errors, 409: ErrorBody },
      detail: { summary: 'Cancel every queued or running item; the batch ends cancelled (409 when it has already ended)' },
    })
    .post(
      '/:id/retry',
      async ({ params, user, request, set }) => {
        const { batch, quota } = await batches.retry(user, params.id, { requestId: requestIdOf(request) })
        Object.assign(set.headers, quotaHeaders(quota))
        set.status = 202
        return ok(batch)
      },
      {
        auth: true,
        params: IdParams,
        response: { 202: Envelope(BatchView), ...errors, 409: ErrorBody },
        detail: {
          summary: 'Queue again every failed or cancelled item',
          description: 'Each such item gets a new generation (its attempts go up by one) and the batch runs again; 409 when no item failed or was cancelled, 429 when the quota does not cover them.',
        },
      },
    )
}
