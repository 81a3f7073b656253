/** Google sign-in against a fake Google on loopback, through arctic and jose for real. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { oauthAccounts, users } from '../../src/adapters/db/schema'
import { type FakeGoogle, startFakeGoogle } from '../fakes/google'
import { type TestKiln, json, startKiln } from '../harness'

let google: FakeGoogle
let k: TestKiln

beforeAll(async () => {
  google = await startFakeGoogle()
  k = await startKiln({
    env: {
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_REDIRECT_URI: 'http://kiln.test/api/v1/auth/google/callback',
    },
    given: { googleEndpoints: google.endpoints },
  })
})
afterAll(async () => {
  await k.close()
  await google.stop()
})

const cookieHeader = (setCookies: string[]) => setCookies.map((c) => c.split(';')[0]).join('; ')

/** Starts a flow at Kiln and lets the fake Google approve it; returns the callback path and the flow cookies. */
async function approveAtGoogle(): Promise<{ callback: string; cookies: string[] }> {
  const start = await k.request('/api/v1/auth/google')
  expect(start.status).toBe(302)
  const cookies = start.headers.getSetCookie()
  const atGoogle = await fetch(start.headers.get('location')!, { redirect: 'manual' })
  expect(atGoogle.status).toBe(302)
  const back = new URL(atGoogle.headers.get('location')!)
  return { callback: back.pathname + back.search, cookies }
}

async function signIn(): Promise<Response> {
  const { callback, cookies } = await approveAtGoogle()
  return k.request(callback, { headers: { cookie: cookieHeader(cookies) } })
}

test('the redirect carries state, PKCE S256 and the scopes, and sets short-lived HttpOnly flow cookies', async () => {
  const r = await k.request('/api/v1/auth/google')
  const url = new URL(r.headers.get('location')!)
  expect(url.origin + url.pathname).toBe(google.endpoints.authorization)
  expect(url.searchParams.get('code_challenge_method')).toBe('S256')
  expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  expect(url.searchParams.get('scope')).toBe('openid email profile')
  const state = url.searchParams.get('state')!
  const cookies = r.headers.getSetCookie()
  expect(cookies).toHaveLength(2)
  expect(cookies.find((c) => c.startsWith(`kiln_oauth_state=${state};`))).toBeDefined()
  for (const c of cookies) expect(c).toMatch(/HttpOnly.*SameSite=Lax.*Max-Age=600/)
  expect(r.headers.get('x-request-id')).toBeTruthy()

  const spa = await json(k.request('/api/v1/auth/google/url'))
  expect(spa.status).toBe(200)
  expect(new URL(spa.body.data.url).searchParams.get('code_challenge_method')).toBe('S256')
  expect(spa.headers.getSetCookie()).toHaveLength(2)
})

test('redirect → Google → callback signs in, creates the user and its Google link, and clears the flow cookies', async () => {
  google.nextUser = { sub: 'g-ada', email: 'Ada@Example.com', email_verified: true, name: 'Ada L', picture: 'https://img.example/ada.png' }
  const r = await signIn()
  expect(r.status).toBe(302)
  expect(r.headers.get('location')).toBe('/')
  const set = r.headers.getSetCookie()
  const session = set.find((c) => c.startsWith('kiln_session='))!
  expect(session).toContain('HttpOnly')
  expect(session).toContain('SameSite=Lax')
  expect(set.filter((c) => c.startsWith('kiln_oauth_') && c.includes('Max-Age=0'))).toHaveLength(2)
  const me = await json(k.request('/api/v1/auth/user', { headers: { cookie: session.split(';')[0]! } }))
  expect(me.status).toBe(200)
  expect(me.body.data).toMatchObject({ email: 'ada@example.com', name: 'Ada L', emailVerified: true, avatarUrl: 'https://img.example/ada.png' })
  const links = await k.kiln.services.database.db.select().from(oauthAccounts).where(eq(oauthAccounts.providerAccountId, 'g-ada'))
  expect(links).toHaveLength(1)
  expect(links[0]!.userId).toBe(me.body.data.id)

  // a later sign-in updates the same user from the profile
  google.nextUser = { ...google.nextUser, name: 'Ada Lovelace' }
  const again = await signIn()
  const cookie2 = again.headers.getSetCookie().find((c) => c.startsWith('kiln_session='))!.split(';')[0]!
  const me2 = await json(k.request('/api/v1/auth/user', { headers: { cookie: cookie2 } }))
  expect(me2.body.data.id).toBe(me.body.data.id)
  expect(me2.body.data.name).toBe('Ada Lovelace')
})

