/** Profile, statistics, account, daily usage and quota. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { generations, usageCounters } from '../../src/adapters/db/schema'
import { newId } from '../../src/lib/ids'
import { utcDay } from '../../src/domain/usage/reader'
import { type TestKiln, json, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

async function devUser(email: string, tier = 'pro') {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email, tier } }))
  return { id: r.body.data.user.id as string, cookie: r.headers.get('set-cookie')!.split(';')[0]! }
}

const get = (path: string, cookie: string) => json(k.request(path, { headers: { cookie } }))
const patch = (cookie: string, body: unknown) => json(k.request('/api/v1/user/profile', { method: 'PATCH', headers: { cookie }, json: body }))
const DAY = 86_400_000

test('profile: read, change display name, avatar and language, clear with null', async () => {
  const u = await devUser('profile@example.com')
  const before = await get('/api/v1/user/profile', u.cookie)
  expect(before.body.data).toMatchObject({ id: u.id, email: 'profile@example.com', language: 'en' })
  const changed = await patch(u.cookie, { displayName: 'Layla', language: 'ar', avatarUrl: 'https://img.example/l.png' })
  expect(changed.status).toBe(200)
  expect(changed.body.data).toMatchObject({ displayName: 'Layla', language: 'ar', avatarUrl: 'https://img.example/l.png' })
  expect((await get('/api/v1/auth/user', u.cookie)).body.data.language).toBe('ar')
  const cleared = await patch(u.cookie, { avatarUrl: null })
  expect(cleared.body.data).toMatchObject({ avatarUrl: null, displayName: 'Layla' })
})

test('profile: invalid values, unknown fields and empty patches are 400; no credentials 401', async () => {
  const u = await devUser('profile-bad@example.com')
  for (const body of [{ language: 'fr' }, { displayName: '' }, { avatarUrl: 'javascript:alert(1)' }, { tier: 'enterprise' }, { email: 'x@y.z' }, {}]) {
    const r = await patch(u.cookie, body)
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe('VALIDATION_ERROR')
  }
  expect((await get('/api/v1/user/profile', u.cookie)).body.data.tier).toBe('pro')
  expect((await json(k.request('/api/v1/user/profile'))).status).toBe(401)
  expect((await json(k.request('/api/v1/user/profile', { method: 'PATCH', json: { displayName: 'x' } }))).status).toBe(401)
})

test('stats count only the user’s own generations and this month’s usage', async () => {
  const a = await devUser('stats-a@example.com')
  const b = await devUser('stats-b@example.com')
  const empty = await get('/api/v1/user/stats', a.cookie)
  expect(empty.body.data).toEqual({ totalGenerations: 0, completed: 0, liked: 0, downloads: 0, favouriteStyle: null, thisMonth: 0 })

  const row = (userId: string, style: string, status: 'completed' | 'failed', isLiked: boolean, downloadCount: number) => ({
    id: newId('generation'),
    userId,
    prompt: 'a cat',
    style,
    aspectRatio: '1:1',
    size: '1K',
    provider: 'local',
    status,
    isLiked,
    downloadCount,
  })
  const db = k.kiln.services.database.db
  await db.insert(generations).values([
    row(a.id, 'voxel-3d', 'completed', true, 2),
    row(a.id, 'voxel-3d', 'completed', false, 1),
    row(a.id, 'neon-glow', 'failed', false, 0),
    row(b.id, 'minimal', 'completed', true, 9),
  ])
  await db.insert(usageCounters).values([
    { userId: a.id, day: utcDay(), generations: 3, refunded: 1 },
    { userId: b.id, day: utcDay(), generations: 7, refunded: 0 },
  ])
  const stats = await get('/api/v1/user/stats', a.cookie)
  expect(stats.body.data).toEqual({ totalGenerations: 3, completed: 2, liked: 1, downloads: 3, favouriteStyle: 'voxel-3d', thisMonth: 3 })
  expect((await get('/api/v1/user/stats', b.cookie)).body.data.totalGenerations).toBe(1)
})

test('account usage: the last 30 UTC days, oldest first, zeros filled', async () => {
  const u = await devUser('usage@example.com')
  const db = k.kiln.services.database.db
  await db.insert(usageCounters).values([
    { userId: u.id, day: utcDay(), generations: 4, refunded: 1 },
    { userId: u.id, day: utcDay(new Date(Date.now() - 3 * DAY)), generations: 2, refunded: 0 },
    { userId: u.id, day: utcDay(new Date(Date.now() - 40 * DAY)), generations: 99, refunded: 0 },
  ])
  const r = await get('/api/v1/account/usage', u.cookie)
  expect(r.status).toBe(200)
  const days = r.body.data.days as { day: string; generations: number; refunded: number }[]
  expect(days).toHaveLength(30)
  expect(days.at(-1)).toEqual({ day: utcDay(), generations: 4, refunded: 1 })
  expect(days.at(-4)!.generations).toBe(2)
  expect(days[0]!.day).toBe(utcDay(new Date(Date.now() - 29 * DAY)))
  expect(days.filter((d) => d.generations === 0)).toHaveLength(28)
  expect(r.body.data.total).toBe(6)
})

test('account and quota: tier limits and what is left today; unlimited is null', async () => {
  const free = await devUser('quota-free@example.com', 'free')
  await k.kiln.services.database.db.insert(usageCounters).values({ userId: free.id, day: utcDay(), generations: 5, refunded: 0 })
  const q = await get('/api/v1/account/quota', free.cookie)
  expect(q.status).toBe(200)
  expect(q.body.data.tier).toBe('free')
  expect(q.body.data.limits).toEqual({ requestsPerMinute: 10, generationsPerDay: 25, batchSize: 5, concurrentJobs: 1, maxSize: '1K' })
  expect(q.body.data.daily).toMatchObject({ limit: 25, used: 5, remaining: 20 })
  const reset = new Date(q.body.data.daily.resetAt)
  expect(reset.getUTCHours()).toBe(0)
  expect(reset.getTime() - Date.now()).toBeLessThanOrEqual(DAY)

  const account = await get('/api/v1/account', free.cookie)
  expect(account.body.data).toMatchObject({ tier: 'free', thisMonth: 5, quota: { remaining: 20 }, user: { id: free.id } })

  const ent = await devUser('quota-ent@example.com', 'enterprise')
  const e = await get('/api/v1/account/quota', ent.cookie)
  expect(e.body.data.limits.generationsPerDay).toBeNull()
  expect(e.body.data.daily).toMatchObject({ limit: null, remaining: null, used: 0 })
  expect((await json(k.request('/api/v1/account'))).status).toBe(401)
})

test('the quota snapshot is exported for the lifecycle (X-Quota-* headers)', async () => {
  const u = await devUser('snapshot@example.com', 'pro')
  await k.kiln.services.database.db.insert(usageCounters).values({ userId: u.id, day: utcDay(), generations: 499, refunded: 0 })
  const snap = await k.kiln.services.usage.quotaSnapshot(u.id, 'pro')
  expect(snap).toMatchObject({ limit: 500, used: 499, remaining: 1 })
  const over = await k.kiln.services.usage.quotaSnapshot(u.id, 'free')
  expect(over.remaining).toBe(0)
})
