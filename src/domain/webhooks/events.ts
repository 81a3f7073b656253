/** The events a webhook may subscribe to, and the one Kiln sends on request (`POST webhooks/:id/test`). */
export const WEBHOOK_EVENTS = [
  'generation.started',
  'generation.completed',
  'generation.failed',
  'batch.started',
  'batch.progress',
  'batch.completed',
  'batch.failed',
  'quota.warning',
  'quota.exceeded',
] as const

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

/** Sent by `POST webhooks/:id/test` whatever the subscription; never subscribable. */
export const TEST_EVENT = 'webhook.test'

const EVENT_SET: ReadonlySet<string> = new Set(WEBHOOK_EVENTS)

/** True for an event type a webhook may subscribe to. */
export const isWebhookEvent = (type: string): type is WebhookEvent => EVENT_SET.has(type)

/** The JSON body of every delivery. */
export interface WebhookPayload extends Record<string, unknown> {
  type: string
  /** When the event happened (ISO 8601), not when it was delivered. */
  timestamp: string
  data: Record<string, unknown>
}
