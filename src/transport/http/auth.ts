/**
 * The one auth resolver every route uses: `{ auth: true }` on a route gives it
 * `principal` and `user`, or answers 401 in the envelope.
 */
import { Elysia } from 'elysia'
import { SESSION_COOKIE } from '../../domain/identity/sessions'
import type { PresentedCredentials, Principal } from '../../domain/identity/types'
import { AppError } from '../../lib/errors'
import { enforceRateLimit } from './rate-limit'
import type { Services } from './services'

/** Pulls every credential kind out of the request headers. */
export function presentedCredentials(headers: Headers): PresentedCredentials {
  const c: PresentedCredentials = {}
  const cookie = headers.get('cookie')
  if (cookie) {
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=')
      if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
        const v = decodeURIComponent(part.slice(eq + 1).trim())
        if (v) c.sessionCookie = v
      }
    }
  }
  const authz = headers.get('authorization')
  if (authz) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz)
    if (!m) throw new AppError('UNAUTHORIZED', 'Authorization header must be "Bearer <token>"')
    c.bearer = m[1]
  }
  const apiKey = headers.get('x-api-key')
  if (apiKey) c.apiKey = apiKey.trim()
  return c
}

export function authPlugin(s: Services) {
  return new Elysia({ name: 'kiln.auth' }).macro({
    auth: {
      // Documents the credential kinds on every authenticated operation (OpenAPI `security`).
      detail: { security: [{ sessionCookie: [] }, { bearerAuth: [] }, { apiKeyHeader: [] }] },
      async resolve({ request, set }) {
        const principal: Principal | undefined = await s.auth.authenticate(presentedCredentials(request.headers))
        if (!principal) throw new AppError('UNAUTHORIZED', 'authentication required')
        // On Fly, a request for a user owned by another machine is replayed there by Fly's proxy (once: a replayed request is served here).
        if (s.config.flyReplay && !request.headers.has('fly-replay-src')) {
          const owner = await s.actors.ownerElsewhere?.(principal.user.id)
          if (owner) throw new AppError('CONFLICT', "replaying on the machine that holds this user's session", undefined, { 'fly-replay': `instance=${owner}` })
        }
        // Every authenticated REST request counts against the per-minute limit (headers set, 429 past it).
        await enforceRateLimit(s.generations, principal.user, set.headers)
        return { principal, user: principal.user }
      },
    },
  })
}
