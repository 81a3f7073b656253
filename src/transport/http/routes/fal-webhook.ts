/**
 * `POST providers/fal/webhook`: fal's completion callback. The signature is
 * checked over the exact bytes received; forged or stale deliveries get 401.
 * Handling is idempotent (the first of webhook or polling wins), so replays
 * and deliveries for unknown requests are answered 200 and ignored.
 */
import { Elysia, t } from 'elysia'
import { FAL_COMPLETIONS_TOPIC } from '../../../adapters/models/fal'
import { WebhookAuthError } from '../../../adapters/models/fal-webhook'
import { AppError } from '../../../lib/errors'
import { Envelope, ErrorBody, ok } from '../envelope'
import { parseJsonKeepingBytes, rawBodyOf } from '../request-context'
import type { Services } from '../services'

export function falWebhookRoutes(s: Services) {
  return new Elysia({ name: 'kiln.fal-webhook', prefix: '/api/v1/providers', detail: { tags: ['providers'] } })
    .onParse(parseJsonKeepingBytes)
    .post(
    '/fal/webhook',
    async ({ request }) => {
      if (!s.falWebhooks) throw new AppError('NOT_FOUND', 'the fal provider is not configured')
      try {
        const { requestId, watched, payload } = await s.falWebhooks.receiveWebhook(request.headers, rawBodyOf(request))
        s.log.info('fal webhook received', { providerRequestId: requestId, watched })
        // in a cluster the job may be watched on another node: hand it over instead of waiting for its poll
        if (!watched && payload && s.bus.kind === 'redis') await s.bus.publish(FAL_COMPLETIONS_TOPIC, JSON.stringify(payload))
        return ok({ received: true })
      } catch (err) {
        if (err instanceof WebhookAuthError) {
          s.log.warn('fal webhook refused', { reason: err.message })
          throw new AppError('UNAUTHORIZED', 'invalid webhook signature')
        }
        throw err
      }
    },
    {
      // JSON is read (and its raw bytes kept) by parseJsonKeepingBytes; naming it documents the media type
      parse: 'application/json',
      body: t.Unknown({ description: 'fal webhook payload (verified over the raw bytes)' }),
      response: { 200: Envelope(t.Object({ received: t.Boolean() })), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody },
      detail: {
        summary: 'fal completion webhook (Ed25519-signed by fal)',
        description:
          'Verified with the X-Fal-Webhook-* headers over the raw body, keys from FAL_WEBHOOK_JWKS_URL, timestamp within ±300 s.',
      },
    },
  )
}
