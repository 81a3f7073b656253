/** Users: created on first sign-in, read on every request. */
import { and, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { apiKeys, refreshTokens, sessions, type Tier, type User, users } from '../../adapters/db/schema'
import { newId } from '../../lib/ids'
import type { AuthUser } from './types'

export function toAuthUser(u: User): AuthUser {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    displayName: u.displayName,
    avatarUrl: u.avatarUrl,
    language: u.language,
    tier: u.tier,
    emailVerified: u.emailVerified,
    createdAt: u.createdAt,
  }
}

export class UserStore {
  private readonly byId

  constructor(private readonly db: Db) {
    this.byId = db
      .select()
      .from(users)
      .where(and(eq(users.id, sql.placeholder('id')), isNull(users.deletedAt)))
      .prepare('user_by_id')
  }

  /** The live (not deleted) user, or undefined. */
  async get(id: string): Promise<AuthUser | undefined> {
    const [row] = await this.byId.execute({ id })
    return row ? toAuthUser(row) : undefined
  }

  /** Applies a profile change; undefined when the user is gone. */
  async updateProfile(
    id: string,
    patch: { displayName?: string | null; avatarUrl?: string | null; language?: 'en' | 'ar' },
  ): Promise<AuthUser | undefined> {
    const set: Record<string, unknown> = { updatedAt: new Date() }
    for (const k of ['displayName', 'avatarUrl', 'language'] as const) if (patch[k] !== undefined) set[k] = patch[k]
    const [row] = await this.db
      .update(users)
      .set(set)
      .where(and(eq(users.id, id), isNull(users.deletedAt)))
      .returning()
    return row ? toAuthUser(row) : undefined
  }

  /**
   * Marks the user deleted: from the next request on, every credential of theirs
   * is refused. Credentials are revoked too, so that signing in again with the
   * same address (which revives the row) does not bring old keys back.
   */
  async markDeleted(id: string): Promise<void> {
    const now = new Date()
    await this.db.transaction(async (tx) => {
      await tx.update(users).set({ deletedAt: now }).where(eq(users.id, id))
      await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.userId, id), isNull(sessions.revokedAt)))
      await tx.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.userId, id), isNull(apiKeys.revokedAt)))
      await tx.update(refreshTokens).set({ revokedAt: now }).where(and(eq(refreshTokens.userId, id), isNull(refreshTokens.revokedAt)))
    })
  }

  /** Finds or creates the user for an email; `patch` fields update an existing one. */
  async upsertByEmail(
    email: string,
    patch: { name?: string | null; avatarUrl?: string | null; emailVerified?: boolean; tier?: Tier },
  ): Promise<AuthUser> {
    const normalized = email.trim().toLowerCase()
    const set: Record<string, unknown> = { updatedAt: new Date(), deletedAt: null }
    if (patch.name !== undefined) set.name = patch.name
    if (patch.avatarUrl !== undefined) set.avatarUrl = patch.avatarUrl
    if (patch.emailVerified !== undefined) set.emailVerified = patch.emailVerified
    if (patch.tier !== undefined) set.tier = patch.tier
    const [row] = await this.db
      .insert(users)
      .values({
        id: newId('user'),
        email: normalized,
        name: patch.name ?? null,
        displayName: patch.name ?? null,
        avatarUrl: patch.avatarUrl ?? null,
        emailVerified: patch.emailVerified ?? false,
        tier: patch.tier ?? 'free',
      })
      .onConflictDoUpdate({ target: users.email, set })
      .returning()
    return toAuthUser(row!)
  }
}
