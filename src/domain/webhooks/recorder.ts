/**
 * Turns a user's events into delivery rows for the webhooks that subscribe to
 * them. It runs as an actor event observer, which must neither block nor
 * throw: events are queued in memory and written in order by one drain loop.
 * Subscriptions are read per event (one indexed query, only for subscribable
 * types), so a webhook registered on any node receives the very next event.
 */
import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { webhookDeliveries, webhooks } from '../../adapters/db/schema'
import { newId } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import { type WebhookPayload, isWebhookEvent } from './events'

/** Events waiting to be written; beyond this a burst is dropped (and logged) rather than exhausting memory. */
const MAX_QUEUED = 10_000

interface QueuedEvent {
  userId: string
  type: string
  payload: WebhookPayload
}

export class WebhookEventRecorder {
  private readonly queue: QueuedEvent[] = []
  private draining: Promise<void> | undefined
  private readonly subscriptions

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    /** Called after rows were inserted, so this node's dispatcher sends them at once. */
    private readonly onQueued: () => void,
  ) {
    this.subscriptions = db
      .select({ id: webhooks.id, events: webhooks.events })
      .from(webhooks)
      .where(and(eq(webhooks.userId, sql.placeholder('userId')), eq(webhooks.active, true)))
      .prepare('webhook_subscriptions')
  }

  /** The actor event observer (`ActorEventObserver`): cheap, synchronous, never throws. */
  readonly observe = (userId: string, type: string, data: Record<string, unknown>): void => {
    if (!isWebhookEvent(type)) return
    if (this.queue.length >= MAX_QUEUED) {
      this.log.warn('webhook event dropped: queue full', { userId, type })
      return
    }
    this.queue.push({ userId, type, payload: { type, timestamp: new Date().toISOString(), data } })
    this.draining ??= this.drain()
  }

  /** Resolves once every event observed so far has been written (or failed); for shutdown. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        try {
          if (await this.record(next)) this.onQueued()
        } catch (err) {
          this.log.error('webhook deliveries not recorded', { userId: next.userId, type: next.type, err: err as Error })
        }
      }
    } finally {
      this.draining = undefined
    }
  }

  /** Inserts one delivery per subscribed webhook; true when there was any. */
  private async record(e: QueuedEvent): Promise<boolean> {
    const hooks = (await this.subscriptions.execute({ userId: e.userId })).filter((h) => h.events.includes(e.type))
    if (hooks.length === 0) return false
    await this.db
      .insert(webhookDeliveries)
      .values(hooks.map((h) => ({ id: newId('delivery'), webhookId: h.id, event: e.type, payload: e.payload })))
    return true
  }
}
