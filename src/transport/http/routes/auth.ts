/** Sign-in, sign-out, and the API-key → access/refresh token exchange. */
import { Elysia, t } from 'elysia'
import { TIERS } from '../../../adapters/db/schema'
import { literals } from '../../../domain/generations/input'
import { looksLikeJwt } from '../../../domain/identity/access-tokens'
import { SESSION_COOKIE, SESSION_TTL_MS } from '../../../domain/identity/sessions'
import type { AuthUser, Principal } from '../../../domain/identity/types'
import { AppError } from '../../../lib/errors'
import { authPlugin, presentedCredentials } from '../auth'
import { Envelope, ErrorBody, ok } from '../envelope'
import type { Services } from '../services'
import { rejectUnknownKeys } from '../strict-body'
import { UserSchema, userView } from './user-view'
import { announceRevoked } from '../../ws/revocations'

/** Set-Cookie value for a session (HttpOnly, SameSite=Lax, Secure in production). */
export function sessionCookie(value: string, production: boolean, maxAgeSeconds = SESSION_TTL_MS / 1000): string {
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.floor(maxAgeSeconds)}`,
    ...(production ? ['Secure'] : []),
  ].join('; ')
}

const TokenPair = t.Object(
  {
    tokenType: t.Literal('Bearer'),
    accessToken: t.String(),
    expiresAt: t.String({ format: 'date-time' }),
    refreshToken: t.String({ description: 'single use: each refresh returns a new one; reusing an old one revokes the whole family' }),
    refreshExpiresAt: t.String({ format: 'date-time' }),
  },
  { title: 'TokenPair' },
)

const DevBody = t.Object(
  {
    email: t.String({ format: 'email', maxLength: 254 }),
    name: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
    tier: t.Optional(literals(TIERS)),
  },
  { additionalProperties: false },
)
const TokenBody = t.Object({ apiKey: t.Optional(t.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false })
const RefreshBody = t.Object({ refreshToken: t.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })
const RevokeBody = t.Object({ refreshToken: t.Optional(t.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false })

/** Mints an access token bound to a refresh family, plus that family's next refresh token. */
async function tokenPair(s: Services, user: AuthUser, apiKeyId: string | null, familyId?: string) {
  const refresh = await s.refreshTokens.issue(user.id, apiKeyId, familyId)
  const access = await s.accessTokens.sign(user.id, user.tier, { fam: refresh.familyId })
  return {
    tokenType: 'Bearer' as const,
    accessToken: access.token,
    expiresAt: access.expiresAt.toISOString(),
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt.toISOString(),
  }
}

/** The API key a request offers for `auth/token`: body first, then X-API-Key, then a non-JWT bearer. */
function offeredApiKey(body: { apiKey?: string } | null | undefined, headers: Headers): string | undefined {
  if (body?.apiKey) return body.apiKey
  const creds = presentedCredentials(headers)
  if (creds.apiKey) return creds.apiKey
  if (creds.bearer && !looksLikeJwt(creds.bearer)) return creds.bearer
  return undefined
}

/** Revokes whatever credential the principal presented; returns its kind. */
async function revokePresented(s: Services, p: Principal): Promise<string> {
  if (p.via === 'session') await s.sessions.revoke(p.credentialId)
  if (p.via === 'api-key') {
    await s.apiKeys.revoke(p.user.id, p.credentialId)
    await s.refreshTokens.revokeForApiKey(p.credentialId)
  }
  if (p.boundTo?.sessionId) await s.sessions.revoke(p.boundTo.sessionId)
  if (p.boundTo?.familyId) await s.refreshTokens.revokeFamily(p.boundTo.familyId) // announces the family itself
  await announceRevoked(s.bus, p.user.id, [p.credentialId, p.boundTo?.sessionId])
  return p.via
}

export function authRoutes(s: Services) {
  return new Elysia({ name: 'kiln.auth-routes', prefix: '/api/v1/auth', detail: { tags: ['auth'] } })
    .use(authPlugin(s))
    .post(
      '/dev',
      async ({ body, request, set }) => {
        if (s.config.production) throw new AppError('NOT_FOUND', 'no such route')
        const user = await s.users.upsertByEmail(body.email, { name: body.name, tier: body.tier })
        const session = await s.sessions.create(user.id, request.headers.get('user-agent'))
        const access = await s.accessTokens.sign(user.id, user.tier, { sid: session.id })
        set.headers['set-cookie'] = sessionCookie(session.cookie, s.config.production)
        return ok({ user: userView(user), accessToken: access.token, expiresAt: access.expiresAt.toISOString() })
      },
      {
        body: DevBody,
        transform: rejectUnknownKeys(DevBody),
        response: {
          200: Envelope(t.Object({ user: UserSchema, accessToken: t.String(), expiresAt: t.String({ format: 'date-time' }) })),
          400: ErrorBody,
          404: ErrorBody,
        },
        detail: { summary: 'Dev sign-in by email (refused with 404 when NODE_ENV=production)' },
      },
    )
    .get('/user', ({ user }) => ok(userView(user)), {
      auth: true,
      response: { 200: Envelope(UserSchema), 401: ErrorBody, 429: ErrorBody },
      detail: { summary: 'The signed-in user' },
    })
    .post(
      '/logout',
      async ({ principal, set }) => {
        if (principal.via === 'session') await s.sessions.revoke(principal.credentialId)
        if (principal.boundTo?.sessionId) await s.sessions.revoke(principal.boundTo.sessionId)
        const ended = [principal.via === 'session' ? principal.credentialId : undefined, principal.boundTo?.sessionId]
        await announceRevoked(s.bus, principal.user.id, ended)
        set.headers['set-cookie'] = sessionCookie('', s.config.production, 0)
        return ok({ signedOut: true })
      },
      {
        auth: true,
        response: { 200: Envelope(t.Object({ signedOut: t.Boolean() })), 401: ErrorBody, 429: ErrorBody },
        detail: { summary: 'End the current session (and access tokens minted for it)' },
      },
    )
    .post(
      '/token',
      async ({ body, request, set }) => {
        const key = offeredApiKey(body, request.headers)
        if (!key) throw new AppError('UNAUTHORIZED', 'send an API key in the body, X-API-Key or Authorization: Bearer')
        const k = await s.apiKeys.verify(key)
        const user = k?.user
        if (!k || !user) throw new AppError('INVALID_API_KEY', 'API key is invalid, expired or revoked')
        set.headers['cache-control'] = 'no-store'
        return ok(await tokenPair(s, user, k.keyId))
      },
      {
        body: t.Optional(TokenBody),
        transform: rejectUnknownKeys(TokenBody),
        response: { 200: Envelope(TokenPair), 400: ErrorBody, 401: ErrorBody },
        detail: { summary: 'Exchange an API key for a short-lived access token and a refresh token' },
      },
    )
    .post(
      '/refresh',
      async ({ body, set }) => {
        const used = await s.refreshTokens.consume(body.refreshToken)
        const user = await s.users.get(used.userId)
        const keyLive = used.apiKeyId === null || (await s.apiKeys.isActive(used.apiKeyId))
        if (!user || !keyLive) {
          await s.refreshTokens.revokeFamily(used.familyId)
          throw new AppError('UNAUTHORIZED', 'refresh token is invalid, expired or revoked')
        }
        set.headers['cache-control'] = 'no-store'
        return ok(await tokenPair(s, user, used.apiKeyId, used.familyId))
      },
      {
        body: RefreshBody,
        transform: rejectUnknownKeys(RefreshBody),
        response: { 200: Envelope(TokenPair), 400: ErrorBody, 401: ErrorBody },
        detail: { summary: 'Rotate a refresh token (a reused one revokes its whole family: 401)' },
      },
    )
    .delete(
      '/revoke',
      async ({ body, request, set }) => {
        if (body?.refreshToken) {
          await s.refreshTokens.revokeByToken(body.refreshToken)
          return ok({ revoked: 'refresh-token' })
        }
        const principal = await s.auth.authenticate(presentedCredentials(request.headers))
        if (!principal) throw new AppError('UNAUTHORIZED', 'send a refresh token in the body, or the credential to revoke')
        const kind = await revokePresented(s, principal)
        if (kind === 'session') set.headers['set-cookie'] = sessionCookie('', s.config.production, 0)
        return ok({ revoked: kind })
      },
      {
        body: t.Optional(RevokeBody),
        transform: rejectUnknownKeys(RevokeBody),
        response: {
          200: Envelope(t.Object({ revoked: t.String({ description: 'refresh-token, session, api-key or access-token' }) })),
          400: ErrorBody,
          401: ErrorBody,
        },
        detail: {
          summary: 'Revoke a refresh token (its family), or else the presented credential',
          description:
            'With `{ refreshToken }` the token and its whole family are revoked (unknown tokens answer 200 too, RFC 7009). Without a body the presented credential is revoked: the session, the API key, or the refresh family / session an access token was minted from.',
        },
      },
    )
}
