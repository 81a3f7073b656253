/**
 * Outgoing webhooks: register (the secret is shown once), list, read, change,
 * delete; the delivery log, test sends and redelivery. Someone else's webhook
 * is 404 on every route.
 */
import { Elysia, t } from 'elysia'
import { DELIVERY_STATUSES } from '../../../adapters/db/schema/webhooks'
import { WEBHOOK_EVENTS } from '../../../domain/webhooks/events'
import type { DeliveryView, WebhookView } from '../../../domain/webhooks/registry'
import { authPlugin } from '../auth'
import { DeletedEnvelope, Envelope, ErrorBody, PageEnvelope, PageQuery, commonErrors, deleted, ok, pageOf } from '../envelope'
import { requestIdOf } from '../request-context'
import type { Services } from '../services'
import { rejectUnknownKeys } from '../strict-body'

const DateTime = t.String({ format: 'date-time' })
const EventName = t.UnionEnum(WEBHOOK_EVENTS)

export const WebhookSchema = t.Object(
  {
    id: t.String(),
    url: t.String(),
    description: t.Union([t.String(), t.Null()]),
    events: t.Array(t.String()),
    active: t.Boolean(),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'Webhook' },
)

const CreatedWebhookSchema = t.Object(
  {
    ...WebhookSchema.properties,
    secret: t.String({ description: 'Standard Webhooks signing secret (`whsec_…`); shown only in this response, store it now' }),
  },
  { title: 'CreatedWebhook' },
)

export const DeliverySchema = t.Object(
  {
    id: t.String({ description: 'also the `webhook-id` header of the delivery' }),
    event: t.String({ description: 'the event type, or `webhook.test`' }),
    status: t.UnionEnum(DELIVERY_STATUSES),
    attempts: t.Integer({ description: 'sends tried so far' }),
    lastStatusCode: t.Union([t.Integer(), t.Null()]),
    lastError: t.Union([t.String(), t.Null()]),
    createdAt: DateTime,
    deliveredAt: t.Union([DateTime, t.Null()]),
    nextAttemptAt: t.Union([DateTime, t.Null()], { description: 'when the next attempt is due; null once the delivery has ended' }),
  },
  { title: 'WebhookDelivery' },
)

const Url = t.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL of a public address; checked again on every delivery' })
const Events = t.Array(EventName, { minItems: 1, maxItems: WEBHOOK_EVENTS.length * 2 })
const Description = t.Union([t.String({ maxLength: 500 }), t.Null()])

const CreateBody = t.Object(
  { url: Url, events: Events, description: t.Optional(Description), active: t.Optional(t.Boolean({ default: true })) },
  { additionalProperties: false },
)
const PatchBody = t.Object(
  { url: t.Optional(Url), events: t.Optional(Events), description: t.Optional(Description), active: t.Optional(t.Boolean()) },
  { additionalProperties: false },
)

const IdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) })

const webhookView = (w: WebhookView) => ({
  id: w.id,
  url: w.url,
  description: w.description,
  events: w.events,
  active: w.active,
  createdAt: w.createdAt.toISOString(),
  updatedAt: w.updatedAt.toISOString(),
})

const deliveryView = (d: DeliveryView) => ({
  id: d.id,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  createdAt: d.createdAt.toISOString(),
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
  nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
})

