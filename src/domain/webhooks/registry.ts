/**
 * Webhook registrations of a user: create (the secret is shown once), list,
 * read, change, delete, and their delivery log with test sends and
 * redelivery. Someone else's webhook is NOT_FOUND everywhere. URLs pass the
 * outbound-fetch guard when registered and again on every delivery.
 */
import { and, count, desc, eq } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { webhookDeliveries, webhooks } from '../../adapters/db/schema'
import { AppError, notFound } from '../../lib/errors'
import { isId, newId } from '../../lib/ids'
import { SafeFetchError, checkUrl } from '../../lib/safe-fetch'
import { TEST_EVENT, type WebhookEvent, type WebhookPayload, isWebhookEvent } from './events'
import { generateSecret } from './signing'

/** Webhooks a user may register. */
export const MAX_WEBHOOKS_PER_USER = 20
const MAX_URL_LENGTH = 2048

export interface WebhookView {
  id: string
  url: string
  description: string | null
  events: string[]
  active: boolean
  createdAt: Date
  updatedAt: Date
}

export type DeliveryStatus = (typeof webhookDeliveries.$inferSelect)['status']

export interface DeliveryView {
  id: string
  webhookId: string
  event: string
  status: DeliveryStatus
  attempts: number
  lastStatusCode: number | null
  lastError: string | null
  createdAt: Date
  deliveredAt: Date | null
  /** When the next attempt is due; null once the delivery has ended. */
  nextAttemptAt: Date | null
}

export interface WebhookInput {
  url: string
  events: string[]
  description?: string | null
  active?: boolean
}

const viewColumns = {
  id: webhooks.id,
  url: webhooks.url,
  description: webhooks.description,
  events: webhooks.events,
  active: webhooks.active,
  createdAt: webhooks.createdAt,
  updatedAt: webhooks.updatedAt,
}

const deliveryColumns = {
  id: webhookDeliveries.id,
  webhookId: webhookDeliveries.webhookId,
  event: webhookDeliveries.event,
  status: webhookDeliveries.status,
  attempts: webhookDeliveries.attempts,
  lastStatusCode: webhookDeliveries.lastStatusCode,
  lastError: webhookDeliveries.lastError,
  createdAt: webhookDeliveries.createdAt,
  deliveredAt: webhookDeliveries.deliveredAt,
  nextAttemptAt: webhookDeliveries.nextAttemptAt,
}

type DeliveryRow = Omit<DeliveryView, 'nextAttemptAt'> & { nextAttemptAt: Date }

const toDeliveryView = (r: DeliveryRow): DeliveryView => ({
  ...r,
  nextAttemptAt: r.status === 'pending' || r.status === 'delivering' ? r.nextAttemptAt : null,
})

const fieldError = (field: string, message: string) =>
  new AppError('VALIDATION_ERROR', `${field}: ${message}`, { in: 'body', issues: [{ field, message }] })

/** Known events, deduplicated, in the catalogue's order; 400 naming the first unknown one. */
export function normaliseEvents(events: readonly string[]): WebhookEvent[] {
  if (events.length === 0) throw fieldError('events', 'subscribe to at least one event')
  const unknown = events.findIndex((e) => !isWebhookEvent(e))
  if (unknown >= 0) throw fieldError(`events.${unknown}`, `unknown event "${events[unknown]}"`)
  return [...new Set(events as WebhookEvent[])]
}

/** Host names reserved for private networks (RFC 6761, 6762, 8375; cloud metadata names end in .internal). */
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|lan|intranet|corp|home\.arpa|localdomain)\.?$/i

export class WebhookRegistry {
  constructor(
    private readonly db: Db,
    private readonly opts: {
      /** Hosts exempt from the address check (WEBHOOK_ALLOW_PRIVATE; tests only). */
      allowPrivate: readonly string[]
      /** Called after a delivery row is queued, so this node's dispatcher sends it at once. */
      onQueued?: () => void
      maxPerUser?: number
    },
  ) {}

  /** Registers a webhook; the returned `secret` is the only time it leaves the database. */
  async create(userId: string, input: WebhookInput): Promise<WebhookView & { secret: string }> {
    const events = normaliseEvents(input.events)
    const url = await this.checkedUrl(input.url)
    const max = this.opts.maxPerUser ?? MAX_WEBHOOKS_PER_USER
    const [n] = await this.db.select({ n: count() }).from(webhooks).where(eq(webhooks.userId, userId))
    if ((n?.n ?? 0) >= max) throw new AppError('CONFLICT', `at most ${max} webhooks per user`)
    const secret = generateSecret()
    const [row] = await this.db
      .insert(webhooks)
      .values({ id: newId('webhook'), userId, url, events, secret, description: input.description ?? null, active: input.active ?? true })
      .returning(viewColumns)
    return { ...row!, secret }
  }

  async list(userId: string, pageNo: number, limit: number): Promise<{ items: WebhookView[]; total: number }> {
    const where = eq(webhooks.userId, userId)
    const [items, [total]] = await Promise.all([
      this.db
        .select(viewColumns)
        .from(webhooks)
        .where(where)
        .orderBy(desc(webhooks.createdAt), desc(webhooks.id))
        .limit(limit)
        .offset((pageNo - 1) * limit),
      this.db.select({ n: count() }).from(webhooks).where(where),
    ])
    return { items, total: total?.n ?? 0 }
  }

