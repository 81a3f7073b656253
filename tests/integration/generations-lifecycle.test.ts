import { afterAll, beforeAll, expect, test } from 'bun:test'
import sharp from 'sharp'
import type { LocalActorRuntime } from '../../src/actors/runtime'
import { type TestKiln, json, startKiln } from '../harness'
import { basicInput, isTerminalEvent, recordEvents, signIn, submit, untilTerminal } from './generations-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

const ORDER = ['queued', 'analyzing', 'generating', 'finalizing', 'completed']

/** Path and query of a signed URL, to fetch it through the in-process app. */
const pathOf = (url: string) => {
  const u = new URL(url)
  return `${u.pathname}${u.search}`
}

test('a job moves queued → analyzing → generating → finalizing → completed with monotone progress', async () => {
  const u = await signIn(k, 'pro')
  const rec = recordEvents(k, u.id)
  const r = await submit(k, u, { topic: 'a red fox in snow', style: 'voxel-3d', customColors: ['#FF0000', '#ffffff'], aspectRatio: 'landscape', seed: 42 })
  expect(r.status).toBe(202)
  const g = r.body.data
  expect(g).toMatchObject({ status: 'queued', prompt: 'a red fox in snow', style: 'voxel-3d', customColors: ['#ff0000', '#ffffff'], aspectRatio: '16:9', size: '1K', seed: 42, imageUrl: null, error: null })
  expect(g.id).toStartWith('gen_')
  expect(g.position).toBeGreaterThanOrEqual(1)
  expect(r.headers.get('x-quota-limit')).toBe('500')
  expect(r.headers.get('x-quota-remaining')).toBe('499')
  expect(Number(r.headers.get('x-quota-reset'))).toBeGreaterThan(Date.now() / 1000)
  expect(r.headers.get('x-ratelimit-limit')).toBe('60')
  expect(r.headers.get('ratelimit-policy')).toBe('"per-minute";q=60;w=60')
  expect(r.headers.get('location')).toBe(`/api/v1/generations/${g.id}`)

  await rec.waitFor((e) => e.data.id === g.id && isTerminalEvent(e))
  const events = rec.of(g.id)
  expect(events[0]!.type).toBe('generation.queued')
  expect(events.map((e) => e.type)).toContain('generation.started')
  expect(events[events.length - 1]!.type).toBe('generation.completed')
  let lastStatus = 0
  let lastProgress = 0
  for (const e of events) {
    const s = ORDER.indexOf(String(e.data.status))
    expect(s).toBeGreaterThanOrEqual(lastStatus)
    lastStatus = s
    expect(Number(e.data.progress)).toBeGreaterThanOrEqual(lastProgress)
    lastProgress = Number(e.data.progress)
  }
  expect(new Set(events.map((e) => e.data.status))).toEqual(new Set(ORDER))
  expect(lastProgress).toBe(100)
  const done = events[events.length - 1]!.data
  expect(done).toMatchObject({ status: 'completed', width: 1024, height: 576 })
  expect(rec.events.some((e) => e.type === 'quota.updated' && e.data.used === 1)).toBe(true)

  const got = await json(k.request(`/api/v1/generations/${g.id}`, { headers: u.headers }))
  expect(got.status).toBe(200)
  expect(got.body.data).toMatchObject({ status: 'completed', progress: 100, width: 1024, height: 576, etaSeconds: null, position: null })
  expect(got.body.data.bytes).toBeGreaterThan(0)
  expect(got.body.data.startedAt).toBeString()
  expect(got.body.data.completedAt).toBeString()
  const img = await k.request(pathOf(got.body.data.imageUrl))
  expect(img.status).toBe(200)
  expect(img.headers.get('content-type')).toBe('image/webp')
  const thumb = await k.request(pathOf(got.body.data.thumbnailUrl))
  expect(thumb.status).toBe(200)

  const dl = await json(k.request(`/api/v1/generations/${g.id}/download`, { headers: u.headers }))
  expect(dl.status).toBe(200)
  expect(dl.body.data.filename).toBe(`kiln-a-red-fox-in-snow-${g.id}.webp`)
  expect(Date.parse(dl.body.data.expiresAt)).toBeGreaterThan(Date.now())
  expect((await k.request(pathOf(dl.body.data.url))).status).toBe(200)
  const after = await json(k.request(`/api/v1/generations/${g.id}`, { headers: u.headers }))
  expect(after.body.data.downloadCount).toBe(1)
  rec.stop()
})

