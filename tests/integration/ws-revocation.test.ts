import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'
import { CLOSE } from '../../src/transport/ws/close-codes'
import { connected, signIn, wsUrl } from './ws-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln({ listen: true })
})
afterAll(() => k.close())

const within = <T>(p: Promise<T>, ms = 3000) =>
  Promise.race([p, Bun.sleep(ms).then(() => 'still open' as const)])

test('signing out closes the sockets of that session (cookie and its access token) with 4401, and only those', async () => {
  const ada = await signIn(k, 'revoke-ada@example.com')
  const other = await signIn(k, 'revoke-ada@example.com') // a second session of the same user
  const viaCookie = await connected(wsUrl(k), { cookie: ada.cookie, origin: k.url })
  const viaToken = await connected(wsUrl(k), { authorization: `Bearer ${ada.accessToken}` })
  const otherSession = await connected(wsUrl(k), { authorization: `Bearer ${other.accessToken}` })

  const out = await json(k.request('/api/v1/auth/logout', { method: 'POST', headers: { cookie: ada.cookie } }))
  expect(out.status).toBe(200)
  expect(((await within(viaCookie.closed)) as { code: number }).code).toBe(CLOSE.UNAUTHORIZED)
  expect(((await within(viaToken.closed)) as { code: number }).code).toBe(CLOSE.UNAUTHORIZED)
  expect(await within(otherSession.closed, 300)).toBe('still open')
  otherSession.close()
})

test('deleting an API key closes the sockets opened with it; another user is untouched', async () => {
  const bea = await signIn(k, 'revoke-bea@example.com')
  const cal = await signIn(k, 'revoke-cal@example.com')
  const key = await json(k.request('/api/v1/keys', { method: 'POST', headers: { cookie: bea.cookie }, json: { name: 'ws' } }))
  const viaKey = await connected(wsUrl(k), { 'x-api-key': key.body.data.key })
  const calSocket = await connected(wsUrl(k), { authorization: `Bearer ${cal.accessToken}` })
  // Cal cannot revoke Bea's key (404) and nothing closes.
  const foreign = await json(k.request(`/api/v1/keys/${key.body.data.id}`, { method: 'DELETE', headers: { cookie: cal.cookie } }))
  expect(foreign.status).toBe(404)
  expect(await within(viaKey.closed, 300)).toBe('still open')

  const del = await json(k.request(`/api/v1/keys/${key.body.data.id}`, { method: 'DELETE', headers: { cookie: bea.cookie } }))
  expect(del.status).toBe(200)
  expect(((await within(viaKey.closed)) as { code: number }).code).toBe(CLOSE.UNAUTHORIZED)
  expect(await within(calSocket.closed, 300)).toBe('still open')
  calSocket.close()
})

test('a reused refresh token revokes its family and closes the sockets opened with tokens of that family', async () => {
  const dee = await signIn(k, 'revoke-dee@example.com')
  const key = await json(k.request('/api/v1/keys', { method: 'POST', headers: { cookie: dee.cookie }, json: { name: 'rt' } }))
  const pair = await json(k.request('/api/v1/auth/token', { method: 'POST', headers: { 'x-api-key': key.body.data.key } }))
  expect(pair.status).toBe(200)
  const rotated = await json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair.body.data.refreshToken } }))
  expect(rotated.status).toBe(200)
  const viaFamily = await connected(wsUrl(k), { authorization: `Bearer ${rotated.body.data.accessToken}` })
  const viaCookie = await connected(wsUrl(k), { cookie: dee.cookie, origin: k.url })

  // The first refresh token again: reuse. The family is revoked and its socket closes; the session's socket stays.
  const reused = await json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair.body.data.refreshToken } }))
  expect(reused.status).toBe(401)
  expect(((await within(viaFamily.closed)) as { code: number }).code).toBe(CLOSE.UNAUTHORIZED)
  expect(await within(viaCookie.closed, 300)).toBe('still open')
  viaCookie.close()
})
