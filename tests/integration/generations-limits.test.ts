import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/adapters/db/rows'
import { GenerationRepository } from '../../src/domain/generations/repository'
import { utcDay } from '../../src/domain/quota/quota'
import { type TestKiln, eventually, json, startKiln } from '../harness'
import { basicInput, signIn, submit, untilTerminal } from './generations-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

const db = () => k.kiln.services.database.db
const count = async (q: ReturnType<typeof sql>) => Number(rowsOf<{ n: number }>(await db().execute(q))[0]?.n ?? 0)

test('free tier: 10 requests a minute, reads included, with headers; the 11th is 429 with Retry-After', async () => {
  const u = await signIn(k, 'free')
  for (let i = 0; i < 10; i++) {
    const r = await k.request('/api/v1/generations', { headers: u.headers })
    expect(r.status).toBe(200)
    expect(r.headers.get('x-ratelimit-limit')).toBe('10')
    expect(r.headers.get('x-ratelimit-remaining')).toBe(String(9 - i))
    expect(r.headers.get('ratelimit')).toStartWith(`"per-minute";r=${9 - i};t=`)
    expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000))
  }
  const limited = await json(k.request('/api/v1/auth/user', { headers: u.headers }))
  expect(limited.status).toBe(429)
  expect(limited.body.error.code).toBe('RATE_LIMIT_EXCEEDED')
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  expect(limited.headers.get('x-ratelimit-remaining')).toBe('0')
  // Public endpoints do not count and carry no limit headers.
  const styles = await k.request('/api/v1/styles', { headers: u.headers })
  expect(styles.status).toBe(200)
  expect(styles.headers.get('x-ratelimit-limit')).toBeNull()
  // Another user is unaffected.
  const other = await signIn(k, 'free')
  expect((await k.request('/api/v1/generations', { headers: other.headers })).status).toBe(200)
})

test('daily quota: N concurrent requests for the last slot → exactly one accepted', async () => {
  const u = await signIn(k, 'pro')
  await db().execute(sql`insert into usage_counters (user_id, day, generations) values (${u.id}, ${utcDay()}::date, 499)`)
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(k, u, basicInput(`race ${i}`))))
  const statuses = results.map((r) => r.status).sort()
  expect(statuses.filter((s) => s === 202)).toHaveLength(1)
  expect(statuses.filter((s) => s === 429)).toHaveLength(7)
  const rejected = results.find((r) => r.status === 429)!
  expect(rejected.body.error.code).toBe('QUOTA_EXCEEDED')
  expect(rejected.headers.get('x-quota-remaining')).toBe('0')
  expect(rejected.headers.get('x-quota-limit')).toBe('500')
  expect(await count(sql`select count(*)::int as n from generations where user_id = ${u.id}`)).toBe(1)
  expect(await count(sql`select generations as n from usage_counters where user_id = ${u.id}`)).toBe(500)
})

test('the reservation itself is atomic across connections (straight at the repository)', async () => {
  const u = await signIn(k, 'pro')
  await db().execute(sql`insert into usage_counters (user_id, day, generations) values (${u.id}, ${utcDay()}::date, 9)`)
  const repo = new GenerationRepository(db())
  const tries = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      repo.reserveAndInsert(
        {
          id: `gen_race${i}${Date.now().toString(36)}`,
          userId: u.id,
          batchId: null,
          prompt: 'p',
          style: 'modern',
          palette: null,
          customColors: null,
          aspectRatio: '1:1',
          size: '1K',
          seed: 1,
          sourceImageId: null,
          templateId: null,
          provider: 'local',
          providerModel: 'm',
          idempotencyKey: null,
          quotaDay: utcDay(),
        },
        10,
      ),
    ),
  )
  expect(tries.filter(Boolean)).toHaveLength(1)
  expect(await count(sql`select generations as n from usage_counters where user_id = ${u.id}`)).toBe(10)
  await db().execute(sql`delete from generations where user_id = ${u.id}`)
})

