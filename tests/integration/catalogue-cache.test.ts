/** The catalogue's prepared responses: same body in every encoding, ETag revalidation, reseeds picked up. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { eq } from 'drizzle-orm'
import { styles } from '../../src/adapters/db/schema'
import { type TestKiln, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

test('br, gzip and identity carry the same JSON, with one ETag per language', async () => {
  const plain = await k.request('/api/v1/styles')
  const text = await plain.text()
  expect(JSON.parse(text).success).toBe(true)
  expect(plain.headers.get('content-encoding')).toBeNull()
  expect(plain.headers.get('x-request-id')).toMatch(/^req_/)
  expect(plain.headers.get('vary')).toBe('Accept-Language, Accept-Encoding')
  const etag = plain.headers.get('etag')!
  expect(etag).toMatch(/^W\/"/)

  const br = await k.request('/api/v1/styles', { headers: { 'accept-encoding': 'gzip, deflate, br' } })
  expect(br.headers.get('content-encoding')).toBe('br')
  expect(brotliDecompressSync(Buffer.from(await br.arrayBuffer())).toString()).toBe(text)
  const gz = await k.request('/api/v1/styles', { headers: { 'accept-encoding': 'gzip' } })
  expect(gz.headers.get('content-encoding')).toBe('gzip')
  expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString()).toBe(text)

  const ar = await k.request('/api/v1/styles', { headers: { 'accept-language': 'ar' } })
  expect(ar.headers.get('etag')).not.toBe(etag)
  expect(ar.headers.get('content-language')).toBe('ar')
})

test('a matching If-None-Match answers 304 without a body; a stale one gets the list', async () => {
  const first = await k.request('/api/v1/palettes')
  const etag = first.headers.get('etag')!
  const again = await k.request('/api/v1/palettes', { headers: { 'if-none-match': `"other", ${etag}` } })
  expect(again.status).toBe(304)
  expect(await again.text()).toBe('')
  expect(again.headers.get('etag')).toBe(etag)
  const stale = await k.request('/api/v1/palettes', { headers: { 'if-none-match': 'W/"stale"' } })
  expect(stale.status).toBe(200)
  expect((await stale.json()).data.length).toBeGreaterThan(0)
})

test('after a catalogue change and invalidate(), the prepared bytes follow the new view', async () => {
  const before = await k.request('/api/v1/styles')
  const etag = before.headers.get('etag')
  await k.kiln.services.database.db
    .update(styles)
    .set({ title: { en: 'Voxel 3D (renamed)', ar: 'فوكسل' } })
    .where(eq(styles.id, 'voxel-3d'))
  k.kiln.services.catalogue.invalidate()
  const after = await k.request('/api/v1/styles')
  expect(after.headers.get('etag')).not.toBe(etag)
  const voxel = (await after.json()).data.find((s: { id: string }) => s.id === 'voxel-3d')
  expect(voxel.title).toBe('Voxel 3D (renamed)')
})
