/** API keys: created once, stored hashed, usable as X-API-Key or Bearer, revocable, never someone else's. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq, sql } from 'drizzle-orm'
import { apiKeys } from '../../src/adapters/db/schema'
import { sha256hex } from '../../src/domain/identity/crypto'
import { type TestKiln, eventually, json, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

/** Enterprise, so that the per-minute request limit never interferes with these tests. */
async function devUser(email: string) {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email, tier: 'enterprise' } }))
  return { id: r.body.data.user.id as string, cookie: r.headers.get('set-cookie')!.split(';')[0]! }
}

async function createKey(cookie: string, body: Record<string, unknown> = { name: 'ci' }) {
  return json(k.request('/api/v1/keys', { method: 'POST', headers: { cookie }, json: body }))
}

const me = (headers: Record<string, string>) => json(k.request('/api/v1/auth/user', { headers }))

test('a key is shown once, stored only as a hash with a visible prefix, and works as X-API-Key and Bearer', async () => {
  const a = await devUser('keys-a@example.com')
  const created = await createKey(a.cookie, { name: 'deploy bot' })
  expect(created.status).toBe(201)
  const { key, prefix, id } = created.body.data
  expect(key).toMatch(/^kiln_live_[a-z0-9]{8}[A-Za-z0-9]{32}$/)
  expect(prefix).toBe(key.slice(0, 18))
  expect(created.headers.get('cache-control')).toBe('no-store')

  const [row] = await k.kiln.services.database.db.select().from(apiKeys).where(eq(apiKeys.id, id))
  expect(row!.hash).toBe(sha256hex(key))
  expect(JSON.stringify(row)).not.toContain(key)

  expect((await me({ 'x-api-key': key })).body.data.id).toBe(a.id)
  expect((await me({ authorization: `Bearer ${key}` })).body.data.id).toBe(a.id)

  // lastUsedAt is written after the request answers, off the hot path
  await eventually(async () => {
    const [r] = await k.kiln.services.database.db.select().from(apiKeys).where(eq(apiKeys.id, id))
    return r?.lastUsedAt != null
  })
  const list = await json(k.request('/api/v1/keys', { headers: { cookie: a.cookie } }))
  expect(list.status).toBe(200)
  expect(list.body.meta).toMatchObject({ page: 1, total: 1, totalPages: 1 })
  expect(list.body.data[0]).toMatchObject({ id, name: 'deploy bot', prefix, expiresAt: null })
  expect(list.body.data[0].lastUsedAt).not.toBeNull()
  expect(JSON.stringify(list.body)).not.toContain(key)
  expect(list.body.data[0]).not.toHaveProperty('key')
  expect(list.body.data[0]).not.toHaveProperty('hash')
})

test('lastUsedAt is written at most once a minute per key', async () => {
  const a = await devUser('keys-throttle@example.com')
  const { key, id } = (await createKey(a.cookie)).body.data
  await me({ 'x-api-key': key })
  await Bun.sleep(20)
  const read = async () => (await k.kiln.services.database.db.select().from(apiKeys).where(eq(apiKeys.id, id)))[0]!.lastUsedAt
  const first = await read()
  expect(first).not.toBeNull()
  for (let i = 0; i < 3; i++) await me({ 'x-api-key': key })
  await Bun.sleep(20)
  expect((await read())!.getTime()).toBe(first!.getTime())
})

test('revoked, expired, malformed and wrong-secret keys are 401 INVALID_API_KEY', async () => {
  const a = await devUser('keys-bad@example.com')
  const revoked = (await createKey(a.cookie)).body.data
  expect((await json(k.request(`/api/v1/keys/${revoked.id}`, { method: 'DELETE', headers: { cookie: a.cookie } }))).status).toBe(200)
  const expired = (await createKey(a.cookie, { name: 'short', expiresAt: new Date(Date.now() + 60_000).toISOString() })).body.data
  expect(expired.expiresAt).not.toBeNull()
  await k.kiln.services.database.db.update(apiKeys).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(apiKeys.id, expired.id))
  const good = (await createKey(a.cookie)).body.data.key as string
  const wrongSecret = good.slice(0, 18) + 'A'.repeat(32)
  for (const key of [revoked.key, expired.key, wrongSecret, 'kiln_live_nope', 'not-a-key-at-all']) {
    for (const headers of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }] as Record<string, string>[]) {
      const r = await me(headers)
      expect(r.status).toBe(401)
      expect(r.body.error.code).toBe('INVALID_API_KEY')
    }
  }
  // revoking twice: the key is no longer there
  expect((await json(k.request(`/api/v1/keys/${revoked.id}`, { method: 'DELETE', headers: { cookie: a.cookie } }))).status).toBe(404)
  // a past expiry is refused at creation
  const past = await createKey(a.cookie, { name: 'x', expiresAt: new Date(Date.now() - 1000).toISOString() })
  expect(past.status).toBe(400)
})

test("user B can neither see, revoke nor change user A's key (404)", async () => {
  const a = await devUser('keys-owner@example.com')
  const b = await devUser('keys-other@example.com')
  const ka = (await createKey(a.cookie)).body.data
  const listB = await json(k.request('/api/v1/keys', { headers: { cookie: b.cookie } }))
  expect(listB.body.data.find((x: { id: string }) => x.id === ka.id)).toBeUndefined()
  const del = await json(k.request(`/api/v1/keys/${ka.id}`, { method: 'DELETE', headers: { cookie: b.cookie } }))
  expect(del.status).toBe(404)
  expect(del.body.error.code).toBe('NOT_FOUND')
  const change = await json(k.request(`/api/v1/keys/${ka.id}`, { method: 'PATCH', headers: { cookie: b.cookie }, json: { name: 'mine' } }))
  expect(change.status).toBe(404)
  expect((await me({ 'x-api-key': ka.key })).body.data.id).toBe(a.id)
})

test('validation and authentication of the key routes', async () => {
  const a = await devUser('keys-validate@example.com')
  expect((await createKey(a.cookie, {})).status).toBe(400)
  expect((await createKey(a.cookie, { name: 'x', admin: true })).status).toBe(400)
  expect((await createKey(a.cookie, { name: '' })).status).toBe(400)
  expect((await json(k.request('/api/v1/keys?limit=101', { headers: { cookie: a.cookie } }))).status).toBe(400)
  const anon = await json(k.request('/api/v1/keys', { method: 'POST', json: { name: 'x' } }))
  expect(anon.status).toBe(401)
  expect((await json(k.request('/api/v1/keys'))).status).toBe(401)
})