test('invalid input is 400 with field details; unknown style/palette too', async () => {
  const u = await signIn(k, 'pro')
  const cases: [unknown, string][] = [
    [{ prompt: '', style: 'modern' }, 'prompt'],
    [{ prompt: 'x'.repeat(2001), style: 'modern' }, 'prompt'],
    [{ prompt: 'x', style: 'nope' }, 'style'],
    [{ prompt: 'x', style: 'modern', palette: 'nope' }, 'palette'],
    [{ prompt: 'x', style: 'modern', customColors: ['red'] }, 'customColors.0'],
    [{ prompt: 'x', style: 'modern', customColors: ['#000000', '#000000', '#000000', '#000000', '#000000', '#000000'] }, 'customColors'],
    [{ prompt: 'x', style: 'modern', aspectRatio: '2:1' }, 'aspectRatio'],
    [{ prompt: 'x', style: 'modern', size: '4K' }, 'size'],
    [{ prompt: 'x', style: 'modern', extra: 1 }, 'extra'],
  ]
  for (const [input, field] of cases) {
    const r = await submit(k, u, input)
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe('VALIDATION_ERROR')
    expect(r.body.error.details.issues.map((i: { field: string }) => i.field).join(' ')).toContain(field)
  }
  const other = await submit(k, u, { prompt: 'x', style: 'modern', sourceImageId: 'upl_nothere' })
  expect(other.status).toBe(404)
})

test('history: pages, search, filters, sort, cursor, like, delete', async () => {
  const u = await signIn(k, 'enterprise')
  const prompts = ['blue whale diagram', 'coffee supply chain', 'whale migration map', 'solar panel icon', 'rocket launch timeline']
  const ids: string[] = []
  for (const [i, p] of prompts.entries()) {
    const r = await submit(k, u, { prompt: p, style: i % 2 ? 'modern' : 'minimal-icon' })
    expect(r.status).toBe(202)
    ids.push(r.body.data.id)
  }
  for (const id of ids) await untilTerminal(k, u, id)
  const list = (q: string) => json(k.request(`/api/v1/generations${q}`, { headers: u.headers }))

  const p1 = await list('?limit=2')
  expect(p1.status).toBe(200)
  expect(p1.body.meta).toMatchObject({ page: 1, limit: 2, total: 5, totalPages: 3 })
  expect(p1.body.data.map((g: { id: string }) => g.id)).toEqual([ids[4], ids[3]])
  const p3 = await list('?limit=2&page=3')
  expect(p3.body.data.map((g: { id: string }) => g.id)).toEqual([ids[0]])
  expect(p3.body.meta.nextCursor).toBeUndefined()
  const oldest = await list('?limit=2&sort=oldest')
  expect(oldest.body.data[0].id).toBe(ids[0])

  // Cursor mode walks the whole history without repeats.
  const seen: string[] = []
  let cursor: string | undefined
  for (let i = 0; i < 5; i++) {
    const r = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    seen.push(...r.body.data.map((g: { id: string }) => g.id))
    cursor = r.body.meta.nextCursor
    if (!cursor) break
  }
  expect(seen).toEqual([...ids].reverse())

  const whales = await list('?search=whale')
  expect(whales.body.data.map((g: { id: string }) => g.id).sort()).toEqual([ids[0], ids[2]].sort())
  expect((await list('?style=modern')).body.meta.total).toBe(2)
  expect((await list('?status=completed')).body.meta.total).toBe(5)
  expect((await list('?status=failed')).body.meta.total).toBe(0)
  expect((await list('?limit=101')).status).toBe(400)
  expect((await list('?cursor=garbage')).status).toBe(400)

  const liked = await json(k.request(`/api/v1/generations/${ids[1]}`, { method: 'PATCH', json: { isLiked: true }, headers: u.headers }))
  expect(liked.body.data.isLiked).toBe(true)
  const likedList = await list('?liked=true')
  expect(likedList.body.data.map((g: { id: string }) => g.id)).toEqual([ids[1]])

  const victim = await k.kiln.services.generations.get({ id: u.id, tier: 'enterprise' }, ids[3]!)
  const storage = k.kiln.services.storage
  const row = await k.kiln.services.database.db.query.generations.findFirst({ where: (g, { eq }) => eq(g.id, victim.id) })
  expect(await storage.get(row!.imageKey!)).not.toBeNull()
  const del = await json(k.request(`/api/v1/generations/${ids[3]}`, { method: 'DELETE', headers: u.headers }))
  expect(del.status).toBe(200)
  expect(del.body.data).toEqual({ id: ids[3], deleted: true })
  expect((await json(k.request(`/api/v1/generations/${ids[3]}`, { headers: u.headers }))).status).toBe(404)
  expect(await storage.get(row!.imageKey!)).toBeNull()
  expect(await storage.get(row!.thumbnailKey!)).toBeNull()
})

