import { afterAll, beforeAll, expect, test } from 'bun:test'
import { FalWebhookVerifier, WebhookAuthError } from '../../src/adapters/models/fal-webhook'
import { createLogger } from '../../src/lib/logger'
import { type TestKiln, json, startKiln } from '../harness'
import { type FakeFal, startFakeFal } from '../fakes/fal-server'

let fal: FakeFal
let k: TestKiln
beforeAll(async () => {
  fal = await startFakeFal()
  k = await startKiln({ env: { ...fal.env, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1' } })
})
afterAll(async () => {
  await k.close()
  await fal.close()
})

const PATH = '/api/v1/providers/fal/webhook'
const okPayload = (id: string) => ({ request_id: id, status: 'OK', payload: { images: [{ url: `${fal.url}/files/${id}.png` }] } })
const post = (d: { headers: Record<string, string>; body: string }) => json(k.request(PATH, { method: 'POST', headers: d.headers, body: d.body }))

test('a signed delivery for an unknown request is accepted (200) and ignored; a replay is harmless', async () => {
  const delivery = fal.signedWebhook('req-unknown-1', okPayload('req-unknown-1'))
  const first = await post(delivery)
  expect(first.status).toBe(200)
  expect(first.body).toEqual({ success: true, data: { received: true } })
  const again = await post(delivery)
  expect(again.status).toBe(200)
})

test('forged, tampered, stale and unsigned deliveries → 401 in the envelope', async () => {
  const tampered = await post(fal.signedWebhook('req-1', okPayload('req-1'), { tamper: true }))
  expect(tampered.status).toBe(401)
  expect(tampered.body.error.code).toBe('UNAUTHORIZED')
  expect(tampered.body.error.requestId).toBeString()

  const stale = await post(fal.signedWebhook('req-1', okPayload('req-1'), { timestamp: Math.floor(Date.now() / 1000) - 400 }))
  expect(stale.status).toBe(401)
  const future = await post(fal.signedWebhook('req-1', okPayload('req-1'), { timestamp: Math.floor(Date.now() / 1000) + 400 }))
  expect(future.status).toBe(401)

  // a valid signature moved onto another request id
  const good = fal.signedWebhook('req-1', okPayload('req-1'))
  const moved = await post({ ...good, headers: { ...good.headers, 'x-fal-webhook-request-id': 'req-2' } })
  expect(moved.status).toBe(401)

  const { 'x-fal-webhook-signature': _, ...unsigned } = good.headers
  expect((await post({ ...good, headers: unsigned })).status).toBe(401)
  const garbage = await post({ ...good, headers: { ...good.headers, 'x-fal-webhook-signature': 'zz'.repeat(64) } })
  expect(garbage.status).toBe(401)
})

test('without FAL_KEY the webhook route answers 404', async () => {
  const plain = await startKiln()
  try {
    const r = await json(plain.request(PATH, { method: 'POST', json: { request_id: 'x' } }))
    expect(r.status).toBe(404)
    expect(r.body.error.code).toBe('NOT_FOUND')
  } finally {
    await plain.close()
  }
})

test('keys are cached, refetched when fal rotates them, and forged deliveries cannot make Kiln hammer the JWKS URL', async () => {
  let now = Date.now()
  const verifier = new FalWebhookVerifier({ jwksUrl: fal.jwksUrl, log: createLogger('error'), now: () => now })
  const deliver = (tamper = false) => {
    const d = fal.signedWebhook('req-r', okPayload('req-r'), { timestamp: Math.floor(now / 1000), tamper })
    return verifier.verify(new Headers(d.headers), new TextEncoder().encode(d.body))
  }
  const before = fal.jwksFetches
  expect(await deliver()).toBe('req-r')
  expect(await deliver()).toBe('req-r')
  expect(fal.jwksFetches - before).toBe(1)
  for (let i = 0; i < 5; i++) await expect(deliver(true)).rejects.toBeInstanceOf(WebhookAuthError)
  expect(fal.jwksFetches - before).toBe(1)

  fal.rotateKey()
  now += 61_000
  // the unknown key triggers one refetch, after which the new key verifies
  expect(await deliver()).toBe('req-r')
  expect(fal.jwksFetches - before).toBe(2)
})
