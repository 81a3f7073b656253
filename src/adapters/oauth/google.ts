/**
 * Google sign-in through arctic's generic OAuth2Client (state + PKCE S256).
 * The endpoints are constructor options so tests can point them at a fake
 * Google on loopback; the defaults are Google's own. The ID token is verified
 * (signature against the JWKS, audience, issuer, expiry) before it is trusted.
 */
import { ArcticFetchError, CodeChallengeMethod, OAuth2Client, OAuth2RequestError } from 'arctic'
import { type JWTVerifyGetKey, createRemoteJWKSet, jwtVerify } from 'jose'
import { OAuthError, type OAuthProfile, type OAuthProvider } from './oauth'

export interface GoogleEndpoints {
  authorization: string
  token: string
  jwks: string
  /** Accepted `iss` values of ID tokens. */
  issuers: string[]
}

export const GOOGLE_ENDPOINTS: GoogleEndpoints = {
  authorization: 'https://accounts.google.com/o/oauth2/v2/auth',
  token: 'https://oauth2.googleapis.com/token',
  jwks: 'https://www.googleapis.com/oauth2/v3/certs',
  issuers: ['https://accounts.google.com', 'accounts.google.com'],
}

const SCOPES = ['openid', 'email', 'profile']

export interface GoogleOptions {
  clientId: string
  clientSecret: string
  redirectUri: string
  endpoints?: Partial<GoogleEndpoints>
}

export class GoogleOAuth implements OAuthProvider {
  readonly name = 'google' as const
  private readonly client: OAuth2Client
  private readonly endpoints: GoogleEndpoints
  private readonly keys: JWTVerifyGetKey

  constructor(private readonly options: GoogleOptions) {
    this.endpoints = { ...GOOGLE_ENDPOINTS, ...options.endpoints }
    this.client = new OAuth2Client(options.clientId, options.clientSecret, options.redirectUri)
    // jose caches the key set and refetches on an unknown `kid` (Google rotates keys)
    this.keys = createRemoteJWKSet(new URL(this.endpoints.jwks), { timeoutDuration: 5000, cooldownDuration: 30_000 })
  }

  authorizationUrl(state: string, codeVerifier: string): URL {
    const url = this.client.createAuthorizationURLWithPKCE(this.endpoints.authorization, state, CodeChallengeMethod.S256, codeVerifier, SCOPES)
    url.searchParams.set('prompt', 'select_account')
    return url
  }

  async exchange(code: string, codeVerifier: string): Promise<OAuthProfile> {
    let idToken: string
    try {
      const tokens = await this.client.validateAuthorizationCode(this.endpoints.token, code, codeVerifier)
      idToken = tokens.idToken()
    } catch (err) {
      if (err instanceof OAuth2RequestError) throw new OAuthError('rejected', `Google refused the code: ${err.code}`)
      if (err instanceof ArcticFetchError) throw new OAuthError('unreachable', 'Google token endpoint unreachable')
      throw new OAuthError('rejected', 'unexpected answer from Google token endpoint')
    }
    return this.verifyIdToken(idToken)
  }

  /** Verifies an ID token and reads the profile from it. */
  async verifyIdToken(idToken: string): Promise<OAuthProfile> {
    let payload: Record<string, unknown>
    try {
      ;({ payload } = await jwtVerify(idToken, this.keys, {
        algorithms: ['RS256'],
        issuer: this.endpoints.issuers,
        audience: this.options.clientId,
        clockTolerance: 30,
      }))
    } catch (err) {
      throw new OAuthError('unverified', `ID token rejected: ${(err as Error).message}`)
    }
    const { sub, email } = payload
    if (typeof sub !== 'string' || !sub || typeof email !== 'string' || !email)
      throw new OAuthError('unverified', 'ID token lacks sub or email')
    return {
      provider: 'google',
      subject: sub,
      email,
      emailVerified: payload.email_verified === true || payload.email_verified === 'true',
      name: typeof payload.name === 'string' ? payload.name : null,
      picture: typeof payload.picture === 'string' ? payload.picture : null,
    }
  }
}
