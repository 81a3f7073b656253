/**
 * Per-minute request limit on every authenticated REST request. The decision
 * comes from the user's session actor (single writer of the token bucket, all
 * in memory, so the hot path touches no database); this module only turns it
 * into headers: `X-RateLimit-*` (reset as epoch seconds) and the IETF
 * `RateLimit-Policy` / `RateLimit` pair (reset as delta seconds).
 */
import type { RateDecision } from '../../actors/token-bucket'
import { rateLimited } from '../../actors/generation-service'
import type { Tier } from '../../adapters/db/schema/users'

const POLICY = 'per-minute'

export function rateLimitHeaders(d: RateDecision, now = Date.now()): Record<string, string> {
  return {
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': String(Math.ceil(now / 1000) + d.resetSeconds),
    'ratelimit-policy': `"${POLICY}";q=${d.limit};w=${d.windowSeconds}`,
    ratelimit: `"${POLICY}";r=${d.remaining};t=${d.resetSeconds}`,
  }
}

export interface RequestLimiter {
  /** A plain decision when the user's actor is on this node; a promise when it is asked over the cluster. */
  takeRequest(user: { id: string; tier: Tier }): RateDecision | Promise<RateDecision>
}

/** Counts the request, sets the headers, and throws 429 RATE_LIMIT_EXCEEDED past the limit. */
export async function enforceRateLimit(limiter: RequestLimiter | undefined, user: { id: string; tier: Tier }, headers: Record<string, unknown>) {
  if (!limiter) return
  const d = await limiter.takeRequest(user)
  Object.assign(headers, rateLimitHeaders(d))
  if (!d.allowed) throw rateLimited(d)
}
