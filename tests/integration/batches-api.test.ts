import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/adapters/db/rows'
import { utcDay } from '../../src/domain/usage/reader'
import { type TestKiln, json, startKiln } from '../harness'
import { type Signed, basicInput, recordEvents, signIn } from './generations-support'
import { connected, wsUrl } from './ws-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln({ listen: true })
})
afterAll(() => k.close())

const post = (u: Signed, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  json(k.request(`/api/v1/batches${path}`, { method: 'POST', json: body, headers: { ...u.headers, ...headers } }))
const get = (u: Signed, path: string) => json(k.request(`/api/v1/batches${path}`, { headers: u.headers }))

/** Reads the batch through the service (no per-minute budget spent) until it has ended. */
async function untilEnded(u: Signed, id: string, ms = 15_000) {
  const user = { id: u.id, tier: u.tier }
  const end = Date.now() + ms
  for (;;) {
    const view = await k.kiln.services.batches.get(user, id)
    if (!['pending', 'running'].includes(view.status)) return view
    if (Date.now() > end) throw new Error(`batch ${id} still ${view.status} after ${ms} ms`)
    await Bun.sleep(40)
  }
}

async function generationCount(userId: string): Promise<number> {
  const rows = rowsOf<{ n: number }>(await k.kiln.services.database.db.execute(sql`select count(*)::int as n from generations where user_id = ${userId}`))
  return Number(rows[0]?.n)
}

const pathOf = (url: string) => {
  const u = new URL(url)
  return `${u.pathname}${u.search}`
}

test('a pro batch of three runs to completed, with counts, results in order with signed URLs, and batch events', async () => {
  const u = await signIn(k, 'pro')
  const rec = recordEvents(k, u.id)
  const ws = await connected(wsUrl(k), u.headers)
  const r = await post(u, '', {
    defaults: { style: 'minimal-icon', palette: 'ocean', aspectRatio: 'square' },
    items: [{ prompt: 'a red kite' }, { prompt: 'a blue boat', aspectRatio: 'landscape' }, { topic: 'a green tree', customColors: ['#00FF00'] }],
  })
  expect(r.status).toBe(202)
  const b = r.body.data
  expect(b.id).toStartWith('bat_')
  expect(b).toMatchObject({ total: 3, finishedAt: null })
  expect(['running', 'completed']).toContain(b.status)
  expect(b.counts.queued + b.counts.running + b.counts.completed).toBe(3)
  expect(r.headers.get('location')).toBe(`/api/v1/batches/${b.id}`)
  expect(r.headers.get('x-quota-limit')).toBe('500')
  expect(r.headers.get('x-quota-remaining')).toBe('497')

  const done = await untilEnded(u, b.id)
  expect(done).toMatchObject({ status: 'completed', total: 3, progress: 100, counts: { queued: 0, running: 0, completed: 3, failed: 0, cancelled: 0 } })
  expect(done.finishedAt).toBeString()

  const got = await get(u, `/${b.id}`)
  expect(got.status).toBe(200)
  expect(got.body.data).toEqual(done)

  const res = await get(u, `/${b.id}/results`)
  expect(res.status).toBe(200)
  expect(res.body.meta).toMatchObject({ page: 1, total: 3, totalPages: 1 })
  const items = res.body.data
  expect(items.map((i: { position: number }) => i.position)).toEqual([0, 1, 2])
  expect(items[0].input).toEqual({ prompt: 'a red kite', style: 'minimal-icon', palette: 'ocean', aspectRatio: 'square' })
  // An item's own colours replace the defaults' palette; its topic replaces nothing else.
  expect(items[2].input).toEqual({ topic: 'a green tree', style: 'minimal-icon', customColors: ['#00FF00'], aspectRatio: 'square' })
  expect(items[1].generation).toMatchObject({ status: 'completed', prompt: 'a blue boat', aspectRatio: '16:9', width: 1024, height: 576 })
  for (const item of items) {
    expect(item.attempts).toBe(1)
    expect(item.generation.status).toBe('completed')
    expect((await k.request(pathOf(item.generation.imageUrl))).status).toBe(200)
  }
  const page2 = await get(u, `/${b.id}/results?page=2&limit=2`)
  expect(page2.body.data.map((i: { position: number }) => i.position)).toEqual([2])
  expect(page2.body.meta).toMatchObject({ page: 2, limit: 2, total: 3, totalPages: 2 })

  // Jobs carry the batch id; the batch's own events follow them, in order, once each.
  const ended = await rec.waitFor((e) => e.type === 'batch.completed' && e.data.id === b.id)
  expect(ended.data).toMatchObject({ status: 'completed', counts: { completed: 3 } })
  const batchEvents = rec.events.filter((e) => e.type.startsWith('batch.'))
  // started, then one progress per recount that saw jobs end (fast jobs may end together), then completed once
  const types = batchEvents.map((e) => e.type)
  expect(types[0]).toBe('batch.started')
  expect(types[types.length - 1]).toBe('batch.completed')
  expect(types.slice(1, -1).length).toBeGreaterThanOrEqual(1)
  expect(new Set(types.slice(1, -1))).toEqual(new Set(['batch.progress']))
  const progress = batchEvents.filter((e) => e.type === 'batch.progress').map((e) => Number(e.data.progress))
  expect(progress[progress.length - 1]).toBe(100)
  expect(progress).toEqual([...progress].sort((x, y) => x - y))
  expect(rec.events.filter((e) => e.type === 'generation.completed').every((e) => e.data.batchId === b.id)).toBe(true)

  // The same ending observed again (a node restart replays it) changes nothing: counts are recomputed, not added.
  const seen = rec.events.length
  const gen = items[0].generation.id
  for (let i = 0; i < 2; i++) k.kiln.services.batches.tracker.observe(u.id, 'generation.completed', { id: gen, batchId: b.id })
  k.kiln.services.batches.tracker.observe(u.id, 'batch.progress', { id: b.id, batchId: b.id })
  expect(await k.kiln.services.batches.tracker.serial(b.id, async () => (await get(u, `/${b.id}`)).body.data)).toEqual(done)
  expect(rec.events.slice(seen).filter((e) => e.type.startsWith('batch.'))).toEqual([])

  await ws.waitFor((m) => m.type === 'batch.completed' && m.data.id === b.id)
  expect(ws.of('batch.progress').length).toBeGreaterThanOrEqual(1)
  ws.close()
  rec.stop()

  const list = await get(u, '')
  expect(list.status).toBe(200)
  expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([b.id])
  expect(list.body.data[0]).toMatchObject({ status: 'completed', counts: { completed: 3 } })
  expect(list.body.meta).toMatchObject({ total: 1, totalPages: 1 })
})

test('tier size, a bad item and unknown fields are 400 and write nothing', async () => {
  const free = await signIn(k, 'free')
  const six = await post(free, '', { defaults: basicInput(), items: Array.from({ length: 6 }, (_, i) => ({ prompt: `item ${i}` })) })
  expect(six.status).toBe(400)
  expect(six.body.error.code).toBe('VALIDATION_ERROR')
  expect(six.body.error.message).toContain('at most 5')
  expect(six.body.error.details.limit).toBe(5)

  const u = await signIn(k, 'pro')
  const bad = await post(u, '', { defaults: basicInput(), items: [{ prompt: 'fine' }, { prompt: 'fine too' }, { style: 'no-such-style' }] })
  expect(bad.status).toBe(400)
  expect(bad.body.error.code).toBe('VALIDATION_ERROR')
  expect(bad.body.error.message).toContain('item 2')
  expect(bad.body.error.details.issues[0]).toMatchObject({ field: 'items.2.style', index: 2 })

  const noPrompt = await post(u, '', { items: [basicInput(), { style: 'minimal-icon' }] })
  expect(noPrompt.status).toBe(400)
  expect(noPrompt.body.error.details.issues[0]).toMatchObject({ field: 'items.1.prompt', index: 1 })

  const typo = await post(u, '', { defaults: basicInput(), items: [{ prompt: 'ok' }, { promt: 'typo' }] })
  expect(typo.status).toBe(400)
  expect(typo.body.error.details.issues).toContainEqual({ field: 'items.1.promt', message: 'unknown property' })

  const schema = await post(u, '', { items: [basicInput(), { ...basicInput(), size: '8K' }] })
  expect(schema.status).toBe(400)
  expect(JSON.stringify(schema.body.error.details)).toContain('items.1.size')
  expect((await post(u, '', { items: [] })).status).toBe(400)

  const list = await get(u, '')
  expect(list.body.data).toEqual([])
  expect(list.body.meta.total).toBe(0)
  expect(await generationCount(u.id)).toBe(0)
  expect(await generationCount(free.id)).toBe(0)
})

test('a batch the remaining quota cannot cover is 429 with X-Quota headers and writes nothing', async () => {
  const u = await signIn(k, 'free')
  await k.kiln.services.database.db.execute(sql`insert into usage_counters (user_id, day, generations) values (${u.id}, ${utcDay()}::date, 23)`)
  const r = await post(u, '', { defaults: basicInput(), items: [{ prompt: 'one' }, { prompt: 'two' }, { prompt: 'three' }] })
  expect(r.status).toBe(429)
  expect(r.body.error.code).toBe('QUOTA_EXCEEDED')
  expect(r.body.error.details).toMatchObject({ limit: 25, remaining: 2, requested: 3 })
  expect(r.headers.get('x-quota-limit')).toBe('25')
  expect(r.headers.get('x-quota-remaining')).toBe('2')
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
  expect((await get(u, '')).body.meta.total).toBe(0)
  expect(await generationCount(u.id)).toBe(0)
})

test('Idempotency-Key replays the first batch; another body with the same key is 422', async () => {
  const u = await signIn(k, 'pro')
  const body = { defaults: basicInput(), items: [{ prompt: 'once' }] }
  const first = await post(u, '', body, { 'idempotency-key': 'batch-1' })
  expect(first.status).toBe(202)
  const again = await post(u, '', body, { 'idempotency-key': 'batch-1' })
  expect(again.status).toBe(202)
  expect(again.headers.get('idempotent-replayed')).toBe('true')
  expect(again.body.data.id).toBe(first.body.data.id)
  const other = await post(u, '', { ...body, items: [{ prompt: 'twice' }] }, { 'idempotency-key': 'batch-1' })
  expect(other.status).toBe(422)
  expect((await get(u, '')).body.meta.total).toBe(1)
  await untilEnded(u, first.body.data.id)
})

test('cancelling mid-way cancels the waiting and running items, refunds quota of those not generating, and ends the batch cancelled', async () => {
  const u = await signIn(k, 'free')
  const rec = recordEvents(k, u.id)
  const r = await post(u, '', { defaults: basicInput(), items: [0, 1, 2, 3].map((i) => ({ prompt: `slow ${i} [slow]` })) })
  expect(r.status).toBe(202)
  const id = r.body.data.id
  await rec.waitFor((e) => e.type === 'generation.started' && e.data.batchId === id)
  const c = await post(u, `/${id}/cancel`)
  expect(c.status).toBe(200)
  expect(c.body.data).toMatchObject({ id, status: 'cancelled', total: 4, progress: 100 })
  expect(c.body.data.counts.cancelled + c.body.data.counts.completed).toBe(4)
  expect(c.body.data.counts.cancelled).toBeGreaterThanOrEqual(3)
  expect(c.body.data.finishedAt).toBeString()

  const res = await get(u, `/${id}/results`)
  const statuses = res.body.data.map((i: { generation: { status: string } }) => i.generation.status)
  expect(statuses.slice(1)).toEqual(['cancelled', 'cancelled', 'cancelled'])
  // Free tier runs one job at a time: the three waiting ones never reached the model and are refunded.
  const refunded = rowsOf<{ n: number }>(
    await k.kiln.services.database.db.execute(sql`select count(*)::int as n from generations where user_id = ${u.id} and quota_refunded`),
  )
  expect(Number(refunded[0]?.n)).toBeGreaterThanOrEqual(3)
  const quota = await k.kiln.services.usage.quotaSnapshot(u.id, 'free')
  expect(quota.used).toBe(4 - Number(refunded[0]?.n))

  const ended = await rec.waitFor((e) => e.type === 'batch.completed' && e.data.id === id)
  expect(ended.data.status).toBe('cancelled')
  expect((await post(u, `/${id}/cancel`)).status).toBe(409)
  expect((await get(u, `/${id}`)).body.data.status).toBe('cancelled')
  rec.stop()
})

test('a failing item ends the batch completed with failed: 1; retry queues it again as a new generation', async () => {
  const u = await signIn(k, 'pro')
  const rec = recordEvents(k, u.id)
  const r = await post(u, '', { defaults: basicInput(), items: [{ prompt: 'fine' }, { prompt: 'broken [fail]' }] })
  expect(r.status).toBe(202)
  const id = r.body.data.id
  const done = await untilEnded(u, id)
  expect(done).toMatchObject({ status: 'completed', counts: { completed: 1, failed: 1, cancelled: 0 }, progress: 100 })
  const before = (await get(u, `/${id}/results`)).body.data
  expect(before[1].generation).toMatchObject({ status: 'failed', error: { code: 'PROVIDER_ERROR' } })

  expect((await post(u, '/missing_id/retry')).status).toBe(404)
  const retried = await post(u, `/${id}/retry`)
  expect(retried.status).toBe(202)
  expect(['running', 'completed']).toContain(retried.body.data.status)
  expect(retried.headers.get('x-quota-limit')).toBe('500')
  const again = await untilEnded(u, id)
  expect(again).toMatchObject({ status: 'completed', counts: { completed: 1, failed: 1 } })
  const after = (await get(u, `/${id}/results`)).body.data
  expect(after[0]).toMatchObject({ attempts: 1, generation: { id: before[0].generation.id } })
  expect(after[1].attempts).toBe(2)
  expect(after[1].generation.id).not.toBe(before[1].generation.id)
  expect(after[1].generation.status).toBe('failed')
  await rec.waitFor((e) => e.type === 'batch.completed' && e.data.id === id && e.id !== rec.events.find((x) => x.type === 'batch.completed')?.id)
  expect(rec.events.filter((e) => e.type === 'batch.started' && e.data.id === id)).toHaveLength(2)
  expect(rec.events.filter((e) => e.type === 'batch.completed' && e.data.id === id)).toHaveLength(2)
  rec.stop()
})

test('retry brings back a cancelled item to completion; a batch with nothing to retry is 409; one whose every item failed ends failed', async () => {
  // Free tier runs one job at a time: the last item waits behind two slow ones, long enough to cancel it.
  const u = await signIn(k, 'free')
  const rec = recordEvents(k, u.id)
  const r = await post(u, '', { defaults: basicInput(), items: [{ prompt: 'first [slow]' }, { prompt: 'second [slow]' }, { prompt: 'stopped' }] })
  const id = r.body.data.id
  const results = (await get(u, `/${id}/results`)).body.data
  expect(results[2].generation.position).toBeGreaterThanOrEqual(1)
  const cancel = await json(k.request(`/api/v1/generations/${results[2].generation.id}/cancel`, { method: 'POST', headers: u.headers }))
  expect(cancel.status).toBe(200)
  expect(await untilEnded(u, id)).toMatchObject({ status: 'completed', counts: { completed: 2, cancelled: 1 } })

  expect((await post(u, `/${id}/retry`)).status).toBe(202)
  expect(await untilEnded(u, id)).toMatchObject({ status: 'completed', counts: { completed: 3, failed: 0, cancelled: 0 } })
  const after = (await get(u, `/${id}/results`)).body.data
  expect(after[2]).toMatchObject({ attempts: 2, generation: { status: 'completed' } })
  const nothing = await post(u, `/${id}/retry`)
  expect(nothing.status).toBe(409)
  expect(nothing.body.error.code).toBe('CONFLICT')

  const allFail = await post(u, '', { defaults: basicInput(), items: [{ prompt: 'x [fail]' }] })
  expect(await untilEnded(u, allFail.body.data.id)).toMatchObject({ status: 'failed', counts: { failed: 1 } })
  const failedEvent = await rec.waitFor((e) => e.type === 'batch.failed' && e.data.id === allFail.body.data.id)
  expect(failedEvent.data.status).toBe('failed')
  rec.stop()
})

test("another user's batch is 404 on every route; limit above 100 is 400", async () => {
  const owner = await signIn(k, 'pro')
  const other = await signIn(k, 'pro')
  const r = await post(owner, '', { defaults: basicInput(), items: [{ prompt: 'mine' }] })
  const id = r.body.data.id
  for (const res of [
    await get(other, `/${id}`),
    await get(other, `/${id}/results`),
    await post(other, `/${id}/cancel`),
    await post(other, `/${id}/retry`),
    await get(other, '/bat_doesnotexist'),
  ]) {
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('NOT_FOUND')
  }
  expect((await get(other, '')).body.data).toEqual([])
  expect((await get(owner, '?limit=101')).status).toBe(400)
  expect((await get(owner, `/${id}/results?limit=101`)).status).toBe(400)
  expect((await get(owner, '?limit=100')).status).toBe(200)
  expect((await json(k.request('/api/v1/batches'))).status).toBe(401)
  await untilEnded(owner, id)
})
