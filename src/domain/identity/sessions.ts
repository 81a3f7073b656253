/** Browser sessions: an opaque cookie `<session id>.<secret>`, stored as a hash so logout is real. */
import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { sessions, users } from '../../adapters/db/schema'
import { newId } from '../../lib/ids'
import { constantTimeEqual, randomSecret, sha256hex } from './crypto'
import type { AuthUser } from './types'
import { toAuthUser } from './users'

export const SESSION_COOKIE = 'kiln_session'
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000

export class SessionStore {
  private readonly byId

  constructor(private readonly db: Db) {
    // joined with the (live) user so that a cookie costs one round trip per request
    this.byId = db
      .select({ tokenHash: sessions.tokenHash, user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(
        and(
          eq(sessions.id, sql.placeholder('id')),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, sql`now()`),
          isNull(users.deletedAt),
        ),
      )
      .prepare('session_by_id')
  }

  /** Starts a session; returns the cookie value (shown only here). */
  async create(userId: string, userAgent?: string | null): Promise<{ id: string; cookie: string; expiresAt: Date }> {
    const id = newId('session')
    const secret = randomSecret()
    const cookie = `${id}.${secret}`
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS)
    await this.db.insert(sessions).values({ id, userId, tokenHash: sha256hex(cookie), userAgent: userAgent?.slice(0, 300) ?? null, expiresAt })
    return { id, cookie, expiresAt }
  }

  /** The session and its (live) user when the cookie is valid, else undefined. */
  async verify(cookie: string): Promise<{ sessionId: string; userId: string; user: AuthUser } | undefined> {
    const dot = cookie.indexOf('.')
    if (dot < 1 || cookie.length > 200) return undefined
    const id = cookie.slice(0, dot)
    const [row] = await this.byId.execute({ id })
    if (!row || !constantTimeEqual(row.tokenHash, sha256hex(cookie))) return undefined
    return { sessionId: id, userId: row.user.id, user: toAuthUser(row.user) }
  }

  /** The live user of a live session (access tokens bound to a session die with it), in one round trip. */
  async liveUser(sessionId: string): Promise<AuthUser | undefined> {
    const [row] = await this.byId.execute({ id: sessionId })
    return row ? toAuthUser(row.user) : undefined
  }

  async revoke(sessionId: string): Promise<void> {
    await this.db.update(sessions).set({ revokedAt: new Date() }).where(eq(sessions.id, sessionId))
  }

  async revokeAllForUser(userId: string): Promise<void> {
    await this.db.update(sessions).set({ revokedAt: new Date() }).where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
  }
}
