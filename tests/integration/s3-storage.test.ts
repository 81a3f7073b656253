import { afterAll, beforeAll, expect, test } from 'bun:test'
import { S3Storage } from '../../src/adapters/storage/s3'
import { storageKeys } from '../../src/adapters/storage/storage'
import { type FakeS3, startFakeS3 } from '../fakes/s3'

let s3: FakeS3
let storage: S3Storage
beforeAll(async () => {
  s3 = await startFakeS3()
  storage = new S3Storage({
    bucket: s3.bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
  })
})
afterAll(async () => {
  storage.close()
  await s3.close()
})

const bytes = (n: number) => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff
  return b
}

test('put then get returns the same bytes; missing keys are null', async () => {
  const key = storageKeys.generationFull('usr_a', 'gen_1')
  const body = bytes(300_000)
  await storage.put(key, body, 'image/webp')
  const back = await storage.get(key)
  expect(back).not.toBeNull()
  expect(Buffer.from(back!).equals(Buffer.from(body))).toBe(true)
  expect(await storage.get('users/usr_a/nothing.webp')).toBeNull()
})

test('presigned URL downloads with the filename, and stops working once expired (403)', async () => {
  const key = storageKeys.upload('usr_b', 'upl_1')
  await storage.put(key, bytes(1000), 'image/webp')
  const url = await storage.signedUrl(key, { filename: 'my image – ☀.webp' })
  expect(url.startsWith(`${s3.endpoint}/${s3.bucket}/users/usr_b/uploads/upl_1.webp?`)).toBe(true)
  expect(url).toContain('X-Amz-Expires=3600')
  const res = await fetch(url)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('image/webp')
  expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''my%20image%20%E2%80%93%20%E2%98%80.webp")
  expect((await res.arrayBuffer()).byteLength).toBe(1000)

  const short = await storage.signedUrl(key, { expiresInSeconds: 1 })
  await Bun.sleep(2100)
  const expired = await fetch(short)
  expect(expired.status).toBe(403)
  await expired.arrayBuffer()
  // (s3rver enforces expiry but not signatures, so tampering is not testable here)
})

test('delete removes both objects and tolerates missing keys', async () => {
  const full = storageKeys.generationFull('usr_c', 'gen_9')
  const thumb = storageKeys.generationThumb('usr_c', 'gen_9')
  await storage.put(full, bytes(10), 'image/webp')
  await storage.put(thumb, bytes(10), 'image/webp')
  await storage.delete([full, thumb, 'users/usr_c/never-there.webp'])
  expect(await storage.get(full)).toBeNull()
  expect(await storage.get(thumb)).toBeNull()
})

test('health is ok while the bucket answers and down when the server is gone', async () => {
  expect((await storage.health()).status).toBe('ok')
  await s3.stop()
  try {
    const h = await storage.health()
    expect(h.status).toBe('down')
    expect(h.kind).toBe('s3')
    const err = await storage.put('users/x/y.webp', bytes(5), 'image/webp').catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    // retried before giving up
    expect(err.$metadata?.attempts).toBe(3)
  } finally {
    await s3.restart()
  }
  expect((await storage.health()).status).toBe('ok')
})
