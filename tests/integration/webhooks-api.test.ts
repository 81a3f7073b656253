/**
 * Webhook registrations over REST: CRUD, the secret shown once, URL and event
 * validation against the address guard (no allow-list here), a per-user cap,
 * and 404 for someone else's webhook on every route.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { webhookDeliveries, webhooks } from '../../src/adapters/db/schema'
import { newId } from '../../src/lib/ids'
import { MAX_WEBHOOKS_PER_USER } from '../../src/domain/webhooks/registry'
import { type TestKiln, json, startKiln } from '../harness'

let k: TestKiln
const logs: string[] = []
beforeAll(async () => {
  // Registration only checks URLs; nothing here is delivered, so public IP literals need no network.
  k = await startKiln({ logSink: (line) => logs.push(line), env: { LOG_LEVEL: 'debug' } })
})
afterAll(() => k.close())

const PUBLIC_URL = 'https://93.184.215.14/hooks/kiln'

let n = 0
async function devUser() {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email: `wh-api-${++n}-${Date.now()}@example.com`, tier: 'enterprise' } }))
  return { id: r.body.data.user.id as string, headers: { authorization: `Bearer ${r.body.data.accessToken}` } }
}
type User = Awaited<ReturnType<typeof devUser>>

const call = (u: User, method: string, path: string, body?: unknown) =>
  json(k.request(`/api/v1/webhooks${path}`, { method, headers: u.headers, ...(body === undefined ? {} : { json: body }) }))

const register = (u: User, body: Record<string, unknown> = {}) =>
  call(u, 'POST', '', { url: PUBLIC_URL, events: ['generation.completed', 'generation.failed'], ...body })

test('register → 201 with the secret once; reads, list, change and delete never show it', async () => {
  const u = await devUser()
  const created = await register(u, { description: 'render farm', events: ['generation.completed', 'quota.exceeded', 'generation.completed'] })
  expect(created.status).toBe(201)
  const w = created.body.data
  expect(w).toMatchObject({ url: PUBLIC_URL, description: 'render farm', events: ['generation.completed', 'quota.exceeded'], active: true })
  expect(w.id).toStartWith('whk_')
  expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]{40,}={0,2}$/)
  expect(created.headers.get('cache-control')).toBe('no-store')
  expect(created.headers.get('location')).toBe(`/api/v1/webhooks/${w.id}`)

  const got = await call(u, 'GET', `/${w.id}`)
  expect(got.status).toBe(200)
  expect(got.body.data).toEqual({ id: w.id, url: PUBLIC_URL, description: 'render farm', events: ['generation.completed', 'quota.exceeded'], active: true, createdAt: w.createdAt, updatedAt: w.updatedAt })

  await register(u, { url: 'http://1.1.1.1/second' })
  const list = await call(u, 'GET', '?limit=1')
  expect(list.status).toBe(200)
  expect(list.body.meta).toEqual({ page: 1, limit: 1, total: 2, totalPages: 2 })
  expect(list.body.data[0].url).toBe('http://1.1.1.1/second') // newest first
  const page2 = await call(u, 'GET', '?page=2&limit=1')
  expect(page2.body.data[0].id).toBe(w.id)

  const patched = await call(u, 'PATCH', `/${w.id}`, { events: ['batch.completed', 'batch.failed'], description: null, active: false, url: 'https://1.0.0.1/new' })
  expect(patched.status).toBe(200)
  expect(patched.body.data).toMatchObject({ id: w.id, events: ['batch.completed', 'batch.failed'], description: null, active: false, url: 'https://1.0.0.1/new' })
  expect(Date.parse(patched.body.data.updatedAt)).toBeGreaterThanOrEqual(Date.parse(w.updatedAt))
  // an empty change is a no-op, not an error
  expect((await call(u, 'PATCH', `/${w.id}`, {})).body.data.url).toBe('https://1.0.0.1/new')

  const deliveries = await call(u, 'GET', `/${w.id}/deliveries`)
  expect(deliveries.status).toBe(200)
  expect(deliveries.body).toEqual({ success: true, data: [], meta: { page: 1, limit: 20, total: 0, totalPages: 0 } })
  // an inactive webhook sends nothing, tests included
  expect((await call(u, 'POST', `/${w.id}/test`)).status).toBe(409)

  for (const body of [got.body, list.body, page2.body, patched.body]) expect(JSON.stringify(body)).not.toContain(w.secret)
  // the secret is stored (it signs every delivery) but never logged
  const [row] = await k.kiln.services.database.db.select().from(webhooks).where(eq(webhooks.id, w.id))
  expect(row!.secret).toBe(w.secret)
  expect(logs.some((l) => l.includes('webhook registered'))).toBe(true)
  expect(logs.join('\n')).not.toContain(w.secret)

  const del = await call(u, 'DELETE', `/${w.id}`)
  expect(del.status).toBe(200)
  expect(del.body.data).toEqual({ id: w.id, deleted: true })
  expect((await call(u, 'GET', `/${w.id}`)).status).toBe(404)
  expect((await call(u, 'DELETE', `/${w.id}`)).status).toBe(404)
})

test('a public host name that does not resolve yet is accepted: every delivery checks the address it connects to', async () => {
  const u = await devUser()
  const r = await register(u, { url: 'https://hooks.receiver.invalid/kiln' })
  expect(r.status).toBe(201)
  expect(r.body.data.url).toBe('https://hooks.receiver.invalid/kiln')
})

test('URLs that are or resolve to private, loopback, link-local, CGNAT, multicast or metadata addresses are 400 on url', async () => {
  const u = await devUser()
  const refused = [
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/',
    'http://localhost/',
    'http://127.0.0.1:8080/hook',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0x7f.1/',
    'http://100.64.0.1/',
    'http://192.168.1.10/',
    'http://224.0.0.1/',
    'http://[fd00:ec2::254]/',
    // internal names are refused even where they do not resolve
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://printer.local/',
    'http://app.localhost/',
  ]
  for (const url of refused) {
    const r = await register(u, { url })
    expect(r.status, url).toBe(400)
    expect(r.body.error.code).toBe('VALIDATION_ERROR')
    expect(r.body.error.details.issues[0].field).toBe('url')
  }
  const metadata = await register(u, { url: 'http://169.254.169.254/' })
  expect(metadata.body.error.details.issues[0].message).toContain('metadata')
  for (const url of ['not a url', 'ftp://1.1.1.1/', 'file:///etc/passwd', 'http://user:pass@1.1.1.1/', `https://1.1.1.1/${'a'.repeat(2100)}`]) {
    const r = await register(u, { url })
    expect(r.status, url).toBe(400)
    expect(r.body.error.code).toBe('VALIDATION_ERROR')
  }
  // a change of URL is checked the same way
  const ok = (await register(u)).body.data
  const moved = await call(u, 'PATCH', `/${ok.id}`, { url: 'http://169.254.169.254/' })
  expect(moved.status).toBe(400)
  expect(moved.body.error.details.issues[0].field).toBe('url')
  expect((await call(u, 'GET', `/${ok.id}`)).body.data.url).toBe(PUBLIC_URL)
  expect((await call(u, 'GET', '')).body.meta.total).toBe(1)
})

test('events: unknown, empty or missing → 400; unknown properties → 400', async () => {
  const u = await devUser()
  const unknown = await register(u, { events: ['generation.completed', 'generation.progress'] })
  expect(unknown.status).toBe(400)
  expect(unknown.body.error.code).toBe('VALIDATION_ERROR')
  expect(JSON.stringify(unknown.body.error.details)).toContain('events')
  expect((await register(u, { events: ['webhook.test'] })).status).toBe(400)
  expect((await register(u, { events: [] })).status).toBe(400)
  expect((await call(u, 'POST', '', { url: PUBLIC_URL })).status).toBe(400)
  const extra = await register(u, { secret: 'whsec_mine' })
  expect(extra.status).toBe(400)
  expect(extra.body.error.details.issues[0]).toEqual({ field: 'secret', message: 'unknown property' })
  const w = (await register(u)).body.data
  expect((await call(u, 'PATCH', `/${w.id}`, { events: ['nope'] })).status).toBe(400)
  expect((await call(u, 'PATCH', `/${w.id}`, { secret: 'x' })).status).toBe(400)
  expect((await call(u, 'GET', '?limit=101')).status).toBe(400)
})

test("someone else's webhook is 404 on every route, and never in their list", async () => {
  const a = await devUser()
  const b = await devUser()
  const w = (await register(a)).body.data
  // a delivery that has ended, written straight to the table: nothing here is ever sent to the public address
  const delivery = { id: newId('delivery') }
  await k.kiln.services.database.db
    .insert(webhookDeliveries)
    .values({ id: delivery.id, webhookId: w.id, event: 'webhook.test', payload: { type: 'webhook.test' }, status: 'failed', attempts: 1 })
  expect((await call(a, 'GET', `/${w.id}/deliveries`)).body.data[0]).toMatchObject({ id: delivery.id, status: 'failed', nextAttemptAt: null })
  const routes: Array<[string, string, unknown?]> = [
    ['GET', `/${w.id}`],
    ['PATCH', `/${w.id}`, { active: false }],
    ['DELETE', `/${w.id}`],
    ['POST', `/${w.id}/test`],
    ['GET', `/${w.id}/deliveries`],
    ['POST', `/${w.id}/deliveries/${delivery.id}/redeliver`],
  ]
  for (const [method, path, body] of routes) {
    const r = await call(b, method, path, body)
    expect(r.status, `${method} ${path}`).toBe(404)
    expect(r.body.error.code).toBe('NOT_FOUND')
  }
  expect((await call(b, 'GET', '')).body.meta.total).toBe(0)
  // a's own delivery id under another of a's webhooks is not found either
  const other = (await register(a)).body.data
  expect((await call(a, 'POST', `/${other.id}/deliveries/${delivery.id}/redeliver`)).status).toBe(404)
  expect((await call(a, 'GET', '/whk_nope')).status).toBe(404)
  expect((await call(a, 'GET', '/not-an-id')).status).toBe(404)
  expect((await call(a, 'GET', `/${w.id}`)).body.data.active).toBe(true)
  // no credentials at all → 401
  expect((await json(k.request('/api/v1/webhooks'))).status).toBe(401)
})

test(`at most ${MAX_WEBHOOKS_PER_USER} webhooks per user (409 beyond)`, async () => {
  const u = await devUser()
  for (let i = 0; i < MAX_WEBHOOKS_PER_USER; i++) expect((await register(u, { url: `https://1.1.1.1/${i}` })).status).toBe(201)
  const over = await register(u)
  expect(over.status).toBe(409)
  expect(over.body.error.code).toBe('CONFLICT')
  // another user is unaffected
  expect((await register(await devUser())).status).toBe(201)
})
