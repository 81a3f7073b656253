/**
 * Rotating refresh tokens. Each `auth/token` exchange starts a family; every
 * refresh marks the presented token used and issues its successor. Presenting a
 * token that was already rotated means it leaked (or was replayed), so the
 * whole family is revoked and the caller gets 401.
 */
import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { refreshTokens } from '../../adapters/db/schema'
import { AppError } from '../../lib/errors'
import { newId } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import { randomSecret, sha256hex } from './crypto'

export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000
const TOKEN_PREFIX = 'kiln_rt_'

export interface IssuedRefreshToken {
  token: string
  familyId: string
  expiresAt: Date
}

const invalid = () => new AppError('UNAUTHORIZED', 'refresh token is invalid, expired or revoked')

export class RefreshTokenStore {
  private readonly liveInFamily

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    /** Told of every family this store revokes (reuse included), so sockets resting on it close on every node. */
    private readonly onFamiliesRevoked: (userId: string, familyIds: string[]) => Promise<void> = async () => {},
  ) {
    // read on every request made with an access token from `auth/token`
    this.liveInFamily = db
      .select({ id: refreshTokens.id })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.familyId, sql.placeholder('familyId')), isNull(refreshTokens.revokedAt)))
      .limit(1)
      .prepare('refresh_family_live')
  }

  /** Issues a token; without `familyId` it starts a new family. */
  async issue(userId: string, apiKeyId: string | null, familyId: string = newId('refreshToken')): Promise<IssuedRefreshToken> {
    const token = TOKEN_PREFIX + randomSecret(32)
    const expiresAt = new Date(Date.now() + REFRESH_TOKEN_TTL_MS)
    await this.db
      .insert(refreshTokens)
      .values({ id: newId('refreshToken'), userId, familyId, apiKeyId, tokenHash: sha256hex(token), expiresAt })
    return { token, familyId, expiresAt }
  }

  /**
   * Consumes a token and returns what its successor needs. The conditional
   * update makes two racing refreshes of one token resolve to one winner; the
   * loser is treated as reuse.
   */
  async consume(token: string): Promise<{ userId: string; apiKeyId: string | null; familyId: string }> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) throw invalid()
    const tokenHash = sha256hex(token)
    const [won] = await this.db
      .update(refreshTokens)
      .set({ usedAt: new Date() })
      .where(
        and(
          eq(refreshTokens.tokenHash, tokenHash),
          isNull(refreshTokens.usedAt),
          isNull(refreshTokens.revokedAt),
          gt(refreshTokens.expiresAt, sql`now()`),
        ),
      )
      .returning({ userId: refreshTokens.userId, apiKeyId: refreshTokens.apiKeyId, familyId: refreshTokens.familyId })
    if (won) return won
    const [row] = await this.db
      .select({ familyId: refreshTokens.familyId, usedAt: refreshTokens.usedAt, userId: refreshTokens.userId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, tokenHash))
    if (row?.usedAt) {
      await this.revokeFamily(row.familyId)
      this.log.warn('refresh token reused; family revoked', { familyId: row.familyId, userId: row.userId })
    }
    throw invalid()
  }

  /** Revokes every token of a family. */
  async revokeFamily(familyId: string): Promise<void> {
    const rows = await this.db
      .update(refreshTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
      .returning({ userId: refreshTokens.userId, familyId: refreshTokens.familyId })
    await this.announce(rows)
  }

  private async announce(rows: { userId: string; familyId: string }[]): Promise<void> {
    const byUser = new Map<string, Set<string>>()
    for (const r of rows) byUser.set(r.userId, (byUser.get(r.userId) ?? new Set()).add(r.familyId))
    for (const [userId, families] of byUser)
      await this.onFamiliesRevoked(userId, [...families]).catch((err) =>
        this.log.warn('announcing revoked refresh families failed', { userId, err: err as Error }),
      )
  }

  /** Revokes the family of a presented token; unknown tokens are ignored (RFC 7009: revocation does not reveal validity). */
  async revokeByToken(token: string): Promise<void> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return
    const [row] = await this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, sha256hex(token)))
    if (row) await this.revokeFamily(row.familyId)
  }

  /** Revokes every family started from an API key (the key was revoked). */
  async revokeForApiKey(apiKeyId: string): Promise<void> {
    const rows = await this.db
      .update(refreshTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(refreshTokens.apiKeyId, apiKeyId), isNull(refreshTokens.revokedAt)))
      .returning({ userId: refreshTokens.userId, familyId: refreshTokens.familyId })
    await this.announce(rows)
  }

  /** Whether a family still has a live token (access tokens minted from it stay valid only while it does). */
  async familyActive(familyId: string): Promise<boolean> {
    const [row] = await this.liveInFamily.execute({ familyId })
    return Boolean(row)
  }
}
