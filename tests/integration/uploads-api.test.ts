import { afterAll, beforeAll, expect, test } from 'bun:test'
import { deflateSync } from 'node:zlib'
import { eq } from 'drizzle-orm'
import sharp from 'sharp'
import { uploads as uploadsTable } from '../../src/adapters/db/schema'
import { S3Storage } from '../../src/adapters/storage/s3'
import { type TestKiln, json, startKiln } from '../harness'
import { type FakeS3, startFakeS3 } from '../fakes/s3'

let s3: FakeS3
let k: TestKiln
let storage: S3Storage
let ada: string
let bob: string

async function signIn(email: string, tier = 'pro') {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email, tier } }))
  return `Bearer ${r.body.data.accessToken}`
}

beforeAll(async () => {
  s3 = await startFakeS3()
  k = await startKiln({ env: s3.env })
  storage = new S3Storage({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true })
  ada = await signIn('ada@example.com')
  bob = await signIn('bob@example.com')
})
afterAll(async () => {
  storage.close()
  await k.close()
  await s3.close()
})

function upload(auth: string | undefined, data: Uint8Array | string, name = 'photo.png', type = 'image/png') {
  const form = new FormData()
  form.append('file', new File([typeof data === 'string' ? data : new Uint8Array(data)], name, { type }))
  return json(k.request('/api/v1/uploads/image', { method: 'POST', body: form, headers: auth ? { authorization: auth } : {} }))
}

const jpegWithExif = () =>
  sharp({ create: { width: 640, height: 480, channels: 3, background: '#3366cc' } })
    .jpeg()
    .withExif({ IFD0: { Copyright: 'private-exif-marker', Artist: 'someone' } })
    .toBuffer()

/** A real PNG whose header claims `w`×`h` pixels (CRC fixed up): a decompression bomb's calling card. */
function pngClaiming(w: number, h: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (b: Buffer) => {
    let c = 0xffffffff
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type), data])
    const c = Buffer.alloc(4)
    c.writeUInt32BE(crc(body))
    return Buffer.concat([len, body, c])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr.set([8, 0, 0, 0, 0], 8) // 8-bit greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

test('a JPEG upload is stored as WebP without its EXIF, and only its owner can see it', async () => {
  const r = await upload(ada, await jpegWithExif(), 'holiday.png', 'application/octet-stream')
  expect(r.status).toBe(201)
  expect(r.body.data).toMatchObject({ width: 640, height: 480, contentType: 'image/webp' })
  expect(r.body.data.id).toStartWith('upl_')
  const rows = await k.kiln.services.uploads.get((await json(k.request('/api/v1/auth/user', { headers: { authorization: ada } }))).body.data.id, r.body.data.id)
  expect(rows?.id).toBe(r.body.data.id)

  const userId = (await json(k.request('/api/v1/auth/user', { headers: { authorization: ada } }))).body.data.id
  const stored = await storage.get(`users/${userId}/uploads/${r.body.data.id}.webp`)
  expect(stored).not.toBeNull()
  const meta = await sharp(stored!).metadata()
  expect(meta.format).toBe('webp')
  expect(meta.exif).toBeUndefined()
  expect(Buffer.from(stored!).includes('private-exif-marker')).toBe(false)
  expect(stored!.byteLength).toBe(r.body.data.bytes)

  const mine = await json(k.request(`/api/v1/uploads/${r.body.data.id}`, { headers: { authorization: ada } }))
  expect(mine.status).toBe(200)
  const theirs = await json(k.request(`/api/v1/uploads/${r.body.data.id}`, { headers: { authorization: bob } }))
  expect(theirs.status).toBe(404)
  expect(theirs.body.error.code).toBe('NOT_FOUND')
  expect((await json(k.request(`/api/v1/uploads/${r.body.data.id}`))).status).toBe(401)
})

test('PNG, WebP and GIF are accepted by content', async () => {
  const base = sharp({ create: { width: 64, height: 48, channels: 4, background: '#ff8800' } })
  for (const data of [await base.clone().png().toBuffer(), await base.clone().webp().toBuffer(), await base.clone().gif().toBuffer()]) {
    const r = await upload(ada, data, 'x.bin', 'text/plain')
    expect(r.status).toBe(201)
    expect(r.body.data).toMatchObject({ width: 64, height: 48 })
  }
})