test('quota.updated after every reservation; quota.warning when 20 % is left', async () => {
  const u = await signIn(k, 'pro')
  const seen: { type: string; data: Record<string, unknown> }[] = []
  const off = k.kiln.services.eventLog.subscribe(u.id, (e) => seen.push(e))
  await db().execute(sql`insert into usage_counters (user_id, day, generations) values (${u.id}, ${utcDay()}::date, 398)`)
  expect((await submit(k, u)).status).toBe(202)
  expect((await submit(k, u)).status).toBe(202)
  // with Redis the log delivers through pub/sub, after the request has answered
  await eventually(() => seen.filter((e) => e.type === 'quota.updated').length >= 2 && seen.some((e) => e.type === 'quota.warning'))
  off()
  const updates = seen.filter((e) => e.type === 'quota.updated').map((e) => e.data.remaining)
  expect(updates.slice(0, 2)).toEqual([101, 100])
  const warnings = seen.filter((e) => e.type === 'quota.warning')
  expect(warnings).toHaveLength(1)
  expect(warnings[0]!.data).toMatchObject({ limit: 500, used: 400, remaining: 100 })
})

test('enterprise is unlimited: no X-Quota headers', async () => {
  const u = await signIn(k, 'enterprise')
  const r = await submit(k, u)
  expect(r.status).toBe(202)
  expect(r.headers.get('x-quota-limit')).toBeNull()
  expect(r.headers.get('x-ratelimit-limit')).toBe('300')
  await untilTerminal(k, u, r.body.data.id)
})

test('free tier runs one job at a time; waiting jobs keep FIFO order; a full mailbox is 429', async () => {
  const u = await signIn(k, 'free')
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const r = await submit(k, u, basicInput(`fifo ${i}`))
    expect(r.status).toBe(202)
    ids.push(r.body.data.id)
  }
  const g3 = await k.kiln.services.generations.get(u, ids[2]!)
  expect(g3.position === null || g3.position >= 1).toBe(true)
  const done = await Promise.all(ids.map((id) => untilTerminal(k, u, id)))
  expect(done.every((g) => g.status === 'completed')).toBe(true)
  // Runs never overlapped and started in submission order.
  for (let i = 1; i < done.length; i++) expect(Date.parse(done[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done[i - 1]!.completedAt!))

  // Mailbox: the free tier holds 10 waiting jobs beyond the one running (submitted through the service, as the socket does).
  const v = await signIn(k, 'free')
  const results = await Promise.allSettled(Array.from({ length: 13 }, (_, i) => k.kiln.services.generations.submit(v, basicInput(`box ${i}`))))
  const rejected = results.filter((r) => r.status === 'rejected')
  expect(rejected.length).toBeGreaterThanOrEqual(1)
  expect((rejected[0] as PromiseRejectedResult).reason.errorCode).toBe('RATE_LIMIT_EXCEEDED')
  for (const r of results) if (r.status === 'fulfilled') await k.kiln.services.generations.cancel(v, r.value.generation.id).catch(() => {})
})

test('Idempotency-Key: replay, different body 422, concurrent duplicates → exactly one row', async () => {
  const u = await signIn(k, 'pro')
  const first = await submit(k, u, basicInput('idem one'), { 'idempotency-key': 'key-1' })
  expect(first.status).toBe(202)
  const again = await submit(k, u, { style: 'minimal-icon', prompt: 'idem one', palette: 'ocean' }, { 'idempotency-key': 'key-1' })
  expect(again.status).toBe(202)
  expect(again.headers.get('idempotent-replayed')).toBe('true')
  expect(again.body).toEqual(first.body)
  const other = await submit(k, u, basicInput('idem two'), { 'idempotency-key': 'key-1' })
  expect(other.status).toBe(422)

  const burst = await Promise.all(Array.from({ length: 6 }, () => submit(k, u, basicInput('idem burst'), { 'idempotency-key': 'key-burst' })))
  for (const r of burst) expect([202, 409]).toContain(r.status)
  const accepted = burst.filter((r) => r.status === 202)
  expect(new Set(accepted.map((r) => r.body.data.id)).size).toBe(1)
  expect(await count(sql`select count(*)::int as n from generations where user_id = ${u.id} and idempotency_key = 'key-burst'`)).toBe(1)
  const conflict = burst.find((r) => r.status === 409)
  if (conflict) expect(conflict.body.error.code).toBe('CONFLICT')

  // A failed request releases its key.
  const bad = await submit(k, u, { prompt: 'x', style: 'nope' }, { 'idempotency-key': 'key-bad' })
  expect(bad.status).toBe(400)
  const fixed = await submit(k, u, { prompt: 'x', style: 'modern' }, { 'idempotency-key': 'key-bad' })
  expect(fixed.status).toBe(202)
})
