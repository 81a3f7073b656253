/**
 * Webhook deliveries end to end: a real loopback receiver (allow-listed through
 * WEBHOOK_ALLOW_PRIVATE, as production never is), real generations, Standard
 * Webhooks signatures checked as a receiver would, retries with fast backoff,
 * redelivery, test sends, lapsed leases, and the address guard at send time.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { webhookDeliveries, webhooks } from '../../src/adapters/db/schema'
import { utcDay } from '../../src/domain/quota/quota'
import { WebhookDispatcher, retryDelayMs } from '../../src/domain/webhooks/dispatcher'
import { verifySignature } from '../../src/domain/webhooks/signing'
import { newId } from '../../src/lib/ids'
import { createLogger } from '../../src/lib/logger'
import { type TestKiln, eventually, json, startKiln } from '../harness'
import { basicInput, signIn, submit, untilTerminal } from './generations-support'

const MAX_ATTEMPTS = 4

interface Received {
  path: string
  headers: Record<string, string>
  body: string
}

const received: Received[] = []
/** Responses per path, in order; the last one repeats. Unknown paths answer 200. */
const script = new Map<string, number[]>()
let redirectTo = ''
const receiver = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req): Promise<Response> {
    const path = new URL(req.url).pathname
    received.push({ path, headers: Object.fromEntries(req.headers), body: await req.text() })
    const plan = script.get(path) ?? [200]
    const status = plan.length > 1 ? plan.shift()! : plan[0]!
    if (status >= 300 && status < 400) return new Response(null, { status, headers: { location: redirectTo } })
    return new Response(status < 300 ? 'thanks' : 'nope', { status })
  },
})
const base = `http://127.0.0.1:${receiver.port}`
redirectTo = `${base}/ok`
const at = (path: string) => received.filter((r) => r.path === path)

let k: TestKiln
const logs: string[] = []
beforeAll(async () => {
  k = await startKiln({
    env: { WEBHOOK_ALLOW_PRIVATE: '127.0.0.1', LOG_LEVEL: 'debug' },
    logSink: (line) => logs.push(line),
    given: { webhooks: { retryBaseMs: 20, maxAttempts: MAX_ATTEMPTS, pollMs: 100 } },
  })
})
afterAll(async () => {
  await k.close()
  receiver.stop(true)
})

const db = () => k.kiln.services.database.db
type User = Awaited<ReturnType<typeof signIn>>

let hookNo = 0
async function register(u: User, events: string[], path = `/hook-${++hookNo}`) {
  const r = await json(k.request('/api/v1/webhooks', { method: 'POST', headers: u.headers, json: { url: `${base}${path}`, events } }))
  expect(r.status).toBe(201)
  return { ...(r.body.data as { id: string; secret: string }), path }
}

interface Delivery {
  id: string
  event: string
  status: string
  attempts: number
  lastStatusCode: number | null
  lastError: string | null
  deliveredAt: string | null
  nextAttemptAt: string | null
}

const deliveriesOf = async (u: User, id: string) =>
  (await json<{ data: Delivery[] }>(k.request(`/api/v1/webhooks/${id}/deliveries?limit=100`, { headers: u.headers }))).body.data

/** Checks a received request the way a Standard Webhooks receiver would. */
function expectSigned(r: Received, secret: string) {
  expect(r.headers['content-type']).toBe('application/json')
  expect(r.headers['user-agent']).toBe('Kiln-Webhooks/1')
  expect(r.headers['webhook-id']).toStartWith('dlv_')
  const headers = { id: r.headers['webhook-id']!, timestamp: r.headers['webhook-timestamp']!, signature: r.headers['webhook-signature']! }
  expect(verifySignature(secret, headers, r.body)).toBe(true)
}

test('a real generation delivers generation.started and generation.completed, signed, to the subscribed webhook only', async () => {
  const u = await signIn(k, 'pro')
  const hook = await register(u, ['generation.started', 'generation.completed'])
  const unsubscribed = await register(u, ['batch.completed'])
  const g = await submit(k, u)
  expect(g.status).toBe(202)
  const id = g.body.data.id
  expect((await untilTerminal(k, u, id)).status).toBe('completed')
  await eventually(() => at(hook.path).length >= 2, 5000, 'two deliveries')
  const bodies = at(hook.path).map((r) => JSON.parse(r.body))
  expect(bodies.map((b) => b.type).sort()).toEqual(['generation.completed', 'generation.started'])
  for (const r of at(hook.path)) expectSigned(r, hook.secret)
  const completed = bodies.find((b) => b.type === 'generation.completed')
  expect(completed.data).toMatchObject({ id, status: 'completed', progress: 100 })
  expect(Date.parse(completed.timestamp)).toBeGreaterThan(Date.now() - 60_000)
  expect(bodies.find((b) => b.type === 'generation.started').data.id).toBe(id)
  // only what was subscribed to: no queued, progress or quota events
  await Bun.sleep(100)
  expect(at(hook.path)).toHaveLength(2)
  expect(at(unsubscribed.path)).toHaveLength(0)
  await eventually(async () => (await deliveriesOf(u, hook.id)).every((d) => d.status === 'succeeded'), 3000, 'log says succeeded')
  const log = await deliveriesOf(u, hook.id)
  expect(log).toHaveLength(2)
  expect(log[0]).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null })
  expect(log[0]!.deliveredAt).toBeString()
  expect(log.map((d) => d.id).sort()).toEqual(at(hook.path).map((r) => r.headers['webhook-id']!).sort())
})

