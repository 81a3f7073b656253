/** Standard Webhooks signatures: the published test vector, round trips, and what must fail. */
import { expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { generateSecret, signMessage, signatureHeaders, verifySignature } from '../../src/domain/webhooks/signing'

// The test vector of the Standard Webhooks specification and its reference libraries.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}

/** The reference algorithm written out independently: HMAC-SHA256 keyed with the base64-decoded secret. */
function referenceSign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

test('the published test vector is reproduced exactly', () => {
  expect(signMessage(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature)
  expect(referenceSign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature)
  const headers = { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: VECTOR.signature }
  expect(verifySignature(VECTOR.secret, headers, VECTOR.body, { now: VECTOR.timestamp * 1000 })).toBe(true)
})

test('a new secret is whsec_ + base64 of at least 24 random bytes, and each one differs', () => {
  const a = generateSecret()
  expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
  expect(Buffer.from(a.slice(6), 'base64').length).toBeGreaterThanOrEqual(24)
  expect(generateSecret()).not.toBe(a)
})

test('signed headers round-trip through the reference algorithm and the verifier', () => {
  const secret = generateSecret()
  const body = JSON.stringify({ type: 'generation.completed', timestamp: new Date().toISOString(), data: { id: 'gen_1', note: 'ünïcödé' } })
  const h = signatureHeaders(secret, 'dlv_abc', body)
  expect(h['webhook-id']).toBe('dlv_abc')
  expect(Math.abs(Number(h['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(2)
  expect(h['webhook-signature']).toBe(referenceSign(secret, 'dlv_abc', Number(h['webhook-timestamp']), body))
  const headers = { id: h['webhook-id']!, timestamp: h['webhook-timestamp']!, signature: h['webhook-signature']! }
  expect(verifySignature(secret, headers, body)).toBe(true)
  // several signatures (key rotation): any one matching is enough
  expect(verifySignature(secret, { ...headers, signature: `v1,bm9wZQ== ${headers.signature}` }, body)).toBe(true)
})

test('tampering with the body, id, timestamp, signature or secret fails verification', () => {
  const secret = generateSecret()
  const body = '{"type":"webhook.test"}'
  const h = signatureHeaders(secret, 'dlv_1', body)
  const headers = { id: h['webhook-id']!, timestamp: h['webhook-timestamp']!, signature: h['webhook-signature']! }
  expect(verifySignature(secret, headers, '{"type":"webhook.tesT"}')).toBe(false)
  expect(verifySignature(secret, { ...headers, id: 'dlv_2' }, body)).toBe(false)
  expect(verifySignature(secret, { ...headers, timestamp: String(Number(headers.timestamp) + 1) }, body)).toBe(false)
  const sig = headers.signature
  const flipped = `${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`
  expect(verifySignature(secret, { ...headers, signature: flipped }, body)).toBe(false)
  expect(verifySignature(secret, { ...headers, signature: sig.replace('v1,', 'v2,') }, body)).toBe(false)
  expect(verifySignature(secret, { ...headers, signature: '' }, body)).toBe(false)
  expect(verifySignature(generateSecret(), headers, body)).toBe(false)
})

test('a timestamp outside the tolerance is refused (replay protection)', () => {
  const secret = generateSecret()
  const body = '{}'
  const old = Date.now() - 10 * 60_000
  const h = signatureHeaders(secret, 'dlv_1', body, old)
  const headers = { id: h['webhook-id']!, timestamp: h['webhook-timestamp']!, signature: h['webhook-signature']! }
  expect(verifySignature(secret, headers, body)).toBe(false)
  expect(verifySignature(secret, headers, body, { now: old })).toBe(true)
  expect(verifySignature(secret, { ...headers, timestamp: 'abc' }, body, { now: old })).toBe(false)
})
