/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is
 * `whsec_<base64 key>`, and `webhook-signature` is `v1,<base64 HMAC-SHA256>` of
 * `${webhook-id}.${webhook-timestamp}.${body}` keyed with the decoded key. Any
 * receiver library of the scheme verifies what Kiln sends.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const SECRET_PREFIX = 'whsec_'
/** Bytes of key material in a new secret (the scheme asks for 24 to 64). */
const SECRET_BYTES = 32
/** A receiver should refuse timestamps further than this from its clock (replay window). */
export const DEFAULT_TOLERANCE_SECONDS = 300

/** A new signing secret, `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`
}

/** The HMAC key of a secret: the base64 after `whsec_` (the prefix is optional, as in the reference libraries). */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64')
}

/** `v1,<base64 signature>` of one message. */
export function signMessage(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')
  return `v1,${mac}`
}

/** The three headers of a signed delivery. */
export function signatureHeaders(secret: string, id: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signMessage(secret, id, timestamp, body),
  }
}

/**
 * What a receiver does: true when one of the space-separated `v1,` signatures
 * matches and the timestamp is within `toleranceSeconds` of `now`.
 */
export function verifySignature(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  opts: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const ts = Number(headers.timestamp)
  if (!/^\d+$/.test(headers.timestamp) || !Number.isSafeInteger(ts)) return false
  const nowSeconds = Math.floor((opts.now ?? Date.now()) / 1000)
  if (Math.abs(nowSeconds - ts) > (opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false
  const expected = Buffer.from(signMessage(secret, headers.id, ts, body).slice(3), 'base64')
  return headers.signature.split(' ').some((part) => {
    const [version, sig] = part.split(',', 2)
    if (version !== 'v1' || !sig) return false
    const given = Buffer.from(sig, 'base64')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