test('the test event is sent whatever the subscription; 500 twice then 200 is retried with the same webhook-id and ends succeeded after 3 attempts', async () => {
  const u = await signIn(k, 'pro')
  const hook = await register(u, ['quota.warning'])
  script.set(hook.path, [500, 500, 200])
  const queued = await json(k.request(`/api/v1/webhooks/${hook.id}/test`, { method: 'POST', headers: u.headers }))
  expect(queued.status).toBe(202)
  expect(queued.body.data).toMatchObject({ event: 'webhook.test', status: 'pending', attempts: 0, lastStatusCode: null, deliveredAt: null })
  const deliveryId = queued.body.data.id
  await eventually(async () => (await deliveriesOf(u, hook.id))[0]?.status === 'succeeded', 5000, 'succeeded after retries')
  const [d] = await deliveriesOf(u, hook.id)
  expect(d).toMatchObject({ id: deliveryId, event: 'webhook.test', status: 'succeeded', attempts: 3, lastStatusCode: 200, lastError: null })
  const sent = at(hook.path)
  expect(sent).toHaveLength(3)
  expect(new Set(sent.map((r) => r.headers['webhook-id']))).toEqual(new Set([deliveryId]))
  for (const r of sent) expectSigned(r, hook.secret)
  expect(JSON.parse(sent[0]!.body)).toMatchObject({ type: 'webhook.test', data: { webhookId: hook.id } })
})

test('a receiver that always fails ends failed after the maximum attempts; a redirect is a failure and is not followed', async () => {
  const u = await signIn(k, 'pro')
  const down = await register(u, ['quota.warning'])
  script.set(down.path, [503])
  const moved = await register(u, ['quota.warning'])
  script.set(moved.path, [302])
  for (const h of [down, moved]) expect((await k.request(`/api/v1/webhooks/${h.id}/test`, { method: 'POST', headers: u.headers })).status).toBe(202)
  await eventually(async () => (await deliveriesOf(u, down.id))[0]?.status === 'failed', 8000, 'failed for good')
  expect((await deliveriesOf(u, down.id))[0]).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, lastStatusCode: 503, nextAttemptAt: null, deliveredAt: null })
  expect((await deliveriesOf(u, down.id))[0]!.lastError).toContain('503')
  expect(at(down.path)).toHaveLength(MAX_ATTEMPTS)
  await eventually(async () => (await deliveriesOf(u, moved.id))[0]?.status === 'failed', 8000, 'redirect failed')
  const [m] = await deliveriesOf(u, moved.id)
  expect(m!.lastError).toContain('redirect')
  expect(at(moved.path)).toHaveLength(MAX_ATTEMPTS)
  expect(at('/ok')).toHaveLength(0)
})

test('redeliver queues a new delivery with the same payload; inactive webhooks get nothing', async () => {
  const u = await signIn(k, 'pro')
  const hook = await register(u, ['quota.warning'])
  script.set(hook.path, [500])
  const first = (await json(k.request(`/api/v1/webhooks/${hook.id}/test`, { method: 'POST', headers: u.headers }))).body.data
  await eventually(async () => (await deliveriesOf(u, hook.id))[0]?.status === 'failed', 8000, 'first failed')
  script.set(hook.path, [200])
  const again = await json(k.request(`/api/v1/webhooks/${hook.id}/deliveries/${first.id}/redeliver`, { method: 'POST', headers: u.headers }))
  expect(again.status).toBe(202)
  expect(again.body.data).toMatchObject({ event: 'webhook.test', status: 'pending', attempts: 0 })
  expect(again.body.data.id).not.toBe(first.id)
  await eventually(async () => (await deliveriesOf(u, hook.id)).some((d) => d.id === again.body.data.id && d.status === 'succeeded'), 5000, 'redelivered')
  const log = await deliveriesOf(u, hook.id)
  expect(log.map((d) => [d.id, d.status])).toEqual([
    [again.body.data.id, 'succeeded'],
    [first.id, 'failed'],
  ])
  const sent = at(hook.path)
  expect(sent[sent.length - 1]!.headers['webhook-id']).toBe(again.body.data.id)
  expect(sent[sent.length - 1]!.body).toBe(sent[0]!.body)
  expectSigned(sent[sent.length - 1]!, hook.secret)

  // deactivated: events are not recorded and tests are refused
  await json(k.request(`/api/v1/webhooks/${hook.id}`, { method: 'PATCH', headers: u.headers, json: { active: false, events: ['generation.completed'] } }))
  const g = await submit(k, u)
  await untilTerminal(k, u, g.body.data.id)
  expect((await k.request(`/api/v1/webhooks/${hook.id}/test`, { method: 'POST', headers: u.headers })).status).toBe(409)
  await Bun.sleep(100)
  expect(await deliveriesOf(u, hook.id)).toHaveLength(2)
})

