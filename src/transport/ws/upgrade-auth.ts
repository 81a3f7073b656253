/**
 * Who is opening a socket: a one-time `?ticket=`, the session cookie, or a
 * bearer access token / API key. Runs before the upgrade, so a refusal is a
 * plain 401 in the error envelope and no socket ever opens.
 */
import type { AuthUser } from '../../domain/identity/types'
import { AppError, unauthorized } from '../../lib/errors'
import { presentedCredentials } from '../http/auth'
import type { Services } from '../http/services'

export interface SocketPrincipal {
  user: AuthUser
  via: 'ticket' | 'session' | 'access-token' | 'api-key'
  /** Ids of the credentials behind the socket: revoking any of them closes it (session, key, token family). */
  credentials: string[]
}

/**
 * A cookie rides along on any page's socket to us, so a cookie-authenticated
 * upgrade must come from our own origin (cross-site WebSocket hijacking).
 */
function sameOrigin(request: Request, publicUrl: string): boolean {
  const origin = request.headers.get('origin')
  if (!origin) return true // not a browser: no ambient cookie risk
  try {
    const o = new URL(origin)
    const host = request.headers.get('host')
    return o.host === host || o.origin === new URL(publicUrl).origin
  } catch {
    return false
  }
}

/** Resolves the socket's user or throws the 401 that refuses the upgrade. */
export async function authenticateUpgrade(s: Services, request: Request, ticket: string | undefined): Promise<SocketPrincipal> {
  if (ticket !== undefined) {
    const userId = ticket ? await s.tickets.redeem(ticket) : undefined
    const user = userId && (await s.users.get(userId))
    if (!user) throw unauthorized('ticket is invalid, used or expired')
    return { user, via: 'ticket', credentials: [] }
  }
  const credentials = presentedCredentials(request.headers)
  const principal = await s.auth.authenticate(credentials)
  if (!principal) throw unauthorized('authentication required: session cookie, bearer token or ?ticket=')
  if (principal.via === 'session' && !sameOrigin(request, s.config.publicUrl))
    throw new AppError('UNAUTHORIZED', 'cookie-authenticated sockets must come from this origin')
  const bound = principal.boundTo ? [principal.boundTo.sessionId, principal.boundTo.familyId] : []
  const credentialIds = [principal.credentialId, ...bound].filter((id): id is string => Boolean(id))
  return { user: principal.user, via: principal.via as SocketPrincipal['via'], credentials: credentialIds }
}
