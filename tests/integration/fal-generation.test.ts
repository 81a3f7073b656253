/**
 * The production path end to end: FAL_KEY + FAL_BASE_URL at the fake fal
 * server, S3_* at s3rver, fal's webhooks delivered over real HTTP to Kiln.
 * A generation goes from POST to a downloadable WebP in the bucket.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import sharp from 'sharp'
import { type TestKiln, json, startKiln } from '../harness'
import { type FakeFal, startFakeFal } from '../fakes/fal-server'
import { type FakeS3, startFakeS3 } from '../fakes/s3'
import { type Signed, signIn, submit, untilTerminal } from './generations-support'

let fal: FakeFal
let s3: FakeS3
let k: TestKiln
let front: ReturnType<typeof Bun.serve>
let u: Signed

beforeAll(async () => {
  ;[fal, s3] = await Promise.all([startFakeFal(), startFakeS3()])
  // PUBLIC_URL must be known before Kiln starts: a loopback front door that hands requests to the app
  front = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (req) => k.kiln.app.handle(req) })
  k = await startKiln({
    env: { ...fal.env, ...s3.env, PUBLIC_URL: `http://127.0.0.1:${front.port}`, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1' },
  })
  u = await signIn(k, 'enterprise')
})
afterAll(async () => {
  await front.stop(true)
  await k.close()
  await Promise.all([fal.close(), s3.close()])
})
beforeEach(() => fal.reset())

const input = { prompt: 'a copper kettle', style: 'minimal-icon', palette: 'ocean', aspectRatio: '4:3', size: '1K', seed: 7 }

async function generate(body: unknown = input) {
  const r = await submit(k, u, body)
  expect(r.status).toBe(202)
  return { id: r.body.data.id as string, done: await untilTerminal(k, u, r.body.data.id, 20_000) }
}

const lastRequest = () => [...fal.requests.values()].at(-1)!

test('text-to-image: fal by webhook, stored in the bucket, downloadable through a presigned URL', async () => {
  const { id, done } = await generate()
  expect(done.status).toBe('completed')
  const sent = lastRequest()
  // minimal-icon's model in the catalogue
  expect(sent.endpoint).toBe('fal-ai/flux/schnell')
  expect(sent.input.prompt).toContain('a copper kettle')
  expect(sent.input.seed).toBe(7)
  expect(sent.webhookUrl).toBe(`http://127.0.0.1:${front.port}/api/v1/providers/fal/webhook`)
  expect(sent.webhooksSent).toBe(1)
  expect(done.imageUrl?.startsWith(s3.endpoint)).toBe(true)
  expect(JSON.stringify(done)).not.toContain(fal.url)

  const dl = await json(k.request(`/api/v1/generations/${id}/download`, { headers: u.headers }))
  expect(dl.status).toBe(200)
  expect(dl.body.data.url.startsWith(`${s3.endpoint}/${s3.bucket}/users/${u.id}/generations/${id}/full.webp?`)).toBe(true)
  const file = await fetch(dl.body.data.url)
  expect(file.status).toBe(200)
  expect(file.headers.get('content-disposition')).toContain('attachment')
  const meta = await sharp(new Uint8Array(await file.arrayBuffer())).metadata()
  expect(meta.format).toBe('webp')
  const thumb = await fetch(done.thumbnailUrl!)
  expect((await sharp(new Uint8Array(await thumb.arrayBuffer())).metadata()).width).toBe(400)
})

test('image-to-image from an upload: fal gets a presigned http(s) URL it can fetch, never a data URI', async () => {
  const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#884422' } }).png().toBuffer()
  const form = new FormData()
  form.append('file', new File([new Uint8Array(png)], 'src.png', { type: 'image/png' }))
  const up = await json(k.request('/api/v1/uploads/image', { method: 'POST', body: form, headers: u.headers }))
  expect(up.status).toBe(201)
  const { done } = await generate({ ...input, sourceImageId: up.body.data.id })
  expect(done.status).toBe('completed')
  const sent = lastRequest()
  expect(sent.endpoint).toBe('fal-ai/flux/dev/image-to-image')
  expect(String(sent.input.image_url)).toStartWith(`${s3.endpoint}/${s3.bucket}/users/${u.id}/uploads/${up.body.data.id}.webp?`)
  expect(sent.sourceImageStatus).toBe(200)
})

test('webhook lost: polling completes the job', async () => {
  fal.behaviour.webhook = 'lose'
  const { done } = await generate()
  expect(done.status).toBe('completed')
  expect(lastRequest().webhooksSent).toBe(0)
})

test('fal 500 on submit, then success: retried by Kiln, submitted exactly once more', async () => {
  fal.behaviour.submitFailures = 1
  const { done } = await generate()
  expect(done.status).toBe('completed')
  expect(fal.submitCalls).toBe(2)
})

test('permanent fal failure → failed with a specific code; NSFW → CONTENT_REJECTED', async () => {
  fal.behaviour.outcome = 'validation'
  const bad = await generate()
  expect(bad.done.status).toBe('failed')
  expect(bad.done.error?.code).toBe('PROVIDER_REJECTED')
  expect(fal.submitCalls).toBe(1)
  fal.reset()
  fal.behaviour.outcome = 'nsfw'
  const nsfw = await generate()
  expect(nsfw.done.status).toBe('failed')
  expect(nsfw.done.error?.code).toBe('CONTENT_REJECTED')
})

test('cancel reaches fal', async () => {
  fal.behaviour.runMs = 5000
  fal.behaviour.webhook = 'lose'
  const before = fal.requests.size
  const r = await submit(k, u, input)
  const id = r.body.data.id as string
  for (let i = 0; i < 200 && fal.requests.size === before; i++) await Bun.sleep(10)
  const req = lastRequest()
  for (let i = 0; i < 200; i++) {
    const g = await k.kiln.services.generations.get({ id: u.id, tier: 'enterprise' }, id)
    if (g.status === 'generating') break
    await Bun.sleep(10)
  }
  const c = await json(k.request(`/api/v1/generations/${id}/cancel`, { method: 'POST', headers: u.headers }))
  expect(c.status).toBe(200)
  for (let i = 0; i < 200 && !req.cancelled; i++) await Bun.sleep(10)
  expect(req.cancelled).toBe(true)
})

test('S3 down during finalizing: retried, then the job fails cleanly with nothing half-written', async () => {
  fal.behaviour.runMs = 600
  const r = await submit(k, u, input)
  const id = r.body.data.id as string
  // the bucket goes away while fal is still rendering, so it is gone when finalizing stores the files
  for (let i = 0; i < 300; i++) {
    const g = await k.kiln.services.generations.get({ id: u.id, tier: 'enterprise' }, id)
    if (g.status === 'generating') break
    await Bun.sleep(10)
  }
  await s3.stop()
  try {
    const done = await untilTerminal(k, u, id, 30_000)
    expect(done.status).toBe('failed')
    expect(done.error?.code).toBe('STORAGE_ERROR')
    expect(done.error?.message).toBeString()
    expect(done.imageUrl).toBeNull()
    expect(done.thumbnailUrl).toBeNull()
  } finally {
    await s3.restart()
  }
  // nothing of the job is in the bucket
  const { S3Storage } = await import('../../src/adapters/storage/s3')
  const store = new S3Storage({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true })
  expect(await store.get(`users/${u.id}/generations/${id}/full.webp`)).toBeNull()
  expect(await store.get(`users/${u.id}/generations/${id}/thumb.webp`)).toBeNull()
  store.close()
})