test('missing state, missing flow cookies and a mismatched state are refused', async () => {
  const { callback, cookies } = await approveAtGoogle()
  const url = new URL(callback, 'http://kiln.test')
  const code = url.searchParams.get('code')!
  const noState = await json(k.request(`/api/v1/auth/google/callback?code=${encodeURIComponent(code)}`, { headers: { cookie: cookieHeader(cookies) } }))
  expect(noState.status).toBe(400)
  const noCookies = await json(k.request(callback))
  expect(noCookies.status).toBe(401)
  expect(noCookies.body.error.code).toBe('UNAUTHORIZED')
  url.searchParams.set('state', 'attacker-chosen-state')
  const mismatch = await json(k.request(url.pathname + url.search, { headers: { cookie: cookieHeader(cookies) } }))
  expect(mismatch.status).toBe(401)
  expect(mismatch.body.error.message).toContain('state')
  // none of these reached Google's token endpoint with the code
  expect(google.tokenCalls.some((c) => c.code === code)).toBe(false)
})

test('a wrong PKCE verifier is rejected by Google and the sign-in fails', async () => {
  const { callback, cookies } = await approveAtGoogle()
  const tampered = cookies.map((c) => c.split(';')[0]!).map((c) => (c.startsWith('kiln_oauth_verifier=') ? `kiln_oauth_verifier=${'x'.repeat(43)}` : c))
  const r = await json(k.request(callback, { headers: { cookie: tampered.join('; ') } }))
  expect(r.status).toBe(401)
  expect(google.tokenCalls.at(-1)!.status).toBe(400)
  expect(r.headers.getSetCookie().some((c) => c.startsWith('kiln_session='))).toBe(false)
})

test('a replayed authorization code is refused', async () => {
  const { callback, cookies } = await approveAtGoogle()
  const first = await k.request(callback, { headers: { cookie: cookieHeader(cookies) } })
  expect(first.status).toBe(302)
  const replay = await json(k.request(callback, { headers: { cookie: cookieHeader(cookies) } }))
  expect(replay.status).toBe(401)
  expect(google.tokenCalls.at(-1)!.status).toBe(400)
})

test('ID tokens with a wrong audience, issuer, signature or expiry are not trusted', async () => {
  for (const tamper of [{ audience: 'someone-else' }, { issuer: 'https://evil.example' }, { foreignKey: true }, { expiresInSeconds: -120 }]) {
    google.nextUser = { sub: `g-bad-${JSON.stringify(tamper)}`, email: 'mallory@example.com', email_verified: true }
    const { callback, cookies } = await approveAtGoogle()
    google.tamperNext = tamper
    const r = await json(k.request(callback, { headers: { cookie: cookieHeader(cookies) } }))
    expect(r.status).toBe(401)
  }
  const rows = await k.kiln.services.database.db.select().from(users).where(eq(users.email, 'mallory@example.com'))
  expect(rows).toHaveLength(0)
})

test('an unverified Google address cannot take over an existing account; a refusal at Google is 401', async () => {
  await k.request('/api/v1/auth/dev', { method: 'POST', json: { email: 'victim@example.com' } })
  google.nextUser = { sub: 'g-attacker', email: 'victim@example.com', email_verified: false }
  const r = await json(signIn())
  expect(r.status).toBe(401)
  const denied = await json(k.request('/api/v1/auth/google/callback?error=access_denied&state=x'))
  expect(denied.status).toBe(401)
})

test('without GOOGLE_CLIENT_ID/SECRET the Google routes answer 404 NOT_FOUND', async () => {
  const plain = await startKiln()
  try {
    for (const path of ['/api/v1/auth/google', '/api/v1/auth/google/url', '/api/v1/auth/google/callback?code=a&state=b']) {
      const r = await json(plain.request(path))
      expect(r.status).toBe(404)
      expect(r.body.error.message).toContain('not configured')
    }
  } finally {
    await plain.close()
  }
})

test('the OpenAPI document lists the identity routes, the Google redirects as 302', async () => {
  const doc = (await json(k.request('/docs/json'))).body
  expect(Object.keys(doc.paths)).toContain('/api/v1/auth/google')
  expect(Object.keys(doc.paths['/api/v1/auth/google'].get.responses)).toEqual(['302', '404'])
  expect(Object.keys(doc.paths['/api/v1/auth/google/callback'].get.responses)).toContain('302')
  const paths = ['/api/v1/keys', '/api/v1/keys/{id}', '/api/v1/auth/token', '/api/v1/auth/refresh', '/api/v1/auth/revoke']
  paths.push('/api/v1/user/profile', '/api/v1/user/stats', '/api/v1/account', '/api/v1/account/usage', '/api/v1/account/quota', '/api/v1/ws/ticket')
  for (const path of [...paths, '/api/v1/auth/google/callback']) {
    expect(doc.paths[path]).toBeDefined()
    expect(JSON.stringify(doc.paths[path])).not.toContain('"nullable"')
  }
})
