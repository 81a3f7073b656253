import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { fetchModelOutput } from '../../src/adapters/models/fal-download'
import { buildFalInput } from '../../src/adapters/models/fal-input'
import { FalProvider, type FalProviderOptions, falWebhookUrl } from '../../src/adapters/models/fal'
import { ModelError, type ModelProgress, type ModelRequest } from '../../src/adapters/models/model'
import { createLogger } from '../../src/lib/logger'
import { sniffImageType } from '../../src/lib/image-type'
import { type FakeFal, startFakeFal } from '../fakes/fal-server'

let fal: FakeFal
let receiver: ReturnType<typeof Bun.serve>
/** The provider the webhook receiver hands deliveries to (each test picks one). */
let current: FalProvider | undefined
const log = createLogger('error')

beforeAll(async () => {
  fal = await startFakeFal()
  // a real HTTP endpoint for fal's webhooks, as Kiln's route would receive them
  receiver = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const body = new Uint8Array(await req.arrayBuffer())
      try {
        await current?.receiveWebhook(req.headers, body)
        return new Response('{}')
      } catch {
        return new Response('{}', { status: 401 })
      }
    },
  })
})
afterAll(async () => {
  await fal.close()
  await receiver.stop(true)
})
beforeEach(() => fal.reset())

function provider(o: Partial<FalProviderOptions> & { webhooks?: boolean } = {}) {
  const p = new FalProvider({
    key: fal.key,
    baseUrl: fal.url,
    webhookJwksUrl: fal.jwksUrl,
    webhookUrl: o.webhooks === false ? undefined : `http://127.0.0.1:${receiver.port}/api/v1/providers/fal/webhook`,
    log,
    poll: { initialMs: 20, factor: 1.5, maxMs: 100 },
    ...o,
  })
  current = p
  return p
}

const request = (over: Partial<ModelRequest> = {}): ModelRequest => ({
  generationId: 'gen_test',
  model: 'fal-ai/flux/dev',
  styleId: 'voxel-3d',
  prompt: 'voxel art of a red fox',
  userPrompt: 'a red fox',
  colors: ['#ff0000'],
  aspectRatio: '4:3',
  size: '1K',
  width: 1024,
  height: 768,
  seed: 42,
  ...over,
})

async function run(p: FalProvider, req = request()) {
  const progress: ModelProgress[] = []
  const { requestId } = await p.submit(req)
  const output = await p.watch(requestId, req, { signal: new AbortController().signal, onProgress: (x) => progress.push(x) })
  return { requestId, output, progress, fake: fal.requests.get(requestId)! }
}

async function failure(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p
  } catch (err) {
    if (err instanceof ModelError) return err
    throw err
  }
  throw new Error('expected a ModelError')
}

test('text-to-image completes by webhook; the result downloads as a real PNG through the guard', async () => {
  // polling so slow that only the webhook can finish within the test
  const p = provider({ poll: { initialMs: 5, factor: 100, maxMs: 30_000 } })
  const { output, fake } = await run(p)
  expect(fake.endpoint).toBe('fal-ai/flux/dev')
  expect(fake.input).toMatchObject({ prompt: 'voxel art of a red fox', image_size: { width: 1024, height: 768 }, seed: 42, num_images: 1 })
  expect(fake.webhooksSent).toBe(1)
  expect(output.kind).toBe('url')
  if (output.kind !== 'url') return
  expect(output.url.startsWith(fal.url)).toBe(true)
  await expect(fetchModelOutput(output, { allowPrivate: [] })).rejects.toThrow(/not allowed/)
  const image = await fetchModelOutput(output, { allowPrivate: ['127.0.0.1'] })
  expect(image.contentType).toBe('image/png')
  expect(sniffImageType(image.data)).toBe('image/png')
})

test('webhook lost: polling completes the job, mapping queue position and logs to progress', async () => {
  fal.behaviour.webhook = 'lose'
  fal.behaviour.queueMs = 60
  fal.behaviour.runMs = 200
  const { output, progress, fake } = await run(provider())
  expect(output.kind).toBe('url')
  expect(fake.webhooksSent).toBe(0)
  expect(fake.statusCalls).toBeGreaterThan(2)
  expect(progress.some((x) => x.stage?.startsWith('queued at the provider'))).toBe(true)
  expect(progress.some((x) => x.stage === 'rendering' && x.progress > 0)).toBe(true)
  for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThanOrEqual(progress[i - 1]!.progress)
})

test('fal 500 on submit is a retryable error, and a retry then succeeds', async () => {
  fal.behaviour.submitFailures = 2
  const p = provider()
  for (let i = 0; i < 2; i++) {
    const e = await failure(p.submit(request()))
    expect(e.errorCode).toBe('PROVIDER_ERROR')
    expect(e.retryable).toBe(true)
  }
  expect((await p.health()).status).toBe('degraded')
  const req = request()
  const { requestId } = await p.submit(req)
  const out = await p.watch(requestId, req, { signal: new AbortController().signal, onProgress: () => {} })
  expect(out.kind).toBe('url')
  expect(fal.submitCalls).toBe(3)
  expect((await p.health()).status).toBe('ok')
})

