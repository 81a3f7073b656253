/**
 * A fake Google on loopback speaking the real OAuth 2.0 / OpenID Connect wire
 * protocol to arctic and jose: an authorization endpoint that redirects back
 * with `code` and `state`, a token endpoint that checks the client secret, the
 * redirect URI, single-use codes and the PKCE S256 verifier, a JWKS with an
 * RS256 key generated at start, and signed ID tokens.
 */
import { createHash } from 'node:crypto'
import { type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { GoogleEndpoints } from '../../src/adapters/oauth/google'

export interface FakeGoogleUser {
  sub: string
  email: string
  email_verified?: boolean
  name?: string
  picture?: string
}

interface IssuedCode {
  user: FakeGoogleUser
  challenge: string
  redirectUri: string
  used: boolean
}

/** Changes to the next ID token, to exercise the relying party's checks. */
export interface IdTokenTamper {
  audience?: string
  issuer?: string
  expiresInSeconds?: number
  /** Sign with a key that is not in the JWKS. */
  foreignKey?: boolean
}

export interface FakeGoogle {
  url: string
  endpoints: GoogleEndpoints
  clientId: string
  clientSecret: string
  /** Who "signs in" at the next authorization request. */
  nextUser: FakeGoogleUser
  /** Applied to the next token response's ID token only. */
  tamperNext?: IdTokenTamper
  /** Every token-endpoint call, for assertions. */
  tokenCalls: { code: string; verifier: string | null; status: number }[]
  stop(): Promise<void>
}

const b64url = (buf: Buffer) => buf.toString('base64url')
const s256 = (verifier: string) => b64url(createHash('sha256').update(verifier).digest())

export async function startFakeGoogle(opts: { clientId?: string; clientSecret?: string } = {}): Promise<FakeGoogle> {
  const clientId = opts.clientId ?? 'kiln-test.apps.googleusercontent.com'
  const clientSecret = opts.clientSecret ?? 'fake-google-client-secret'
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const foreign = await generateKeyPair('RS256')
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'fake-1', alg: 'RS256', use: 'sig' }
  const codes = new Map<string, IssuedCode>()
  let counter = 0

  const oauthError = (status: number, error: string, description: string) =>
    Response.json({ error, error_description: description }, { status })

  const fake: FakeGoogle = {
    url: '',
    endpoints: { authorization: '', token: '', jwks: '', issuers: [] },
    clientId,
    clientSecret,
    nextUser: { sub: '100000000000000000001', email: 'grace@example.com', email_verified: true, name: 'Grace Hopper' },
    tokenCalls: [],
    stop: async () => {},
  }

  async function idToken(user: FakeGoogleUser): Promise<string> {
    const tamper = fake.tamperNext ?? {}
    fake.tamperNext = undefined
    const now = Math.floor(Date.now() / 1000)
    const { sub, ...claims } = user
    return new SignJWT({ ...claims, email_verified: user.email_verified ?? true })
      .setProtectedHeader({ alg: 'RS256', kid: tamper.foreignKey ? 'fake-1' : jwk.kid!, typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(tamper.issuer ?? fake.url)
      .setAudience(tamper.audience ?? clientId)
      .setIssuedAt(now - 5)
      .setExpirationTime(now + (tamper.expiresInSeconds ?? 3600))
      .sign(tamper.foreignKey ? foreign.privateKey : privateKey)
  }

  async function token(req: Request): Promise<Response> {
    const form = new URLSearchParams(await req.text())
    const code = form.get('code') ?? ''
    const verifier = form.get('code_verifier')
    const fail = (status: number, error: string, description: string) => {
      fake.tokenCalls.push({ code, verifier, status })
      return oauthError(status, error, description)
    }
    const basic = (req.headers.get('authorization') ?? '').replace(/^Basic\s+/i, '')
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':')
    if (id !== clientId || secret !== clientSecret) return fail(401, 'invalid_client', 'bad client credentials')
    if (form.get('grant_type') !== 'authorization_code') return fail(400, 'unsupported_grant_type', 'only authorization_code')
    const issued = codes.get(code)
    if (!issued || issued.used) return fail(400, 'invalid_grant', 'code unknown or already used')
    // a code is burnt on its first presentation, right or wrong (as Google does)
    issued.used = true
    if (form.get('redirect_uri') !== issued.redirectUri) return fail(400, 'invalid_grant', 'redirect_uri mismatch')
    if (!verifier || s256(verifier) !== issued.challenge) return fail(400, 'invalid_grant', 'code_verifier mismatch')
    fake.tokenCalls.push({ code, verifier, status: 200 })
    return Response.json({
      access_token: `ya29.fake-${++counter}`,
      token_type: 'Bearer',
      expires_in: 3599,
      scope: 'openid email profile',
      id_token: await idToken(issued.user),
    })
  }

  function authorize(url: URL): Response {
    const p = url.searchParams
    if (p.get('client_id') !== clientId) return new Response('unknown client', { status: 400 })
    if (p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge'))
      return new Response('PKCE S256 required', { status: 400 })
    const redirectUri = p.get('redirect_uri') ?? ''
    const code = `4/fake-code-${++counter}-${crypto.randomUUID()}`
    codes.set(code, { user: { ...fake.nextUser }, challenge: p.get('code_challenge')!, redirectUri, used: false })
    const back = new URL(redirectUri)
    back.searchParams.set('code', code)
    back.searchParams.set('state', p.get('state') ?? '')
    return new Response(null, { status: 302, headers: { location: back.toString() } })
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url)
      if (req.method === 'GET' && url.pathname === '/o/oauth2/v2/auth') return authorize(url)
      if (req.method === 'POST' && url.pathname === '/token') return token(req)
      if (req.method === 'GET' && url.pathname === '/oauth2/v3/certs') return Response.json({ keys: [jwk] })
      return new Response('not found', { status: 404 })
    },
  })
  fake.url = `http://127.0.0.1:${server.port}`
  fake.endpoints = {
    authorization: `${fake.url}/o/oauth2/v2/auth`,
    token: `${fake.url}/token`,
    jwks: `${fake.url}/oauth2/v3/certs`,
    issuers: [fake.url],
  }
  fake.stop = async () => {
    await server.stop(true)
  }
  return fake
}