test('a submit refused for quota sends quota.exceeded with limit, used and resetAt', async () => {
  const u = await signIn(k, 'pro')
  const hook = await register(u, ['quota.exceeded'])
  await db().execute(sql`insert into usage_counters (user_id, day, generations) values (${u.id}, ${utcDay()}::date, 500)`)
  const refused = await submit(k, u)
  expect(refused.status).toBe(429)
  await eventually(() => at(hook.path).length === 1, 5000, 'quota.exceeded delivered')
  const body = JSON.parse(at(hook.path)[0]!.body)
  expect(body).toMatchObject({ type: 'quota.exceeded', data: { limit: 500, used: 500 } })
  expect(Date.parse(body.data.resetAt)).toBeGreaterThan(Date.now())
  expectSigned(at(hook.path)[0]!, hook.secret)
})

test('a batch delivers batch.started and batch.completed from the batches service through the same observers', async () => {
  const u = await signIn(k, 'pro')
  const hook = await register(u, ['batch.started', 'batch.completed', 'batch.failed'])
  const r = await json(k.request('/api/v1/batches', { method: 'POST', headers: u.headers, json: { items: [basicInput('one'), basicInput('two')] } }))
  expect(r.status).toBe(202)
  const batchId = r.body.data.id
  await eventually(() => at(hook.path).some((x) => JSON.parse(x.body).type === 'batch.completed'), 15_000, 'batch.completed delivered')
  const bodies = at(hook.path).map((x) => JSON.parse(x.body))
  expect(bodies.map((b) => b.type)).toContain('batch.started')
  for (const b of bodies) expect(b.data.id).toBe(batchId)
  for (const x of at(hook.path)) expectSigned(x, hook.secret)
})

test("a claim whose lease lapsed (its node died mid-send) comes back and is sent", async () => {
  const u = await signIn(k, 'pro')
  const hook = await register(u, ['quota.warning'])
  const id = newId('delivery')
  await db()
    .insert(webhookDeliveries)
    .values({ id, webhookId: hook.id, event: 'webhook.test', payload: { type: 'webhook.test', timestamp: new Date().toISOString(), data: {} }, status: 'delivering', attempts: 1, nextAttemptAt: new Date(Date.now() - 1000) })
  await eventually(async () => (await deliveriesOf(u, hook.id))[0]?.status === 'succeeded', 5000, 'reclaimed')
  expect((await deliveriesOf(u, hook.id))[0]).toMatchObject({ id, attempts: 2 })
  expect(at(hook.path).map((r) => r.headers['webhook-id'])).toEqual([id])
})

test('the address is checked again when sending: a host no longer allowed is refused and nothing is sent', async () => {
  const u = await signIn(k, 'pro')
  const path = '/became-private'
  const webhookId = newId('webhook')
  await db().insert(webhooks).values({ id: webhookId, userId: u.id, url: `${base}${path}`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['quota.warning'] })
  // held by a lease far in the future, so this Kiln's own dispatcher leaves it to the one below
  const id = newId('delivery')
  await db()
    .insert(webhookDeliveries)
    .values({ id, webhookId, event: 'webhook.test', payload: { type: 'webhook.test' }, status: 'delivering', attempts: 1, nextAttemptAt: new Date(Date.now() + 3600_000) })
  // a node without the allow-list, as production runs
  const strict = new WebhookDispatcher(db(), createLogger('error'), { allowPrivate: [], retryBaseMs: 60_000 })
  await strict.deliver({ id, webhookId, userId: u.id, event: 'webhook.test', payload: { type: 'webhook.test' }, attempts: 1, url: `${base}${path}`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', active: true })
  await strict.stop()
  const [d] = await deliveriesOf(u, webhookId)
  expect(d).toMatchObject({ id, status: 'pending', attempts: 1, lastStatusCode: null })
  expect(d!.lastError).toContain('loopback')
  expect(at(path)).toHaveLength(0)
})

test('backoff doubles per attempt with jitter, capped', () => {
  expect(retryDelayMs(1, 1000, 60_000, () => 1)).toBe(1000)
  expect(retryDelayMs(3, 1000, 60_000, () => 1)).toBe(4000)
  expect(retryDelayMs(3, 1000, 60_000, () => 0)).toBe(2000)
  expect(retryDelayMs(20, 1000, 60_000, () => 1)).toBe(60_000)
})

test('logs never carry a secret or a signature', async () => {
  const text = logs.join('\n')
  expect(text).toContain('webhook delivery will be retried')
  const signatures = received.map((r) => r.headers['webhook-signature']!.slice(3))
  expect(signatures.length).toBeGreaterThan(5)
  for (const s of signatures) expect(text).not.toContain(s)
  const secrets = (await db().select({ secret: webhooks.secret }).from(webhooks)).map((r) => r.secret.slice(6))
  for (const s of secrets) expect(text).not.toContain(s)
})
