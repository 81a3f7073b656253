import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

describe('ops endpoints', () => {
  test('GET /health is cheap and ok, with a request id', async () => {
    const r = await json(k.request('/health'))
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ status: 'ok' })
    expect(r.headers.get('x-request-id')).toMatch(/^req_/)
  })

  test('a sane incoming X-Request-Id is honoured, an insane one replaced', async () => {
    const a = await k.request('/health', { headers: { 'x-request-id': 'abc-123' } })
    expect(a.headers.get('x-request-id')).toBe('abc-123')
    const b = await k.request('/health', { headers: { 'x-request-id': 'bad id with spaces <script>' } })
    expect(b.headers.get('x-request-id')).toMatch(/^req_/)
  })

  test('/health/ready reports the database migrated', async () => {
    const r = await json(k.request('/health/ready'))
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('ok')
    expect(r.body.checks.database.status).toBe('ok')
  })

  test('/health/detailed has version, node, uptime and latencies', async () => {
    const r = await json(k.request('/health/detailed'))
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ status: 'ok', node: 'test-node', version: expect.any(String) })
    expect(typeof r.body.uptimeSeconds).toBe('number')
    expect(typeof r.body.checks.database.latencyMs).toBe('number')
  })

  test('/metrics speaks Prometheus text with HTTP histograms', async () => {
    await k.request('/api/v1/styles')
    await Bun.sleep(20) // the access log and metrics are written after the response
    const res = await k.request('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(text).toContain('kiln_http_requests_total')
    expect(text).toContain('kiln_http_request_duration_seconds_bucket')
    expect(text).toMatch(/route="\/api\/v1\/styles"/)
    // What the node holds, read at scrape time.
    for (const gauge of ['kiln_websockets_open', 'kiln_actors_active', 'kiln_jobs_running']) expect(text).toMatch(new RegExp(`^${gauge} \\d+$`, 'm'))
    expect(text.includes('kiln_actor_leases_held')).toBe(k.kiln.services.bus.kind === 'redis')
  })
})

describe('error envelope', () => {
  test('unknown route → 404 NOT_FOUND in the envelope', async () => {
    const r = await json(k.request('/api/v1/nope'))
    expect(r.status).toBe(404)
    expect(r.body.error.requestId).toBe(r.headers.get('x-request-id')!)
    expect(r.body.success).toBe(false)
    expect(r.body.error.code).toBe('NOT_FOUND')
  })

  test('a JSON body over 1 MB → 413 PAYLOAD_TOO_LARGE, and the server keeps serving', async () => {
    const live = await startKiln({ listen: true })
    try {
      const big = JSON.stringify({ x: 'a'.repeat(1024 * 1024 + 10) })
      const r = await json(fetch(`${live.url}/api/v1/styles`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } }))
      expect(r.status).toBe(413)
      expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE')
      expect((await fetch(`${live.url}/health`)).status).toBe(200)
    } finally {
      await live.close()
    }
  })
})

describe('catalogue', () => {
  test('styles are seeded, sorted and localised', async () => {
    const en = await json(k.request('/api/v1/styles'))
    expect(en.status).toBe(200)
    const ids = en.body.data.map((s: { id: string }) => s.id)
    for (const id of ['voxel-3d', 'minimal-icon', 'glass-morphism', 'neon-glow', 'toy-figurine', 'modern', 'minimal', 'corporate', 'cyberpunk', 'hand-drawn'])
      expect(ids).toContain(id)
    expect(en.body.data[0].title).toBe('Voxel 3D')
    const ar = await json(k.request('/api/v1/styles', { headers: { 'accept-language': 'ar-SA,ar;q=0.9,en;q=0.5' } }))
    expect(ar.body.data[0].title).toBe('فوكسل ثلاثي الأبعاد')
    expect(ar.headers.get('content-language')).toBe('ar')
  })

  test('palettes carry hex colours', async () => {
    const r = await json(k.request('/api/v1/palettes'))
    const ocean = r.body.data.find((p: { id: string }) => p.id === 'ocean')
    expect(ocean.colors.length).toBeGreaterThan(0)
    for (const c of ocean.colors) expect(c).toMatch(/^#[0-9a-f]{6}$/i)
  })

  test('large JSON is compressed when the client accepts it', async () => {
    const res = await k.request('/api/v1/styles', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBe('gzip')
  })
})

describe('docs', () => {
  test('/docs/json is an OpenAPI 3.1 document listing the routes', async () => {
    const r = await json(k.request('/docs/json'))
    expect(r.status).toBe(200)
    expect(r.body.openapi).toMatch(/^3\.1/)
    expect(Object.keys(r.body.paths)).toContain('/api/v1/styles')
  })

  test('/docs serves the Scalar UI from Kiln itself (works offline)', async () => {
    const html = await (await k.request('/docs')).text()
    expect(html).toContain('/docs/scalar.js')
    expect(html).not.toMatch(/cdn\.jsdelivr|unpkg\.com/)
    const js = await k.request('/docs/scalar.js')
    expect(js.status).toBe(200)
    expect(Number((await js.arrayBuffer()).byteLength)).toBeGreaterThan(100_000)
  })
})
