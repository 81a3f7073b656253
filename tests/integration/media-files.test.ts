/**
 * The local media path over a real socket: signed file URLs (tampering,
 * expiry, ranges, caching headers), style previews, health, and a local
 * generation whose image and thumbnail are fetched through their signed URLs.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import sharp from 'sharp'
import type { LocalStorage } from '../../src/adapters/storage/local'
import { type TestKiln, json, startKiln } from '../harness'
import { signIn, submit, untilTerminal } from './generations-support'

let k: TestKiln
let storage: LocalStorage
const KEY = 'users/usr_media/generations/gen_media/full.webp'
let image: Uint8Array<ArrayBuffer>

beforeAll(async () => {
  k = await startKiln({ listen: true })
  storage = k.kiln.services.storage as LocalStorage
  image = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: '#00aa88' } }).webp().toBuffer())
  await storage.put(KEY, image, 'image/webp')
}, 60_000)
afterAll(() => k.close())

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers })

/** The signed URL with one query parameter replaced (or removed with null). */
function withParam(url: string, name: string, value: string | null): string {
  const u = new URL(url)
  if (value === null) u.searchParams.delete(name)
  else u.searchParams.set(name, value)
  return u.toString()
}

async function expectForbidden(res: Response) {
  const r = await json(res)
  expect(r.status).toBe(403)
  expect(r.body).toMatchObject({ success: false, error: { code: 'FORBIDDEN', requestId: expect.any(String) } })
}

describe('signed file URLs', () => {
  test('a signed URL serves the bytes with type, private cache, ETag and ranges advertised', async () => {
    const url = await storage.signedUrl(KEY)
    expect(url.startsWith(k.config.publicUrl)).toBe(true)
    const res = await get(url.replace(k.config.publicUrl, k.url))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/webp')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-z]+-[0-9a-z]+"$/)
    expect(res.headers.get('x-request-id')).toBeTruthy()
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '')?.[1])
    expect(maxAge).toBeGreaterThan(3590)
    expect(maxAge).toBeLessThanOrEqual(3600)
    expect(res.headers.get('content-disposition')).toBeNull()
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(image)
  })

  const local = async (opts?: { filename?: string; expiresInSeconds?: number }, key = KEY) =>
    (await storage.signedUrl(key, opts)).replace(k.config.publicUrl, k.url)

  test('fn becomes an attachment filename, UTF-8 included', async () => {
    const res = await get(await local({ filename: 'kiln-مرحبا "rocket".webp' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="kiln-_____ _rocket_.webp"; filename*=UTF-8''${encodeURIComponent('kiln-مرحبا "rocket".webp')}`,
    )
  })

  test('a tampered signature, another key, a changed or dropped fn, a moved expiry → 403', async () => {
    const url = await local({ filename: 'a.webp' })
    const sig = new URL(url).searchParams.get('sig')!
    await expectForbidden(await get(withParam(url, 'sig', `${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`)))
    await expectForbidden(await get(withParam(url, 'sig', null)))
    await expectForbidden(await get(withParam(url, 'fn', 'b.webp')))
    await expectForbidden(await get(withParam(url, 'fn', null)))
    await expectForbidden(await get(withParam(url, 'exp', String(Number(new URL(url).searchParams.get('exp')) + 3600))))
    await expectForbidden(await get(url.replace('/full.webp', '/thumb.webp')))
    await expectForbidden(await get(`${k.url}/files/${KEY}`))
  })

  test('an expired link → 403', async () => {
    await expectForbidden(await get(await local({ expiresInSeconds: -1 })))
  })

  test('path tricks never reach the disk: traversal is 403 or 404, never a file', async () => {
    for (const path of ['/files/../secrets/jwt_secret', '/files/users/%2e%2e/%2e%2e/secrets/session_secret', '/files/users/..%2f..%2fsecrets'])
      expect([403, 404]).toContain((await fetch(`${k.url}${path}?exp=9999999999&sig=x`)).status)
  })

  test('a signed URL for a key with no file → 404', async () => {
    const r = await json(get(await local(undefined, 'users/usr_media/generations/gen_none/full.webp')))
    expect(r.status).toBe(404)
    expect(r.body.error.code).toBe('NOT_FOUND')
  })

  test('Range: 206 with Content-Range for a span, a suffix and an open end; 416 when unsatisfiable', async () => {
    const url = await local()
    const size = image.byteLength
    const span = await get(url, { range: 'bytes=0-9' })
    expect(span.status).toBe(206)
    expect(span.headers.get('content-range')).toBe(`bytes 0-9/${size}`)
    expect(new Uint8Array(await span.arrayBuffer())).toEqual(image.slice(0, 10))
    const suffix = await get(url, { range: 'bytes=-5' })
    expect(suffix.status).toBe(206)
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(image.slice(size - 5))
    const open = await get(url, { range: `bytes=${size - 3}-` })
    expect(open.headers.get('content-range')).toBe(`bytes ${size - 3}-${size - 1}/${size}`)
    expect((await open.arrayBuffer()).byteLength).toBe(3)
    const beyond = await get(url, { range: `bytes=${size}-${size + 10}` })
    expect(beyond.status).toBe(416)
    expect(beyond.headers.get('content-range')).toBe(`bytes */${size}`)
    // several ranges may be answered with the whole file
    expect((await get(url, { range: 'bytes=0-1,4-5' })).status).toBe(200)
  })

  test('If-None-Match → 304; If-Range with a stale ETag → the whole file', async () => {
    const url = await local()
    const etag = (await get(url)).headers.get('etag')!
    const again = await get(url, { 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(etag)
    expect((await get(url, { range: 'bytes=0-3', 'if-range': '"stale"' })).status).toBe(200)
    expect((await get(url, { range: 'bytes=0-3', 'if-range': etag })).status).toBe(206)
  })

  test('files are not in the OpenAPI document; style previews are, as image/webp', async () => {
    const doc = await (await fetch(`${k.url}/docs/json`)).json()
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/files'))).toBe(false)
    const preview = doc.paths['/static/styles/{file}']?.get
    expect(preview?.responses['200'].content['image/webp']).toBeDefined()
  })
})

describe('style previews', () => {
  test('every catalogue style has a preview that decodes as WebP, cached for a day', async () => {
    const styles = (await json(k.request('/api/v1/styles'))).body.data as Array<{ id: string; previewImage: string }>
    expect(styles.length).toBeGreaterThanOrEqual(10)
    for (const s of styles) {
      const res = await fetch(`${k.url}${s.previewImage}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('image/webp')
      expect(res.headers.get('cache-control')).toBe('public, max-age=86400')
      const meta = await sharp(new Uint8Array(await res.arrayBuffer())).metadata()
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', 512, 512])
    }
  })

  test('the second request is served from memory, identical, and revalidates with 304', async () => {
    const a = await fetch(`${k.url}/static/styles/neon-glow.webp`)
    // Rendering a preview takes hundreds of ms; from memory it takes about one. The median of five
    // keeps one collector pause of a busy test machine from deciding the outcome.
    const took: number[] = []
    let b = a
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      b = await fetch(`${k.url}/static/styles/neon-glow.webp`)
      await b.clone().arrayBuffer()
      took.push(performance.now() - started)
    }
    expect(took.sort((x, y) => x - y)[2]!).toBeLessThan(50)
    expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer()))).toBe(true)
    const etag = b.headers.get('etag')!
    expect((await fetch(`${k.url}/static/styles/neon-glow.webp`, { headers: { 'if-none-match': etag } })).status).toBe(304)
  })

  test('unknown styles and odd names → 404 in the envelope', async () => {
    for (const path of ['/static/styles/nope.webp', '/static/styles/voxel-3d.png', '/static/styles/voxel-3d', '/static/styles/..%2fx.webp']) {
      const r = await json(fetch(`${k.url}${path}`))
      expect(r.status).toBe(404)
      expect(r.body.error.code).toBe('NOT_FOUND')
    }
  })
})

