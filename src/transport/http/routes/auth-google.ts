/**
 * "Sign in with Google": state + PKCE S256, carried between the redirect and
 * the callback in short-lived HttpOnly cookies scoped to these routes. When
 * GOOGLE_CLIENT_ID/SECRET are not set the routes answer 404 NOT_FOUND.
 */
import { generateCodeVerifier, generateState } from 'arctic'
import { Elysia, t } from 'elysia'
import { OAuthError, type OAuthProvider } from '../../../adapters/oauth/oauth'
import { constantTimeEqual } from '../../../domain/identity/crypto'
import { AppError } from '../../../lib/errors'
import { Envelope, ErrorBody, ok } from '../envelope'
import { requestIdOf } from '../request-context'
import type { Services } from '../services'
import { sessionCookie } from './auth'

const STATE_COOKIE = 'kiln_oauth_state'
const VERIFIER_COOKIE = 'kiln_oauth_verifier'
const COOKIE_PATH = '/api/v1/auth/google'
/** Long enough to pick an account and consent, short enough that a stolen pair goes stale. */
const FLOW_TTL_SECONDS = 600

function flowCookie(name: string, value: string, production: boolean, maxAge = FLOW_TTL_SECONDS): string {
  const parts = [`${name}=${value}`, `Path=${COOKIE_PATH}`, 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAge}`]
  return (production ? [...parts, 'Secure'] : parts).join('; ')
}

function readCookie(headers: Headers, name: string): string | undefined {
  for (const part of (headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined
  }
  return undefined
}

function requireGoogle(s: Services): OAuthProvider {
  if (!s.google) throw new AppError('NOT_FOUND', 'Google sign-in is not configured on this server (GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET)')
  return s.google
}

/** Starts a flow: the authorization URL and the cookies that remember its state and verifier. */
function beginFlow(s: Services): { url: string; cookies: string[] } {
  const google = requireGoogle(s)
  const state = generateState()
  const verifier = generateCodeVerifier()
  const prod = s.config.production
  return {
    url: google.authorizationUrl(state, verifier).toString(),
    cookies: [flowCookie(STATE_COOKIE, state, prod), flowCookie(VERIFIER_COOKIE, verifier, prod)],
  }
}

/** A response carrying several Set-Cookie headers (the envelope path keeps only one). */
function withCookies(status: number, requestId: string, cookies: string[], init: { location?: string; body?: string }): Response {
  const headers = new Headers({ 'x-request-id': requestId, 'cache-control': 'no-store' })
  if (init.location) headers.set('location', init.location)
  if (init.body) headers.set('content-type', 'application/json; charset=utf-8')
  for (const c of cookies) headers.append('set-cookie', c)
  return new Response(init.body ?? null, { status, headers })
}

const redirect = (description: string) => ({
  description,
  headers: { Location: { schema: { type: 'string' as const } }, 'Set-Cookie': { schema: { type: 'string' as const } } },
})
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } })

const notConfigured = 'Answers 404 NOT_FOUND when Google sign-in is not configured (GOOGLE_CLIENT_ID/SECRET unset).'

export function googleAuthRoutes(s: Services) {
  return new Elysia({ name: 'kiln.auth-google', prefix: '/api/v1/auth/google', detail: { tags: ['auth'] } })
    .get(
      '',
      ({ request }) => {
        const flow = beginFlow(s)
        return withCookies(302, requestIdOf(request), flow.cookies, { location: flow.url })
      },
      {
        // no `response` hook: the OpenAPI generator would drop the documented 302
        detail: {
          summary: 'Sign in with Google: redirect to Google (state + PKCE S256)',
          description: notConfigured,
          responses: {
            302: redirect('Redirect to Google; sets the short-lived state and verifier cookies'),
            404: errorResponse('Google sign-in is not configured'),
          },
        },
      },
    )
    .get(
      '/url',
      ({ request }) => {
        const flow = beginFlow(s)
        return withCookies(200, requestIdOf(request), flow.cookies, { body: JSON.stringify(ok({ url: flow.url })) })
      },
      {
        response: { 200: Envelope(t.Object({ url: t.String({ format: 'uri' }) })), 404: ErrorBody },
        detail: {
          summary: 'The Google sign-in URL, for single-page apps (sets the same cookies as the redirect)',
          description: notConfigured,
        },
      },
    )
    .get(
      '/callback',
      async ({ query, request }) => {
        const requestId = requestIdOf(request)
        const google = requireGoogle(s)
        if (query.error) throw new AppError('UNAUTHORIZED', `Google sign-in did not complete: ${query.error.slice(0, 100)}`)
        if (!query.code || !query.state) throw new AppError('VALIDATION_ERROR', 'callback needs code and state')
        const state = readCookie(request.headers, STATE_COOKIE)
        const verifier = readCookie(request.headers, VERIFIER_COOKIE)
        if (!state || !verifier) throw new AppError('UNAUTHORIZED', 'sign-in flow expired or was started in another browser; start again')
        if (!constantTimeEqual(state, query.state)) throw new AppError('UNAUTHORIZED', 'state does not match the sign-in flow')
        let profile: Awaited<ReturnType<OAuthProvider['exchange']>>
        try {
          profile = await google.exchange(query.code, verifier)
        } catch (err) {
          if (!(err instanceof OAuthError)) throw err
          s.log.warn('google sign-in failed', { requestId, reason: err.reason, detail: err.message })
          if (err.reason === 'unreachable') throw new AppError('PROVIDER_ERROR', 'Google could not be reached; try again')
          throw new AppError('UNAUTHORIZED', 'Google sign-in failed')
        }
        const { user, created } = await s.oauthAccounts.signIn(profile)
        const session = await s.sessions.create(user.id, request.headers.get('user-agent'))
        s.log.info('signed in with google', { requestId, userId: user.id, created })
        const prod = s.config.production
        const cookies = [sessionCookie(session.cookie, prod), flowCookie(STATE_COOKIE, '', prod, 0), flowCookie(VERIFIER_COOKIE, '', prod, 0)]
        return withCookies(302, requestId, cookies, { location: '/' })
      },
      {
        query: t.Object({
          code: t.Optional(t.String({ maxLength: 2048 })),
          state: t.Optional(t.String({ maxLength: 256 })),
          error: t.Optional(t.String({ maxLength: 256 })),
          scope: t.Optional(t.String({ maxLength: 2048 })),
          authuser: t.Optional(t.String({ maxLength: 16 })),
          prompt: t.Optional(t.String({ maxLength: 64 })),
          hd: t.Optional(t.String({ maxLength: 256 })),
        }),
        detail: {
          summary: 'Google redirects here: checks state and verifier, signs in, sets the session cookie, redirects to /',
          description: notConfigured,
          responses: {
            302: redirect('Signed in: session cookie set, redirect to /'),
            400: errorResponse('code or state missing'),
            401: errorResponse('state or verifier missing or mismatched, code refused, or ID token not verified'),
            404: errorResponse('Google sign-in is not configured'),
            502: errorResponse('Google unreachable'),
          },
        },
      },
    )
}
