/**
 * Resolves presented credentials to a principal. Order: session cookie, bearer
 * (access token or API key), X-API-Key. The first present credential decides;
 * an invalid one is an error, never silently skipped.
 */
import { AppError } from '../../lib/errors'
import { type AccessTokens, looksLikeJwt } from './access-tokens'
import type { SessionStore } from './sessions'
import type { AuthUser, PresentedCredentials, Principal } from './types'
import type { UserStore } from './users'

/** Verifies an API key; supplied by the API-key service. */
export type ApiKeyVerifier = (key: string) => Promise<{ keyId: string; userId: string; user?: AuthUser } | undefined>

/** Whether a refresh-token family is still live; supplied by the refresh-token store. */
export type FamilyCheck = (familyId: string) => Promise<boolean>

export class Authenticator {
  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly tokens: AccessTokens,
    private readonly verifyApiKey: ApiKeyVerifier,
    private readonly familyActive: FamilyCheck = async () => true,
  ) {}

  /** The principal, or undefined when nothing was presented. Throws 401 for a bad credential. */
  async authenticate(c: PresentedCredentials): Promise<Principal | undefined> {
    if (c.sessionCookie) {
      const s = await this.sessions.verify(c.sessionCookie)
      const user = s?.user
      if (!s || !user) throw new AppError('UNAUTHORIZED', 'session is invalid or has ended')
      return { user, via: 'session', credentialId: s.sessionId }
    }
    if (c.bearer) {
      if (looksLikeJwt(c.bearer)) {
        const claims = await this.tokens.verify(c.bearer)
        const user = claims && (await this.boundUser(claims.sub, claims.sid, claims.fam))
        if (!claims || !user) throw new AppError('UNAUTHORIZED', 'access token is invalid or expired')
        const boundTo = claims.sid || claims.fam ? { sessionId: claims.sid, familyId: claims.fam } : undefined
        return { user, via: 'access-token', credentialId: claims.jti, ...(boundTo ? { boundTo } : {}) }
      }
      return this.viaApiKey(c.bearer)
    }
    if (c.apiKey) return this.viaApiKey(c.apiKey)
    return undefined
  }

  /**
   * The token's user, read fresh (the user row, not the token's `tier` claim, is
   * what every limit reads); a token minted for a session or a refresh family
   * is valid only while that is.
   */
  private async boundUser(userId: string, sid?: string, fam?: string): Promise<AuthUser | undefined> {
    if (sid) {
      const user = await this.sessions.liveUser(sid)
      return user?.id === userId ? user : undefined
    }
    const [user, live] = await Promise.all([this.users.get(userId), fam ? this.familyActive(fam) : true])
    return live ? user : undefined
  }

  private async viaApiKey(key: string): Promise<Principal> {
    const k = await this.verifyApiKey(key)
    const user = k && (k.user ?? (await this.users.get(k.userId)))
    if (!k || !user) throw new AppError('INVALID_API_KEY', 'API key is invalid, expired or revoked')
    return { user, via: 'api-key', credentialId: k.keyId }
  }
}
