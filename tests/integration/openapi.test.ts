import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createConfig, lintFromString } from '@redocly/openapi-core'
import { type TestKiln, startKiln } from '../harness'

let k: TestKiln
let doc: any
beforeAll(async () => {
  k = await startKiln()
  doc = await (await k.request('/docs/json')).json()
})
afterAll(() => k.close())

const operations = () =>
  Object.entries<Record<string, any>>(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })))

test('the document passes the standard OpenAPI linter with no errors', async () => {
  const config = await createConfig({ extends: ['recommended'] })
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config })
  const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`)
  expect(errors).toEqual([])
  expect(doc.openapi).toMatch(/^3\.1\./)
})

test('every operation documents a success response and its error statuses', () => {
  for (const { path, method, op } of operations()) {
    const statuses = Object.keys(op.responses ?? {})
    expect(statuses.some((s) => /^[23]/.test(s)), `${method} ${path} has no success response`).toBe(true)
    if (op.security?.length) expect(statuses, `${method} ${path} lacks 401`).toContain('401')
    if (op.requestBody) expect(Object.keys(op.requestBody.content ?? {}).length, `${method} ${path} body has no media type`).toBeGreaterThan(0)
  }
})

test('the contract routes of DESIGN.md are in the document', () => {
  const have = new Set(operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`))
  for (const route of [
    'GET /health',
    'GET /health/live',
    'GET /health/ready',
    'GET /health/detailed',
    'GET /metrics',
    'GET /api/v1/styles',
    'GET /api/v1/palettes',
    'POST /api/v1/auth/dev',
    'GET /api/v1/auth/user',
    'POST /api/v1/auth/logout',
    'POST /api/v1/auth/token',
    'POST /api/v1/auth/refresh',
    'DELETE /api/v1/auth/revoke',
    'GET /api/v1/auth/google',
    'GET /api/v1/auth/google/url',
    'GET /api/v1/auth/google/callback',
    'GET /api/v1/keys',
    'POST /api/v1/keys',
    'DELETE /api/v1/keys/{id}',
    'GET /api/v1/user/profile',
    'PATCH /api/v1/user/profile',
    'GET /api/v1/user/stats',
    'GET /api/v1/account',
    'GET /api/v1/account/usage',
    'GET /api/v1/account/quota',
    'POST /api/v1/ws/ticket',
    'POST /api/v1/generations',
    'GET /api/v1/generations',
    'GET /api/v1/generations/{id}',
    'PATCH /api/v1/generations/{id}',
    'DELETE /api/v1/generations/{id}',
    'POST /api/v1/generations/{id}/cancel',
    'GET /api/v1/generations/{id}/download',
    'POST /api/v1/uploads/image',
    'POST /api/v1/providers/fal/webhook',
  ])
    expect(have.has(route), route).toBe(true)
})
