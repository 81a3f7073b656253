/**
 * Maps what fal answers into ModelError: transient (429, 5xx, network,
 * timeouts) is retryable; validation and other 4xx are permanent; a safety
 * rejection is the user's fault (no quota refund).
 */
import { ApiError } from '@fal-ai/client'
import { ModelError } from './model'

interface FalDetail {
  type?: string
  msg?: string
  loc?: unknown[]
}

function details(body: unknown): FalDetail[] {
  const d = (body as { detail?: unknown } | undefined)?.detail
  if (typeof d === 'string') return [{ msg: d }]
  return Array.isArray(d) ? (d as FalDetail[]) : []
}

const SAFETY = /content[_ ]policy|nsfw|safety|unsafe/i

export const contentRejected = (why = 'the image was flagged by the provider’s safety check') =>
  new ModelError('CONTENT_REJECTED', `content rejected: ${why}`, false, true)

/** A failure reported as an HTTP status plus fal's error body (client ApiError or a webhook's ERROR payload). */
export function fromStatus(status: number, body: unknown, fallback = 'fal request failed'): ModelError {
  const items = details(body)
  if (items.some((d) => SAFETY.test(d.type ?? '') || SAFETY.test(d.msg ?? ''))) {
    const msg = items.find((d) => d.msg)?.msg
    return contentRejected(msg ?? undefined)
  }
  const summary = items.map((d) => [d.loc?.slice(1).join('.'), d.msg].filter(Boolean).join(': ')).filter(Boolean).join('; ')
  const message = (body as { message?: string } | undefined)?.message ?? fallback
  if (status === 429) return new ModelError('PROVIDER_ERROR', 'fal is rate limiting requests (429)', true)
  if (status >= 500 || status === 408) return new ModelError('PROVIDER_ERROR', `fal failed with ${status}: ${message}`, true)
  if (status === 401 || status === 403) return new ModelError('PROVIDER_ERROR', `fal refused Kiln's credentials (${status})`, false)
  if (status === 422) return new ModelError('PROVIDER_REJECTED', `fal rejected the input: ${summary || message}`, false)
  return new ModelError('PROVIDER_REJECTED', `fal answered ${status}: ${summary || message}`, false)
}

/** Any error thrown while talking to fal → ModelError. */
export function toModelError(err: unknown): ModelError {
  if (err instanceof ModelError) return err
  if (err instanceof ApiError) return fromStatus(err.status, err.body, err.message)
  const name = (err as Error)?.name
  if (name === 'TimeoutError') return new ModelError('PROVIDER_ERROR', 'fal did not answer in time', true)
  // fetch failures, resets, DNS: transient by nature
  return new ModelError('PROVIDER_ERROR', `cannot reach fal: ${(err as Error)?.message ?? String(err)}`, true)
}
