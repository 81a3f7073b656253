import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Hex SHA-256, used to store tokens and keys without storing them. */
export const sha256hex = (value: string | Uint8Array) => createHash('sha256').update(value).digest('hex')

/** A random URL-safe secret with `bytes` of entropy. */
export const randomSecret = (bytes = 32) => randomBytes(bytes).toString('base64url')

/** Compares two strings in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab)
    return false
  }
  return timingSafeEqual(ab, bb)
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'

/** `n` random characters from `alphabet`, by rejection sampling so every character is equally likely. */
function randomChars(alphabet: string, n: number): string {
  const limit = 256 - (256 % alphabet.length)
  let out = ''
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < limit) out += alphabet[b % alphabet.length]
      if (out.length === n) break
    }
  }
  return out
}

export const API_KEY_PREFIX = 'kiln_live_'
const PREFIX_CHARS = 8
const SECRET_CHARS = 32
/** Alphanumeric only, so the key copies with a double click; 32 chars ≈ 190 bits of entropy. */
const API_KEY_SHAPE = new RegExp(`^${API_KEY_PREFIX}[a-z0-9]{${PREFIX_CHARS}}[A-Za-z0-9]{${SECRET_CHARS}}$`)

/** A new API key `kiln_live_<prefix8><secret32>`, its visible prefix and its stored hash. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = API_KEY_PREFIX + randomChars(LOWER_ALNUM, PREFIX_CHARS)
  const key = prefix + randomChars(ALNUM, SECRET_CHARS)
  return { key, prefix, hash: sha256hex(key) }
}

/** The visible prefix of a well-formed API key, or undefined (checked before touching the database). */
export function apiKeyPrefixOf(key: string): string | undefined {
  return API_KEY_SHAPE.test(key) ? key.slice(0, API_KEY_PREFIX.length + PREFIX_CHARS) : undefined
}

/** True when a presented string is shaped like a Kiln API key (as opposed to a JWT or garbage). */
export const looksLikeApiKey = (s: string) => s.startsWith(API_KEY_PREFIX)
