import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

test('dev sign-in sets a session cookie and returns an access token', async () => {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email: 'Ada@Example.com', name: 'Ada', tier: 'pro' } }))
  expect(r.status).toBe(200)
  expect(r.body.data.user).toMatchObject({ email: 'ada@example.com', tier: 'pro' })
  const setCookie = r.headers.get('set-cookie')!
  expect(setCookie).toContain('HttpOnly')
  expect(setCookie).toContain('SameSite=Lax')
  const cookie = setCookie.split(';')[0]!
  const viaCookie = await json(k.request('/api/v1/auth/user', { headers: { cookie } }))
  expect(viaCookie.status).toBe(200)
  expect(viaCookie.body.data.email).toBe('ada@example.com')
  const viaToken = await json(k.request('/api/v1/auth/user', { headers: { authorization: `Bearer ${r.body.data.accessToken}` } }))
  expect(viaToken.body.data.id).toBe(r.body.data.user.id)
  await k.request('/api/v1/auth/logout', { method: 'POST', headers: { cookie } })
  const after = await json(k.request('/api/v1/auth/user', { headers: { cookie } }))
  expect(after.status).toBe(401)
  expect(after.body.error.code).toBe('UNAUTHORIZED')
})

test('no credentials → 401; bad email → 400 with field details', async () => {
  const none = await json(k.request('/api/v1/auth/user'))
  expect(none.status).toBe(401)
  const bad = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email: 'nope' } }))
  expect(bad.status).toBe(400)
  expect(bad.body.error.code).toBe('VALIDATION_ERROR')
  expect(bad.body.error.details.issues[0].field).toBe('email')
})

test('dev sign-in is refused (404) in production', async () => {
  const prod = await startKiln({
    env: { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), SESSION_SECRET: 'y'.repeat(40), DATABASE_URL: 'postgres://unused@127.0.0.1/x' },
  })
  try {
    const r = await json(prod.request('/api/v1/auth/dev', { method: 'POST', json: { email: 'a@b.co' } }))
    expect(r.status).toBe(404)
  } finally {
    await prod.close()
  }
})
