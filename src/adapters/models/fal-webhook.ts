/**
 * Verifies fal's webhook deliveries: an Ed25519 signature (hex) over
 * `requestId\nuserId\ntimestamp\nsha256hex(body)`, by one of the keys
 * published at a JWKS URL, with the timestamp within ±300 s.
 *
 * fal's headers name no key id, so every cached key is tried; when none
 * verifies and the cache is older than a minute the keys are fetched again
 * once (fal rotated them), and they are refreshed daily regardless.
 */
import { type KeyObject, createHash, createPublicKey, verify } from 'node:crypto'
import type { Logger } from '../../lib/logger'

export const FAL_HEADERS = {
  requestId: 'x-fal-webhook-request-id',
  userId: 'x-fal-webhook-user-id',
  timestamp: 'x-fal-webhook-timestamp',
  signature: 'x-fal-webhook-signature',
} as const

export const TIMESTAMP_TOLERANCE_S = 300
const KEYS_MAX_AGE_MS = 24 * 3600_000
const MIN_REFRESH_INTERVAL_MS = 60_000

export class WebhookAuthError extends Error {}

export interface FalWebhookVerifierOptions {
  jwksUrl: string
  log: Logger
  now?: () => number
  fetch?: typeof fetch
}

/** The message fal signs. */
export function signedMessage(requestId: string, userId: string, timestamp: string, body: Uint8Array): Buffer {
  const digest = createHash('sha256').update(body).digest('hex')
  return Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`, 'utf8')
}

export class FalWebhookVerifier {
  private keys: KeyObject[] = []
  private fetchedAt = 0
  /** Last fetch attempt, successful or not: forged deliveries must not make Kiln hammer the JWKS URL. */
  private attemptedAt = Number.NEGATIVE_INFINITY
  private inflight: Promise<void> | undefined
  private readonly now: () => number

  constructor(private readonly opts: FalWebhookVerifierOptions) {
    this.now = opts.now ?? Date.now
  }

  /** Resolves with the request id when the delivery is authentic and fresh; throws WebhookAuthError otherwise. */
  async verify(headers: Headers, body: Uint8Array): Promise<string> {
    const requestId = headers.get(FAL_HEADERS.requestId)
    const userId = headers.get(FAL_HEADERS.userId)
    const timestamp = headers.get(FAL_HEADERS.timestamp)
    const signatureHex = headers.get(FAL_HEADERS.signature)
    if (!requestId || !userId || !timestamp || !signatureHex) throw new WebhookAuthError('missing webhook signature headers')
    if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookAuthError('malformed webhook timestamp')
    if (Math.abs(this.now() / 1000 - Number(timestamp)) > TIMESTAMP_TOLERANCE_S)
      throw new WebhookAuthError('webhook timestamp outside the allowed window')
    if (!/^[0-9a-f]{128}$/i.test(signatureHex)) throw new WebhookAuthError('malformed webhook signature')
    const signature = Buffer.from(signatureHex, 'hex')
    const message = signedMessage(requestId, userId, timestamp, body)

    const mayRefetch = () => this.now() - this.attemptedAt > MIN_REFRESH_INTERVAL_MS
    if (this.now() - this.fetchedAt > KEYS_MAX_AGE_MS && mayRefetch()) await this.refresh()
    if (this.matches(message, signature)) return requestId
    if (mayRefetch()) {
      await this.refresh()
      if (this.matches(message, signature)) return requestId
    }
    throw new WebhookAuthError('webhook signature does not verify')
  }

  private matches(message: Buffer, signature: Buffer): boolean {
    return this.keys.some((key) => {
      try {
        return verify(null, message, key, signature)
      } catch {
        return false
      }
    })
  }

  /** Fetches the JWKS; concurrent callers share one fetch, and a failed fetch keeps the old keys. */
  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      this.attemptedAt = this.now()
      try {
        const res = await (this.opts.fetch ?? fetch)(this.opts.jwksUrl, { signal: AbortSignal.timeout(5000) })
        if (!res.ok) throw new Error(`JWKS answered ${res.status}`)
        const jwks = (await res.json()) as { keys?: Array<Record<string, unknown>> }
        const keys: KeyObject[] = []
        for (const jwk of jwks.keys ?? []) {
          if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') continue
          keys.push(createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }))
        }
        if (keys.length === 0) throw new Error('JWKS holds no Ed25519 keys')
        this.keys = keys
        this.fetchedAt = this.now()
      } catch (err) {
        // keep the old keys; the next attempt waits the minimum interval
        this.opts.log.warn('fal webhook keys could not be fetched', { err: err as Error, jwksUrl: this.opts.jwksUrl })
      } finally {
        this.inflight = undefined
      }
    })()
    return this.inflight
  }
}