test('non-images are 415 whatever the name or declared type says; SVG is refused', async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
  const r1 = await upload(ada, svg, 'image.png', 'image/png')
  expect(r1.status).toBe(415)
  expect(r1.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
  expect((await upload(ada, svg, 'image.svg', 'image/svg+xml')).status).toBe(415)
  expect((await upload(ada, 'just text', 'notes.jpg', 'image/jpeg')).status).toBe(415)
  // a body that is not multipart has no `file` field: 400
  const raw = await json(k.request('/api/v1/uploads/image', { method: 'POST', headers: { authorization: ada, 'content-type': 'image/png' }, body: 'x' }))
  expect(raw.status).toBe(400)
  const asJson = await json(k.request('/api/v1/uploads/image', { method: 'POST', headers: { authorization: ada }, json: { file: 'x' } }))
  expect(asJson.status).toBe(400)
})

test('a pixel bomb and a corrupt image are 400; a missing file is 400; no credentials is 401', async () => {
  const bomb = await upload(ada, pngClaiming(100_000, 100_000))
  expect(bomb.status).toBe(400)
  expect(bomb.body.error.code).toBe('VALIDATION_ERROR')
  expect(bomb.body.error.message).toContain('pixels')
  const corrupt = new Uint8Array(2000)
  corrupt.set([0xff, 0xd8, 0xff, 0xe0])
  expect((await upload(ada, corrupt)).status).toBe(400)
  const noFile = await json(k.request('/api/v1/uploads/image', { method: 'POST', body: new FormData(), headers: { authorization: ada } }))
  expect(noFile.status).toBe(400)
  expect((await upload(undefined, await jpegWithExif())).status).toBe(401)
})

test('more than 10 MB is 413, also when no Content-Length announces it', async () => {
  const big = new Uint8Array(10 * 1024 * 1024 + 1)
  big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const r = await upload(ada, big)
  expect(r.status).toBe(413)
  expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE')

  // chunked: the body streams in with no length; the cap trips while reading
  const form = new FormData()
  form.append('file', new File([big], 'big.png', { type: 'image/png' }))
  const encoded = new Response(form)
  const type = encoded.headers.get('content-type')!
  const streamed = await json(
    k.request('/api/v1/uploads/image', { method: 'POST', body: encoded.body, headers: { authorization: ada, 'content-type': type } }),
  )
  expect(streamed.status).toBe(413)
})

test('the per-user upload rate limit answers 429 with Retry-After, whichever path the uploads came by', async () => {
  const free = await signIn('carol@example.com', 'free')
  const me = (await json(k.request('/api/v1/auth/user', { headers: { authorization: free } }))).body.data.id
  const small = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer()
  // uploads made outside this route (e.g. a generation's multipart sourceImage) count too
  for (let i = 0; i < 9; i++) await k.kiln.services.uploads.create(me, small)
  expect((await upload(free, small)).status).toBe(201)
  const r = await upload(free, small)
  expect(r.status).toBe(429)
  expect(r.body.error.code).toBe('RATE_LIMIT_EXCEEDED')
  expect(r.body.error.message).toContain('uploads per minute')
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
  // another user is not affected
  expect((await upload(bob, small)).status).toBe(201)
})

test('storage down: 503 with Retry-After, and no row left behind', async () => {
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#123456' } }).png().toBuffer()
  const userId = (await json(k.request('/api/v1/auth/user', { headers: { authorization: bob } }))).body.data.id
  await s3.stop()
  try {
    const r = await upload(bob, png)
    expect(r.status).toBe(503)
    expect(r.body.error.code).toBe('SERVICE_UNAVAILABLE')
    expect(r.headers.get('retry-after')).toBe('5')
  } finally {
    await s3.restart()
  }
  const rows = await k.kiln.services.database.db.select().from(uploadsTable).where(eq(uploadsTable.userId, userId))
  // bob's one earlier upload only
  expect(rows.length).toBe(1)
})

test('embedded mode stores uploads in local files', async () => {
  const local = await startKiln()
  try {
    const r0 = await json(local.request('/api/v1/auth/dev', { method: 'POST', json: { email: 'dee@example.com', tier: 'pro' } }))
    const auth = { authorization: `Bearer ${r0.body.data.accessToken}` }
    const form = new FormData()
    form.append('file', new File([new Uint8Array(await jpegWithExif())], 'a.jpg', { type: 'image/jpeg' }))
    const up = await json(local.request('/api/v1/uploads/image', { method: 'POST', body: form, headers: auth }))
    expect(up.status).toBe(201)
    const key = `users/${r0.body.data.user.id}/uploads/${up.body.data.id}.webp`
    const stored = await local.kiln.services.storage.get(key)
    expect((await sharp(stored!).metadata()).format).toBe('webp')
  } finally {
    await local.close()
  }
})
