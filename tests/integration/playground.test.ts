/** The playground's pages: HTML shell with language and direction, security headers, the bundled app, hidden from OpenAPI. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

test('/ is the HTML shell with lang, dir, the app script and the security headers', async () => {
  const res = await k.request('/')
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toStartWith('text/html')
  const csp = res.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("default-src 'self'")
  expect(csp).toContain("script-src 'self'")
  expect(csp).not.toContain('unsafe-inline')
  expect(csp).toContain('ws://kiln.test')
  expect(csp).toMatch(/img-src 'self' [^;]*data: blob:/)
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('referrer-policy')).toBe('same-origin')
  expect(res.headers.get('x-request-id')).toMatch(/^req_/)
  const html = await res.text()
  expect(html).toContain('<html lang="en" dir="ltr">')
  expect(html).toContain('<script type="module" src="/playground.js"></script>')
  expect(html).not.toMatch(/<script>|<style>|style="/)
})

test('Accept-Language: ar serves the page right-to-left', async () => {
  const html = await (await k.request('/', { headers: { 'accept-language': 'ar,en;q=0.5' } })).text()
  expect(html).toContain('<html lang="ar" dir="rtl">')
})

test('a forged Host header does not reach the policy', async () => {
  const res = await k.request('/', { headers: { host: 'evil.test; script-src *' } })
  expect(res.headers.get('content-security-policy')).not.toContain('script-src *')
})

test('/playground.js is the bundled app, revalidated by ETag; /playground.css is CSS', async () => {
  const res = await k.request('/playground.js')
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toStartWith('text/javascript')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  const js = await res.text()
  expect(js.length).toBeGreaterThan(1000)
  expect(js).toContain('/auth/dev')
  expect(js).toContain('/api/v1/ws')
  expect(js).not.toMatch(/^import /m)
  const etag = res.headers.get('etag')!
  expect((await k.request('/playground.js', { headers: { 'if-none-match': etag } })).status).toBe(304)
  const css = await k.request('/playground.css')
  expect(css.headers.get('content-type')).toStartWith('text/css')
  expect(await css.text()).toContain('#progress')
})

test('unknown paths still get the 404 envelope; the pages are not in the OpenAPI document', async () => {
  const miss = await json(k.request('/playground/nope'))
  expect(miss.status).toBe(404)
  expect(miss.body).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } })
  expect(miss.body.error.requestId).toBeString()
  const doc = await json(k.request('/docs/json'))
  const paths = Object.keys(doc.body.paths)
  expect(paths).not.toContain('/')
  expect(paths).not.toContain('/playground.js')
  expect(paths).not.toContain('/playground.css')
})
