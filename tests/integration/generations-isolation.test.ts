import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'
import { signIn, submit, untilTerminal } from './generations-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

test("another user's generation is 404 on every route, and unchanged afterwards", async () => {
  const a = await signIn(k, 'pro')
  const b = await signIn(k, 'pro')
  const r = await submit(k, a)
  const id = r.body.data.id
  await untilTerminal(k, a, id)
  const routes: [string, string, unknown?][] = [
    ['GET', `/api/v1/generations/${id}`],
    ['PATCH', `/api/v1/generations/${id}`, { isLiked: true }],
    ['DELETE', `/api/v1/generations/${id}`],
    ['POST', `/api/v1/generations/${id}/cancel`],
    ['GET', `/api/v1/generations/${id}/download`],
  ]
  for (const [method, path, body] of routes) {
    const res = await json(k.request(path, { method, headers: b.headers, ...(body ? { json: body } : {}) }))
    expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 404`)
    expect(res.body.error.code).toBe('NOT_FOUND')
  }
  const list = await json(k.request('/api/v1/generations', { headers: b.headers }))
  expect(list.body.meta.total).toBe(0)
  const mine = await json(k.request(`/api/v1/generations/${id}`, { headers: a.headers }))
  expect(mine.body.data).toMatchObject({ status: 'completed', isLiked: false, downloadCount: 0 })
  // Someone else's job as a template or malformed ids are 404 as well.
  expect((await json(k.request('/api/v1/generations/not-an-id', { headers: b.headers }))).status).toBe(404)
})

test('no credentials → 401 on every route', async () => {
  for (const [method, path] of [
    ['GET', '/api/v1/generations'],
    ['POST', '/api/v1/generations'],
    ['GET', '/api/v1/generations/gen_x'],
  ] as const) {
    const res = await json(k.request(path, { method, ...(method === 'POST' ? { json: { prompt: 'x', style: 'modern' } } : {}) }))
    expect(res.status).toBe(401)
  }
})