test('cancelling a finished job is 409; downloading an unfinished one is 409', async () => {
  const u = await signIn(k, 'pro')
  const r = await submit(k, u)
  const id = r.body.data.id
  await untilTerminal(k, u, id)
  const c = await json(k.request(`/api/v1/generations/${id}/cancel`, { method: 'POST', headers: u.headers }))
  expect(c.status).toBe(409)
  expect(c.body.error.code).toBe('CONFLICT')
})

test('provider failure: retried with backoff, then failed PROVIDER_ERROR and the quota refunded', async () => {
  const u = await signIn(k, 'pro')
  const rec = recordEvents(k, u.id)
  const r = await submit(k, u, basicInput(`a broken robot ${FAIL_MARKER}`))
  expect(r.status).toBe(202)
  const g = await untilTerminal(k, u, r.body.data.id)
  expect(g.status).toBe('failed')
  expect(g.error?.code).toBe('PROVIDER_ERROR')
  const row = await k.kiln.services.database.db.query.generations.findFirst({ where: (x, { eq }) => eq(x.id, g.id) })
  expect(row!.attempts).toBe(3)
  expect(row!.quotaRefunded).toBe(true)
  expect(row!.imageKey).toBeNull()
  const usage = await k.kiln.services.usage.quotaSnapshot(u.id, 'pro')
  expect(usage.used).toBe(0)
  await rec.waitFor((e) => e.type === 'generation.failed' && e.data.id === g.id)
  expect(rec.events.some((e) => e.type === 'quota.updated' && e.data.used === 0)).toBe(true)
  rec.stop()
})

test('content rejected by the provider fails at once (no retry) and keeps its quota (the user’s own input)', async () => {
  const u = await signIn(k, 'pro')
  const rejected = await submit(k, u, basicInput('forbidden robot [reject]'))
  const g = await untilTerminal(k, u, rejected.body.data.id)
  expect(g.status).toBe('failed')
  expect(g.error?.code).toBe('CONTENT_REJECTED')
  const row = await k.kiln.services.database.db.query.generations.findFirst({ where: (x, { eq }) => eq(x.id, g.id) })
  expect(row!.attempts).toBe(1)
  expect(row!.quotaRefunded).toBe(false)
  expect((await k.kiln.services.usage.quotaSnapshot(u.id, 'pro')).used).toBe(1)
})

test('multipart with a sourceImage: stored as the user’s upload and used for image-to-image; someone else’s upload is 404', async () => {
  const u = await signIn(k, 'pro')
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } }).png().toBuffer()
  const form = new FormData()
  form.set('sourceImage', new Blob([png], { type: 'image/png' }), 'photo.png')
  form.set('prompt', 'make it a poster')
  form.set('style', 'modern')
  form.set('customColors', '#112233, #445566')
  form.set('seed', '7')
  const r = await json(k.request('/api/v1/generations', { method: 'POST', body: form, headers: u.headers }))
  expect(r.status).toBe(202)
  expect(r.body.data).toMatchObject({ prompt: 'make it a poster', customColors: ['#112233', '#445566'], seed: 7 })
  expect(r.body.data.sourceImageId).toStartWith('upl_')
  const upload = await json(k.request(`/api/v1/uploads/${r.body.data.sourceImageId}`, { headers: u.headers }))
  expect(upload.status).toBe(200)
  expect((await untilTerminal(k, u, r.body.data.id)).status).toBe('completed')

  const other = await signIn(k, 'pro')
  const theirs = await submit(k, other, { prompt: 'x', style: 'modern', sourceImageId: r.body.data.sourceImageId })
  expect(theirs.status).toBe(404)
  const badForm = new FormData()
  badForm.set('sourceImage', new Blob([png], { type: 'image/png' }), 'photo.png')
  badForm.set('style', 'modern')
  badForm.set('seed', 'seven')
  const bad = await json(k.request('/api/v1/generations', { method: 'POST', body: badForm, headers: u.headers }))
  expect(bad.status).toBe(400)
})

test('an idle actor is passivated; the next request activates a fresh one rebuilt from PostgreSQL', async () => {
  const u = await signIn(k, 'pro')
  const r = await submit(k, u)
  await untilTerminal(k, u, r.body.data.id)
  const runtime = k.kiln.services.actors as LocalActorRuntime
  expect(runtime.peek(u.id)).toBeDefined()
  runtime.passivateIdle(Date.now() + 10 * 60_000)
  expect(runtime.peek(u.id)).toBeUndefined()
  const again = await json(k.request(`/api/v1/generations/${r.body.data.id}`, { headers: u.headers }))
  expect(again.body.data.status).toBe('completed')
  expect(runtime.peek(u.id)).toBeDefined()
})

const FAIL_MARKER = '[fail]'
