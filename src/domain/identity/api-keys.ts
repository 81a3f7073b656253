/**
 * API keys: `kiln_live_<prefix8><secret>`, shown once, stored as a SHA-256 hash
 * with a visible unique prefix. Verification finds the row by prefix and
 * compares hashes in constant time, so a lookup never leaks how much matched.
 */
import { and, count, desc, eq, gt, isNull, or, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { apiKeys, users } from '../../adapters/db/schema'
import { AppError, notFound } from '../../lib/errors'
import { newId } from '../../lib/ids'
import { apiKeyPrefixOf, constantTimeEqual, generateApiKey, sha256hex } from './crypto'
import type { AuthUser } from './types'
import { toAuthUser } from './users'

/** `lastUsedAt` is written at most this often per key, so a busy key does not turn every read into a write. */
export const LAST_USED_THROTTLE_MS = 60_000
/** Active keys a user may hold at once. */
export const MAX_KEYS_PER_USER = 50

export interface ApiKeyView {
  id: string
  name: string
  prefix: string
  createdAt: Date
  lastUsedAt: Date | null
  expiresAt: Date | null
}

const viewColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  expiresAt: apiKeys.expiresAt,
}

const isUniqueViolation = (err: unknown) => /23505|unique/i.test(`${(err as { code?: string })?.code ?? ''} ${String(err)} ${String((err as Error)?.cause ?? '')}`)

export class ApiKeyStore {
  private readonly byPrefix
  /** Last `lastUsedAt` write per key on this node; the row's own value covers other nodes. */
  private readonly touched = new Map<string, number>()

  constructor(private readonly db: Db) {
    // joined with the (live) user so that a key costs one round trip per request
    this.byPrefix = db
      .select({ id: apiKeys.id, hash: apiKeys.hash, lastUsedAt: apiKeys.lastUsedAt, user: users })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(
        and(
          eq(apiKeys.prefix, sql.placeholder('prefix')),
          isNull(apiKeys.revokedAt),
          or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`)),
          isNull(users.deletedAt),
        ),
      )
      .prepare('api_key_by_prefix')
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  async create(userId: string, name: string, expiresAt?: Date): Promise<ApiKeyView & { key: string }> {
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw new AppError('VALIDATION_ERROR', 'expiresAt must be in the future')
    const [active] = await this.db
      .select({ n: count() })
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    if ((active?.n ?? 0) >= MAX_KEYS_PER_USER) throw new AppError('CONFLICT', `at most ${MAX_KEYS_PER_USER} active API keys per user`)
    for (let attempt = 0; ; attempt++) {
      const { key, prefix, hash } = generateApiKey()
      try {
        const [row] = await this.db
          .insert(apiKeys)
          .values({ id: newId('apiKey'), userId, name, prefix, hash, expiresAt: expiresAt ?? null })
          .returning(viewColumns)
        return { ...row!, key }
      } catch (err) {
        // a prefix collision (36^8 space) is astronomically rare; draw again
        if (attempt < 2 && isUniqueViolation(err)) continue
        throw err
      }
    }
  }

  /** The user's keys that are not revoked (expired ones included, so they can be seen and deleted). */
  async list(userId: string, pageNo: number, limit: number): Promise<{ items: ApiKeyView[]; total: number }> {
    const where = and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt))
    const [items, [total]] = await Promise.all([
      this.db
        .select(viewColumns)
        .from(apiKeys)
        .where(where)
        .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
        .limit(limit)
        .offset((pageNo - 1) * limit),
      this.db.select({ n: count() }).from(apiKeys).where(where),
    ])
    return { items, total: total?.n ?? 0 }
  }

  /** Revokes one of the user's keys; someone else's (or an unknown) key is NOT_FOUND. */
  async revoke(userId: string, keyId: string): Promise<void> {
    const rows = await this.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id })
    if (rows.length === 0) throw notFound('API key')
  }

  /** Whether the key is still usable (not revoked, not expired). */
  async isActive(keyId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`))))
    return Boolean(row)
  }

  /** The key's id and (live) owner when it is valid, else undefined. Used by the Authenticator. */
  verify = async (key: string): Promise<{ keyId: string; userId: string; user: AuthUser } | undefined> => {
    const prefix = apiKeyPrefixOf(key)
    if (!prefix) return undefined
    const [row] = await this.byPrefix.execute({ prefix })
    if (!row || !constantTimeEqual(row.hash, sha256hex(key))) return undefined
    this.touch(row.id, row.lastUsedAt)
    return { keyId: row.id, userId: row.user.id, user: toAuthUser(row.user) }
  }

  /** Records use, at most once a minute per key; failures never fail the request. */
  private touch(keyId: string, lastUsedAt: Date | null) {
    const now = Date.now()
    const last = Math.max(lastUsedAt?.getTime() ?? 0, this.touched.get(keyId) ?? 0)
    if (now - last < LAST_USED_THROTTLE_MS) return
    this.touched.set(keyId, now)
    if (this.touched.size > 10_000) this.touched.clear()
    void this.db
      .update(apiKeys)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiKeys.id, keyId))
      .catch(() => this.touched.delete(keyId))
  }
}