test('permanent failures are not retryable: validation (by polling and by webhook) and refused credentials', async () => {
  fal.behaviour.outcome = 'validation'
  const viaWebhook = await failure(run(provider({ poll: { initialMs: 5, factor: 100, maxMs: 30_000 } })))
  expect(viaWebhook).toMatchObject({ errorCode: 'PROVIDER_REJECTED', retryable: false, userFault: false })
  expect(viaWebhook.message).toContain('image_size')
  fal.behaviour.webhook = 'lose'
  const viaPolling = await failure(run(provider()))
  expect(viaPolling).toMatchObject({ errorCode: 'PROVIDER_REJECTED', retryable: false })
  fal.reset()
  const wrongKey = new FalProvider({ key: 'nope:nope', baseUrl: fal.url, webhookJwksUrl: fal.jwksUrl, log })
  expect(await failure(wrongKey.submit(request()))).toMatchObject({ errorCode: 'PROVIDER_ERROR', retryable: false })
})

test('NSFW flag and content-policy errors → CONTENT_REJECTED, the user’s fault', async () => {
  fal.behaviour.outcome = 'nsfw'
  expect(await failure(run(provider()))).toMatchObject({ errorCode: 'CONTENT_REJECTED', retryable: false, userFault: true })
  fal.behaviour.outcome = 'content-policy'
  fal.behaviour.webhook = 'lose'
  const e = await failure(run(provider()))
  expect(e).toMatchObject({ errorCode: 'CONTENT_REJECTED', userFault: true })
  expect(e.message).toContain('flagged')
})

test('image-to-image sends the source as an http(s) URL to the image-to-image endpoint; data URIs are refused', async () => {
  const src = 'https://bucket.example/users/u/uploads/upl_1.webp?X-Amz-Signature=abc'
  const { fake } = await run(provider(), request({ sourceImageUrl: src }))
  expect(fake.endpoint).toBe('fal-ai/flux/dev/image-to-image')
  expect(fake.input.image_url).toBe(src)
  expect(() => buildFalInput(request({ sourceImageUrl: 'data:image/png;base64,AAAA' }))).toThrow()
})

test('a completion that arrives before watch starts is kept; a re-activated watcher never resubmits', async () => {
  const p = provider({ poll: { initialMs: 5, factor: 100, maxMs: 30_000 } })
  const req = request()
  const { requestId } = await p.submit(req)
  const r = fal.requests.get(requestId)!
  while (r.webhooksSent === 0) await Bun.sleep(10)
  await Bun.sleep(20)
  const out = await p.watch(requestId, req, { signal: new AbortController().signal, onProgress: () => {} })
  expect(out.kind).toBe('url')
  expect(r.statusCalls).toBeLessThanOrEqual(1)

  // after a restart: a fresh provider only watches the stored request id
  const submits = fal.submitCalls
  const again = await provider({ webhooks: false }).watch(requestId, req, { signal: new AbortController().signal, onProgress: () => {} })
  expect(again.kind).toBe('url')
  expect(fal.submitCalls).toBe(submits)
})

test('replayed and duplicate webhooks are harmless', async () => {
  const p = provider()
  const { requestId, output } = await run(p)
  expect(await fal.deliverWebhook(requestId)).toBe(200)
  expect(await fal.deliverWebhook(requestId)).toBe(200)
  expect(output.kind).toBe('url')
})

test('cancel asks fal to stop; cancelling a finished request does not throw; aborting a watch rejects it', async () => {
  fal.behaviour.runMs = 5000
  fal.behaviour.webhook = 'lose'
  const p = provider()
  const req = request()
  const { requestId } = await p.submit(req)
  const ac = new AbortController()
  const watching = p.watch(requestId, req, { signal: ac.signal, onProgress: () => {} })
  ac.abort()
  expect(await failure(watching)).toMatchObject({ errorCode: 'CANCELLED' })
  await p.cancel(requestId)
  expect(fal.requests.get(requestId)!.cancelled).toBe(true)
  await p.cancel(requestId)
  await p.cancel('00000000-0000-0000-0000-000000000000')
})

test('webhooks are asked for only at a public URL fal can reach (or an allow-listed one)', () => {
  expect(falWebhookUrl('https://kiln.example.com/', [])).toBe('https://kiln.example.com/api/v1/providers/fal/webhook')
  expect(falWebhookUrl('http://localhost:3000', [])).toBeUndefined()
  expect(falWebhookUrl('http://10.0.0.5:3000', [])).toBeUndefined()
  expect(falWebhookUrl('http://[::1]:3000', [])).toBeUndefined()
  expect(falWebhookUrl('http://127.0.0.1:4000', ['127.0.0.1'])).toBe('http://127.0.0.1:4000/api/v1/providers/fal/webhook')
})
