/**
 * Turns a verified outside identity into a Kiln user: the first sign-in creates
 * the user (or links an existing one with the same, provider-verified, email);
 * later sign-ins refresh name, avatar and verification from the provider.
 */
import { and, eq } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { oauthAccounts, users } from '../../adapters/db/schema'
import type { OAuthProfile } from '../../adapters/oauth/oauth'
import { AppError } from '../../lib/errors'
import { newId } from '../../lib/ids'
import type { AuthUser } from './types'
import { toAuthUser, type UserStore } from './users'

export class OAuthAccounts {
  constructor(
    private readonly db: Db,
    private readonly users: UserStore,
  ) {}

  /** The user for a verified profile, created or updated. */
  async signIn(p: OAuthProfile): Promise<{ user: AuthUser; created: boolean }> {
    const [linked] = await this.db
      .select({ userId: oauthAccounts.userId })
      .from(oauthAccounts)
      .where(and(eq(oauthAccounts.provider, p.provider), eq(oauthAccounts.providerAccountId, p.subject)))
    if (linked) {
      const [row] = await this.db
        .update(users)
        .set({ name: p.name, avatarUrl: p.picture, emailVerified: p.emailVerified, deletedAt: null, updatedAt: new Date() })
        .where(eq(users.id, linked.userId))
        .returning()
      await this.db
        .update(oauthAccounts)
        .set({ email: p.email, updatedAt: new Date() })
        .where(and(eq(oauthAccounts.provider, p.provider), eq(oauthAccounts.providerAccountId, p.subject)))
      return { user: toAuthUser(row!), created: false }
    }
    const email = p.email.trim().toLowerCase()
    const [existing] = await this.db.select({ id: users.id }).from(users).where(eq(users.email, email))
    // linking by an address the provider has not verified would let anyone claim someone else's account
    if (existing && !p.emailVerified)
      throw new AppError('UNAUTHORIZED', 'this Google account has not verified its email address, so it cannot be linked to an existing Kiln account')
    const user = await this.users.upsertByEmail(email, { name: p.name, avatarUrl: p.picture, emailVerified: p.emailVerified })
    await this.db
      .insert(oauthAccounts)
      .values({ id: newId('oauthAccount'), userId: user.id, provider: p.provider, providerAccountId: p.subject, email })
      .onConflictDoNothing()
    return { user, created: !existing }
  }
}
