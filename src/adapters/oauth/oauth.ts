/** Sign-in through an outside identity provider: the interface the transport and domain see. */

/** A verified identity, as the provider vouches for it. */
export interface OAuthProfile {
  provider: 'google'
  /** The provider's stable subject id. */
  subject: string
  email: string
  emailVerified: boolean
  name: string | null
  picture: string | null
}

export interface OAuthProvider {
  readonly name: 'google'
  /** Where to send the browser: carries `state` and the PKCE S256 challenge of `codeVerifier`. */
  authorizationUrl(state: string, codeVerifier: string): URL
  /** Exchanges an authorization code and returns the verified profile; throws OAuthError. */
  exchange(code: string, codeVerifier: string): Promise<OAuthProfile>
}

/** Why a sign-in failed: `rejected` by the provider (bad code, verifier or client), or the identity could not be verified. */
export class OAuthError extends Error {
  constructor(
    readonly reason: 'rejected' | 'unverified' | 'unreachable',
    message: string,
  ) {
    super(message)
  }
}
