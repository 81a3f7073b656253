/**
 * Credentials under attack: forged, expired, wrong-secret and `alg: none`
 * JWTs, tampered cookies, the key → token exchange with rotating refresh
 * tokens (reuse revokes the family), revocation, deleted users, tier changes.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { users } from '../../src/adapters/db/schema'
import { AccessTokens } from '../../src/domain/identity/access-tokens'
import { type TestKiln, json, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

/** Enterprise unless asked, so that the per-minute request limit never interferes with these tests. */
async function devUser(email: string, tier = 'enterprise') {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email, tier } }))
  return { id: r.body.data.user.id as string, cookie: r.headers.get('set-cookie')!.split(';')[0]!, accessToken: r.body.data.accessToken as string }
}

async function newKey(cookie: string): Promise<string> {
  return (await json(k.request('/api/v1/keys', { method: 'POST', headers: { cookie }, json: { name: 'k' } }))).body.data.key
}

const me = (headers: Record<string, string>) => json(k.request('/api/v1/auth/user', { headers }))
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')

test('forged, expired, wrong-secret and alg:none access tokens are 401 UNAUTHORIZED', async () => {
  const u = await devUser('jwt@example.com')
  expect((await me(bearer(u.accessToken))).status).toBe(200)
  const [h, p, sig] = u.accessToken.split('.')
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString())
  const forged = `${h}.${b64({ ...claims, tier: 'enterprise', sub: 'usr_someoneelse' })}.${sig}`
  const expired = (await new AccessTokens(k.config.jwtSecret).sign(u.id, 'free', undefined, -60)).token
  const wrongSecret = (await new AccessTokens('not-the-server-secret-but-long-enough').sign(u.id, 'free')).token
  const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: Math.floor(Date.now() / 1000) + 600 })}.`
  const hs512 = `${b64({ alg: 'HS512', typ: 'JWT' })}.${p}.${sig}`
  for (const token of [forged, expired, wrongSecret, algNone, hs512]) {
    const r = await me(bearer(token))
    expect(r.status).toBe(401)
    expect(r.body.error.code).toBe('UNAUTHORIZED')
  }
})

test('a tampered or unknown session cookie is 401', async () => {
  const u = await devUser('cookie@example.com')
  const [name, value] = u.cookie.split('=') as [string, string]
  const decoded = decodeURIComponent(value)
  const flipped = decoded.slice(0, -1) + (decoded.endsWith('A') ? 'B' : 'A')
  const otherId = `ses_000000000000000000000.${decoded.split('.')[1]}`
  for (const v of [flipped, otherId, 'garbage', `${decoded}x`]) {
    const r = await me({ cookie: `${name}=${encodeURIComponent(v)}` })
    expect(r.status).toBe(401)
    expect(r.body.error.code).toBe('UNAUTHORIZED')
  }
})

test('auth/token exchanges a key (body, X-API-Key or Bearer) for an access and a refresh token', async () => {
  const u = await devUser('exchange@example.com')
  const key = await newKey(u.cookie)
  const viaBody = await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: key } }))
  const viaHeader = await json(k.request('/api/v1/auth/token', { method: 'POST', headers: { 'x-api-key': key } }))
  const viaBearer = await json(k.request('/api/v1/auth/token', { method: 'POST', headers: bearer(key) }))
  for (const r of [viaBody, viaHeader, viaBearer]) {
    expect(r.status).toBe(200)
    expect(r.body.data.tokenType).toBe('Bearer')
    expect(r.body.data.refreshToken).toStartWith('kiln_rt_')
    expect(new Date(r.body.data.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000)
    expect((await me(bearer(r.body.data.accessToken))).body.data.id).toBe(u.id)
  }
  const bad = await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: 'kiln_live_wrong' } }))
  expect(bad.status).toBe(401)
  expect(bad.body.error.code).toBe('INVALID_API_KEY')
  expect((await json(k.request('/api/v1/auth/token', { method: 'POST' }))).status).toBe(401)
  // a session is not an API key
  expect((await json(k.request('/api/v1/auth/token', { method: 'POST', headers: bearer(u.accessToken) }))).status).toBe(401)
})

test('refresh rotates; a refresh token used twice revokes the whole family (401)', async () => {
  const u = await devUser('rotate@example.com')
  const key = await newKey(u.cookie)
  const first = (await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: key } }))).body.data
  const refresh = (token: string) => json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: token } }))
  const second = await refresh(first.refreshToken)
  expect(second.status).toBe(200)
  expect(second.body.data.refreshToken).not.toBe(first.refreshToken)
  expect((await me(bearer(second.body.data.accessToken))).status).toBe(200)

  const reuse = await refresh(first.refreshToken)
  expect(reuse.status).toBe(401)
  // the thief's reuse also kills the legitimate successor and its access token
  expect((await refresh(second.body.data.refreshToken)).status).toBe(401)
  expect((await me(bearer(second.body.data.accessToken))).status).toBe(401)
  // other families of the same key are untouched
  const other = (await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: key } }))).body.data
  expect((await refresh(other.refreshToken)).status).toBe(200)
  expect((await refresh('kiln_rt_unknown')).status).toBe(401)
})

test('two racing refreshes of one token: one wins, the other counts as reuse', async () => {
  const u = await devUser('race@example.com')
  const pair = (await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: await newKey(u.cookie) } }))).body.data
  const results = await Promise.all(
    [1, 2].map(() => json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair.refreshToken } }))),
  )
  expect(results.map((r) => r.status).sort()).toEqual([200, 401])
})

test('auth/revoke: a refresh token (its family), or the presented session, API key or access token', async () => {
  const u = await devUser('revoke@example.com')
  const key = await newKey(u.cookie)
  const pair = (await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: key } }))).body.data
  const byToken = await json(k.request('/api/v1/auth/revoke', { method: 'DELETE', json: { refreshToken: pair.refreshToken } }))
  expect(byToken.body.data.revoked).toBe('refresh-token')
  expect((await json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair.refreshToken } }))).status).toBe(401)
  expect((await me(bearer(pair.accessToken))).status).toBe(401)

  const pair2 = (await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: key } }))).body.data
  expect((await json(k.request('/api/v1/auth/revoke', { method: 'DELETE', headers: bearer(pair2.accessToken) }))).body.data.revoked).toBe('access-token')
  expect((await me(bearer(pair2.accessToken))).status).toBe(401)
  expect((await json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair2.refreshToken } }))).status).toBe(401)

  const pair3 = (await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: key } }))).body.data
  expect((await json(k.request('/api/v1/auth/revoke', { method: 'DELETE', headers: { 'x-api-key': key } }))).body.data.revoked).toBe('api-key')
  expect((await me({ 'x-api-key': key })).body.error.code).toBe('INVALID_API_KEY')
  // refresh tokens made from a revoked key die with it
  expect((await json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair3.refreshToken } }))).status).toBe(401)

  const session = await json(k.request('/api/v1/auth/revoke', { method: 'DELETE', headers: { cookie: u.cookie } }))
  expect(session.body.data.revoked).toBe('session')
  expect(session.headers.get('set-cookie')).toContain('Max-Age=0')
  expect((await me({ cookie: u.cookie })).status).toBe(401)
  // the dev access token was minted for that session and ends with it
  expect((await me(bearer(u.accessToken))).status).toBe(401)
  expect((await json(k.request('/api/v1/auth/revoke', { method: 'DELETE' }))).status).toBe(401)
})

test('logout ends the session and the access tokens minted for it', async () => {
  const u = await devUser('logout@example.com')
  await k.request('/api/v1/auth/logout', { method: 'POST', headers: bearer(u.accessToken) })
  expect((await me({ cookie: u.cookie })).status).toBe(401)
  expect((await me(bearer(u.accessToken))).status).toBe(401)
})

test('a deleted user: every credential stops working', async () => {
  const u = await devUser('deleted@example.com')
  const key = await newKey(u.cookie)
  const pair = (await json(k.request('/api/v1/auth/token', { method: 'POST', json: { apiKey: key } }))).body.data
  const { ticket } = (await json(k.request('/api/v1/ws/ticket', { method: 'POST', headers: { cookie: u.cookie } }))).body.data
  await k.kiln.services.users.markDeleted(u.id)
  expect((await me({ cookie: u.cookie })).status).toBe(401)
  expect((await me(bearer(u.accessToken))).status).toBe(401)
  expect((await me(bearer(pair.accessToken))).status).toBe(401)
  expect((await me({ 'x-api-key': key })).status).toBe(401)
  expect((await json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair.refreshToken } }))).status).toBe(401)
  expect(await k.kiln.services.tickets.redeem(ticket)).toBeUndefined()
})

test('a user deleted by the row alone (deletedAt) is refused even with unrevoked credentials', async () => {
  const u = await devUser('deleted-row@example.com')
  const key = await newKey(u.cookie)
  await k.kiln.services.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, u.id))
  for (const headers of [{ cookie: u.cookie }, bearer(u.accessToken), { 'x-api-key': key }] as Record<string, string>[]) expect((await me(headers)).status).toBe(401)
})

test("a tier change applies on the next request, whatever the token's tier claim says", async () => {
  const u = await devUser('upgrade@example.com', 'free')
  await k.kiln.services.database.db.update(users).set({ tier: 'enterprise' }).where(eq(users.id, u.id))
  expect((await me(bearer(u.accessToken))).body.data.tier).toBe('enterprise')
  const quota = await json(k.request('/api/v1/account/quota', { headers: bearer(u.accessToken) }))
  expect(quota.body.data.tier).toBe('enterprise')
  expect(quota.body.data.daily.limit).toBeNull()
})
