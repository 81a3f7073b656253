/** Generations: submit, history, one job, like, delete, cancel, download. All `{ auth: true }`. */
import { createHash } from 'node:crypto'
import { Elysia, t } from 'elysia'
import { GENERATION_STATUSES } from '../../../adapters/db/schema/generations'
import { type GenerationInput as Input, GenerationInput, literals } from '../../../domain/generations/input'
import { GenerationView } from '../../../domain/generations/view'
import { quotaHeaders } from '../../../domain/quota/quota'
import { AppError } from '../../../lib/errors'
import { authPlugin } from '../auth'
import { DeletedEnvelope, Envelope, ErrorBody, PageEnvelope, PageQuery, commonErrors, deleted, ok, page } from '../envelope'
import { IdempotencyStore } from '../idempotency'
import { requestIdOf } from '../request-context'
import { rejectUnknownKeys } from '../strict-body'
import type { Services } from '../services'
import { parseCappedMultipart } from './uploads'

const IdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) })
const errors = { ...commonErrors, 404: ErrorBody }
const LikeBody = t.Object({ isLiked: t.Boolean() }, { additionalProperties: false })

/** Files of multipart submissions, kept aside while the form's fields are validated as a GenerationInput. */
const pendingImages = new WeakMap<Request, Blob>()
const PENDING_UPLOAD = 'upl_pending'

/**
 * Multipart POST /generations: the input's fields as form fields (customColors
 * comma-separated) plus the file `sourceImage`. The fields become an ordinary
 * GenerationInput, so one schema validates both forms; the file is stored as
 * an upload by the handler, once the user is known.
 */
async function parseGenerationForm({ request }: { request: Request }): Promise<Input | undefined> {
  const form = await parseCappedMultipart(request)
  if (!form) return undefined
  const { sourceImage, customColors, seed, ...fields } = form
  const input: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) input[k] = typeof v === 'string' ? v : '(file)'
  if (typeof customColors === 'string') input.customColors = customColors.split(',').map((c) => c.trim())
  if (typeof seed === 'string') input.seed = /^\d{1,10}$/.test(seed) ? Number(seed) : seed
  if (sourceImage !== undefined) {
    if (!(sourceImage instanceof Blob)) throw new AppError('VALIDATION_ERROR', 'sourceImage must be a file')
    if (input.sourceImageId !== undefined) throw new AppError('VALIDATION_ERROR', 'give either a sourceImage file or a sourceImageId')
    pendingImages.set(request, sourceImage)
    input.sourceImageId = PENDING_UPLOAD
  }
  return input as Input
}

export function generationRoutes(s: Services) {
  const idempotency = new IdempotencyStore(s.database.db)
  const generations = s.generations
  return new Elysia({ name: 'kiln.generations', prefix: '/api/v1/generations', detail: { tags: ['generations'] } })
    .use(authPlugin(s))
    .post(
      '',
      async ({ body, user, request, set }) => {
        const file = pendingImages.get(request)
        const image = file && new Uint8Array(await file.arrayBuffer())
        const fingerprint = () => (image ? { ...body, sourceImage: createHash('sha256').update(image).digest('hex') } : body)
        const req = { userId: user.id, rawKey: request.headers.get('idempotency-key'), path: '/api/v1/generations', fingerprint, set }
        return idempotency.accept(req, 202, async (key) => {
          let input = body
          if (image) {
            // create() enforces the per-user upload rate limit itself
            input = { ...body, sourceImageId: (await s.uploads.create(user.id, image)).id }
          }
          const { generation, quota } = await generations.submit(user, input, { idempotencyKey: key, requestId: requestIdOf(request) })
          Object.assign(set.headers, quotaHeaders(quota))
          set.headers.location = `/api/v1/generations/${generation.id}`
          return ok(generation)
        })
      },
      {
        auth: true,
        // The form parser first; the named types after it only tell the OpenAPI document which media types are accepted.
        parse: [parseGenerationForm, 'application/json', 'multipart/form-data'],
        transform: rejectUnknownKeys(GenerationInput),
        body: GenerationInput,
        headers: t.Object({ 'idempotency-key': t.Optional(t.String({ description: 'replays the first response for 24 h' })) }),
        response: { 202: Envelope(GenerationView), ...errors, 409: ErrorBody, 422: ErrorBody, 503: ErrorBody },
        detail: {
          summary: 'Queue a generation',
          description:
            'Validates the input, counts it against the daily quota (X-Quota-* headers) and queues it with your session; 202 with the job. Watch it over the socket or poll GET /generations/{id}. Also accepts multipart/form-data with the same fields (customColors comma-separated) and a `sourceImage` file, stored as an upload for image-to-image.',
        },
      },
    )
    .get(
      '',
      async ({ query, user }) => {
        const { items, meta } = await generations.list(user, {
          page: query.page ?? 1,
          limit: query.limit ?? 20,
          search: query.search,
          style: query.style,
          status: query.status,
          liked: query.liked,
          sort: query.sort ?? 'newest',
          cursor: query.cursor,
        })
        return page(items, meta)
      },
      {
        auth: true,
        query: t.Object({
          ...PageQuery,
          search: t.Optional(t.String({ maxLength: 200, description: 'full-text search in prompts' })),
          style: t.Optional(t.String({ maxLength: 64 })),
          status: t.Optional(literals(GENERATION_STATUSES)),
          liked: t.Optional(t.Boolean()),
          sort: t.Optional(t.Union([t.Literal('newest'), t.Literal('oldest')], { default: 'newest' })),
          cursor: t.Optional(t.String({ maxLength: 200, description: '`meta.nextCursor` of the previous page (infinite scroll)' })),
        }),
        response: { 200: PageEnvelope(GenerationView), ...commonErrors },
        detail: { summary: 'Your generations, newest first' },
      },
    )
    .get('/:id', async ({ params, user }) => ok(await generations.get(user, params.id)), {
      auth: true,
      params: IdParams,
      response: { 200: Envelope(GenerationView), ...errors },
      detail: { summary: 'One generation' },
    })
    .patch('/:id', async ({ params, body, user }) => ok(await generations.like(user, params.id, body.isLiked)), {
      auth: true,
      params: IdParams,
      transform: rejectUnknownKeys(LikeBody),
      body: LikeBody,
      response: { 200: Envelope(GenerationView), ...errors },
      detail: { summary: 'Like or unlike a generation' },
    })
    .delete(
      '/:id',
      async ({ params, user }) => {
        await generations.remove(user, params.id)
        return deleted(params.id)
      },
      {
        auth: true,
        params: IdParams,
        response: { 200: DeletedEnvelope, ...errors },
        detail: { summary: 'Delete a generation and its images (a running one is cancelled first)' },
      },
    )
    .post('/:id/cancel', async ({ params, user }) => ok(await generations.cancel(user, params.id)), {
      auth: true,
      params: IdParams,
      response: { 200: Envelope(GenerationView), ...errors, 409: ErrorBody },
      detail: { summary: 'Cancel a queued or running generation (409 when it has already ended)' },
    })
    .get('/:id/download', async ({ params, user }) => ok(await generations.download(user, params.id)), {
      auth: true,
      params: IdParams,
      response: {
        200: Envelope(t.Object({ url: t.String(), filename: t.String(), expiresAt: t.String({ format: 'date-time' }) })),
        ...errors,
        409: ErrorBody,
      },
      detail: { summary: 'A signed, expiring download URL of the full image; counts the download' },
    })
}