export function webhookRoutes(s: Services) {
  const { webhooks } = s
  return new Elysia({ name: 'kiln.webhooks', prefix: '/api/v1/webhooks', detail: { tags: ['webhooks'] } })
    .use(authPlugin(s))
    .get(
      '',
      async ({ user, query }) => {
        const pageNo = query.page ?? 1
        const limit = query.limit ?? 20
        const { items, total } = await webhooks.list(user.id, pageNo, limit)
        return pageOf(items.map(webhookView), total, pageNo, limit)
      },
      {
        auth: true,
        query: t.Object(PageQuery),
        response: { 200: PageEnvelope(WebhookSchema), ...commonErrors },
        detail: { summary: 'Your webhooks, newest first (never their secrets)' },
      },
    )
    .post(
      '',
      async ({ user, body, set, request }) => {
        const created = await webhooks.create(user.id, body)
        s.log.info('webhook registered', { requestId: requestIdOf(request), userId: user.id, webhookId: created.id, events: created.events })
        set.status = 201
        set.headers['cache-control'] = 'no-store'
        set.headers.location = `/api/v1/webhooks/${created.id}`
        return ok({ ...webhookView(created), secret: created.secret })
      },
      {
        auth: true,
        body: CreateBody,
        transform: rejectUnknownKeys(CreateBody),
        response: { 201: Envelope(CreatedWebhookSchema), ...commonErrors, 409: ErrorBody },
        detail: {
          summary: 'Register a webhook (the signing secret is in this response only)',
          description: `Events: ${WEBHOOK_EVENTS.join(', ')}. URLs that are or resolve to private, loopback, link-local, CGNAT, multicast or metadata addresses are refused (400).`,
        },
      },
    )
    .get('/:id', async ({ user, params }) => ok(webhookView(await webhooks.get(user.id, params.id))), {
      auth: true,
      params: IdParams,
      response: { 200: Envelope(WebhookSchema), ...commonErrors },
      detail: { summary: 'One webhook' },
    })
    .patch(
      '/:id',
      async ({ user, params, body, request }) => {
        const updated = await webhooks.update(user.id, params.id, body)
        s.log.info('webhook changed', { requestId: requestIdOf(request), userId: user.id, webhookId: updated.id, fields: Object.keys(body) })
        return ok(webhookView(updated))
      },
      {
        auth: true,
        params: IdParams,
        body: PatchBody,
        transform: rejectUnknownKeys(PatchBody),
        response: { 200: Envelope(WebhookSchema), ...commonErrors },
        detail: { summary: 'Change url (checked again), events, description or active' },
      },
    )
    .delete(
      '/:id',
      async ({ user, params, request }) => {
        await webhooks.remove(user.id, params.id)
        s.log.info('webhook deleted', { requestId: requestIdOf(request), userId: user.id, webhookId: params.id })
        return deleted(params.id)
      },
      {
        auth: true,
        params: IdParams,
        response: { 200: DeletedEnvelope, ...commonErrors },
        detail: { summary: 'Delete a webhook and its delivery log' },
      },
    )
    .post(
      '/:id/test',
      async ({ user, params, set }) => {
        set.status = 202
        return ok(deliveryView(await webhooks.sendTest(user.id, params.id)))
      },
      {
        auth: true,
        params: IdParams,
        response: { 202: Envelope(DeliverySchema), ...commonErrors, 409: ErrorBody },
        detail: { summary: 'Queue a `webhook.test` delivery, whatever the webhook subscribes to (409 when inactive)' },
      },
    )
    .get(
      '/:id/deliveries',
      async ({ user, params, query }) => {
        const pageNo = query.page ?? 1
        const limit = query.limit ?? 20
        const { items, total } = await webhooks.deliveries(user.id, params.id, pageNo, limit)
        return pageOf(items.map(deliveryView), total, pageNo, limit)
      },
      {
        auth: true,
        params: IdParams,
        query: t.Object(PageQuery),
        response: { 200: PageEnvelope(DeliverySchema), ...commonErrors },
        detail: { summary: "The webhook's deliveries, newest first, with status, attempts and the last response code" },
      },
    )
    .post(
      '/:id/deliveries/:deliveryId/redeliver',
      async ({ user, params, set }) => {
        set.status = 202
        return ok(deliveryView(await webhooks.redeliver(user.id, params.id, params.deliveryId)))
      },
      {
        auth: true,
        params: t.Object({ id: t.String({ minLength: 1, maxLength: 64 }), deliveryId: t.String({ minLength: 1, maxLength: 64 }) }),
        response: { 202: Envelope(DeliverySchema), ...commonErrors, 409: ErrorBody },
        detail: { summary: 'Queue an earlier delivery again, as a new delivery with the same payload (409 when inactive)' },
      },
    )
}
