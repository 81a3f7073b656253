import type { Tier } from '../../adapters/db/schema'

/** The signed-in user as every route sees it. */
export interface AuthUser {
  id: string
  email: string
  name: string | null
  displayName: string | null
  avatarUrl: string | null
  language: 'en' | 'ar'
  tier: Tier
  emailVerified: boolean
  createdAt: Date
}

/** How the request proved who it is. */
export type CredentialKind = 'session' | 'access-token' | 'api-key' | 'ticket'

export interface Principal {
  user: AuthUser
  via: CredentialKind
  /** Session id, API key id or token id behind the credential. */
  credentialId: string
  /** For an access token: the session or refresh family it was minted from (revoking the token revokes that). */
  boundTo?: { sessionId?: string; familyId?: string }
}

/** What a request presented; the first valid one wins, an invalid one is an error. */
export interface PresentedCredentials {
  sessionCookie?: string
  bearer?: string
  apiKey?: string
}