  async get(userId: string, id: string): Promise<WebhookView> {
    if (!isId('webhook', id)) throw notFound('webhook')
    const [row] = await this.db
      .select(viewColumns)
      .from(webhooks)
      .where(and(eq(webhooks.id, id), eq(webhooks.userId, userId)))
    if (!row) throw notFound('webhook')
    return row
  }

  /** Changes url (checked again), events, description or active. */
  async update(userId: string, id: string, patch: Partial<WebhookInput>): Promise<WebhookView> {
    await this.get(userId, id)
    const set: Partial<typeof webhooks.$inferInsert> = { updatedAt: new Date() }
    if (patch.events !== undefined) set.events = normaliseEvents(patch.events)
    if (patch.url !== undefined) set.url = await this.checkedUrl(patch.url)
    if (patch.description !== undefined) set.description = patch.description
    if (patch.active !== undefined) set.active = patch.active
    const [row] = await this.db
      .update(webhooks)
      .set(set)
      .where(and(eq(webhooks.id, id), eq(webhooks.userId, userId)))
      .returning(viewColumns)
    if (!row) throw notFound('webhook')
    return row
  }

  /** Deletes the webhook and its delivery log (pending deliveries are never sent). */
  async remove(userId: string, id: string): Promise<void> {
    if (!isId('webhook', id)) throw notFound('webhook')
    const rows = await this.db
      .delete(webhooks)
      .where(and(eq(webhooks.id, id), eq(webhooks.userId, userId)))
      .returning({ id: webhooks.id })
    if (rows.length === 0) throw notFound('webhook')
  }

  /** The webhook's deliveries, newest first. */
  async deliveries(userId: string, webhookId: string, pageNo: number, limit: number): Promise<{ items: DeliveryView[]; total: number }> {
    await this.get(userId, webhookId)
    const where = eq(webhookDeliveries.webhookId, webhookId)
    const [items, [total]] = await Promise.all([
      this.db
        .select(deliveryColumns)
        .from(webhookDeliveries)
        .where(where)
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
        .limit(limit)
        .offset((pageNo - 1) * limit),
      this.db.select({ n: count() }).from(webhookDeliveries).where(where),
    ])
    return { items: items.map(toDeliveryView), total: total?.n ?? 0 }
  }

  /** Queues a `webhook.test` delivery, whatever the webhook subscribes to. */
  async sendTest(userId: string, webhookId: string): Promise<DeliveryView> {
    const hook = await this.activeWebhook(userId, webhookId)
    const payload: WebhookPayload = {
      type: TEST_EVENT,
      timestamp: new Date().toISOString(),
      data: { webhookId: hook.id, message: 'a test delivery from Kiln' },
    }
    return this.queue(hook.id, TEST_EVENT, payload)
  }

  /**
   * Queues the payload of an earlier delivery again as a new delivery (a new
   * `webhook-id`), so the log keeps the earlier attempts as they happened.
   */
  async redeliver(userId: string, webhookId: string, deliveryId: string): Promise<DeliveryView> {
    const hook = await this.activeWebhook(userId, webhookId)
    if (!isId('delivery', deliveryId)) throw notFound('delivery')
    const [earlier] = await this.db
      .select({ event: webhookDeliveries.event, payload: webhookDeliveries.payload })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.webhookId, hook.id)))
    if (!earlier) throw notFound('delivery')
    return this.queue(hook.id, earlier.event, earlier.payload)
  }

  private async activeWebhook(userId: string, webhookId: string): Promise<WebhookView> {
    const hook = await this.get(userId, webhookId)
    if (!hook.active) throw new AppError('CONFLICT', 'the webhook is inactive; activate it first')
    return hook
  }

  private async queue(webhookId: string, event: string, payload: Record<string, unknown>): Promise<DeliveryView> {
    const [row] = await this.db
      .insert(webhookDeliveries)
      .values({ id: newId('delivery'), webhookId, event, payload })
      .returning(deliveryColumns)
    this.opts.onQueued?.()
    return toDeliveryView(row!)
  }

  /**
   * The URL in its parsed form, or 400 naming the `url` field when the guard
   * refuses it. A host name that does not resolve yet is accepted: it cannot
   * point anywhere now, and every delivery checks the address it connects to.
   */
  private async checkedUrl(raw: string): Promise<string> {
    if (raw.length > MAX_URL_LENGTH) throw fieldError('url', `at most ${MAX_URL_LENGTH} characters`)
    try {
      const { url } = await checkUrl(raw, this.opts.allowPrivate)
      return url.toString()
    } catch (err) {
      if (err instanceof SafeFetchError && err.reason === 'DNS') {
        const url = new URL(raw)
        // Names that only ever mean something inside a private network are refused even when they do not resolve here.
        if (INTERNAL_NAME.test(url.hostname) && !this.opts.allowPrivate.includes(url.hostname.toLowerCase()))
          throw fieldError('url', `${url.hostname} is an internal host name, which is not allowed`)
        return url.toString()
      }
      if (err instanceof SafeFetchError) throw fieldError('url', err.message)
      throw err
    }
  }
}