describe('health and a local generation end to end', () => {
  test('/health/detailed reports storage and provider', async () => {
    const r = await json(fetch(`${k.url}/health/detailed`))
    expect(r.status).toBe(200)
    expect(r.body.checks.storage).toMatchObject({ status: 'ok', kind: 'local' })
    expect(r.body.checks.provider).toMatchObject({ status: 'ok', kind: 'local' })
  })

  test('a generation completes; its signed image is WebP at the asked size, its thumbnail 400 px wide', async () => {
    const u = await signIn(k, 'pro')
    const accepted = await submit(k, u, { prompt: 'a lighthouse at dusk', style: 'glass-morphism', palette: 'sunset', aspectRatio: '16:9' })
    expect(accepted.status).toBe(202)
    const done = await untilTerminal(k, u, accepted.body.data.id)
    expect(done.status).toBe('completed')
    const full = await fetch(done.imageUrl!.replace(k.config.publicUrl, k.url))
    const thumb = await fetch(done.thumbnailUrl!.replace(k.config.publicUrl, k.url))
    expect([full.status, thumb.status]).toEqual([200, 200])
    const fullBytes = new Uint8Array(await full.arrayBuffer())
    const [fm, tm] = await Promise.all([sharp(fullBytes).metadata(), sharp(new Uint8Array(await thumb.arrayBuffer())).metadata()])
    expect([fm.format, fm.width, fm.height]).toEqual(['webp', done.width!, done.height!])
    expect(done.width! / done.height!).toBeCloseTo(16 / 9, 1)
    expect(done.bytes).toBe(fullBytes.byteLength)
    expect([tm.format, tm.width]).toEqual(['webp', 400])
    // another user's session changes nothing: the link itself is the credential, and only its holder has it
    await expectForbidden(await fetch(withParam(done.imageUrl!.replace(k.config.publicUrl, k.url), 'sig', 'forged')))
  })
})
