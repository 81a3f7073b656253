/**
 * A fake fal queue server on loopback that speaks the real protocol to the
 * real `@fal-ai/client`: submit (`POST /{owner}/{alias}[/path]`, checks
 * `Authorization: Key …`), status (`?logs=1`), status stream (SSE), result,
 * cancel, and signed completion webhooks (Ed25519, JWKS at
 * `/.well-known/jwks.json`). Result images are real PNGs made with sharp and
 * served by the fake itself. Behaviour is configurable per test.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import sharp from 'sharp'

export interface FalBehaviour {
  /** Submissions answered 500 before one succeeds. */
  submitFailures: number
  /** A permanent status for every submit (e.g. 401, 422). */
  submitStatus?: number
  /** Result calls answered 503 before one succeeds (the client retries these itself). */
  resultFailures: number
  queueMs: number
  runMs: number
  outcome: 'ok' | 'nsfw' | 'content-policy' | 'validation'
  /** `lose`: never deliver the webhook (polling must complete the job). */
  webhook: 'send' | 'lose'
  /** Delay before the webhook is sent, after completion. */
  webhookDelayMs: number
  /** Image the result points at. */
  imageUrl?: string
}

export const DEFAULT_BEHAVIOUR: FalBehaviour = {
  submitFailures: 0,
  resultFailures: 0,
  queueMs: 30,
  runMs: 120,
  outcome: 'ok',
  webhook: 'send',
  webhookDelayMs: 0,
}

export interface FakeRequest {
  id: string
  endpoint: string
  input: Record<string, unknown>
  webhookUrl?: string
  createdAt: number
  cancelled: boolean
  behaviour: FalBehaviour
  statusCalls: number
  resultCalls: number
  webhooksSent: number
  /** HTTP status the fake got fetching `image_url` (image-to-image), as fal would. */
  sourceImageStatus?: number
}

export interface FakeFal {
  url: string
  key: string
  jwksUrl: string
  /** Environment that points Kiln at this server. */
  env: Record<string, string>
  behaviour: FalBehaviour
  requests: Map<string, FakeRequest>
  submitCalls: number
  /** Builds a signed delivery (optionally tampered/stale) without sending it. */
  signedWebhook(
    requestId: string,
    body: unknown,
    opts?: { timestamp?: number; userId?: string; tamper?: boolean },
  ): { headers: Record<string, string>; body: string }
  /** Signs with a new key from now on; the JWKS publishes only the new one (fal rotated its keys). */
  rotateKey(): void
  jwksFetches: number
  /** Sends the completion webhook of a request (again) to its webhook URL. */
  deliverWebhook(requestId: string): Promise<number>
  reset(): void
  close(): Promise<void>
}

const png = (w: number, h: number, seed: number) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: seed % 255, g: 120, b: 200 } } })
    .png()
    .toBuffer()

export async function startFakeFal(opts: { key?: string } = {}): Promise<FakeFal> {
  const key = opts.key ?? 'test-key-id:test-key-secret'
  const keyPair = () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    return { privateKey, x: (publicKey.export({ format: 'jwk' }) as { x: string }).x }
  }
  let key1 = keyPair()
  const images = new Map<string, Buffer>()
  const fake = {} as FakeFal
  let base = ''

  const state = (r: FakeRequest): 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' => {
    const age = Date.now() - r.createdAt
    if (r.cancelled || age >= r.behaviour.queueMs + r.behaviour.runMs) return 'COMPLETED'
    return age < r.behaviour.queueMs ? 'IN_QUEUE' : 'IN_PROGRESS'
  }

  const statusBody = (r: FakeRequest, logs: boolean) => {
    const s = state(r)
    const urls = {
      request_id: r.id,
      response_url: `${base}/${r.endpoint}/requests/${r.id}`,
      status_url: `${base}/${r.endpoint}/requests/${r.id}/status`,
      cancel_url: `${base}/${r.endpoint}/requests/${r.id}/cancel`,
    }
    if (s === 'IN_QUEUE') return { status: s, queue_position: 2, ...urls }
    const done = Math.min(1, (Date.now() - r.createdAt - r.behaviour.queueMs) / r.behaviour.runMs)
    const step = Math.floor(done * 28)
    return { status: s, ...urls, logs: logs ? [{ message: `${Math.round(done * 100)}%| ${step}/28`, level: 'INFO', source: 'USER', timestamp: new Date().toISOString() }] : [] }
  }

  /** The result body, or the error (status + body) a failed request reports. */
  const resultOf = async (r: FakeRequest): Promise<{ status: number; body: unknown }> => {
    if (r.cancelled) return { status: 400, body: { detail: 'Request was cancelled' } }
    if (r.behaviour.outcome === 'validation')
      return { status: 422, body: { detail: [{ loc: ['body', 'image_size'], msg: 'image_size is not supported', type: 'value_error' }] } }
    if (r.behaviour.outcome === 'content-policy')
      return {
        status: 422,
        body: { detail: [{ loc: ['body', 'prompt'], msg: 'The prompt was flagged by the content checker.', type: 'content_policy_violation' }] },
      }
    const size = r.input.image_size as { width?: number; height?: number } | undefined
    const w = Math.min(1024, size?.width ?? 512)
    const h = Math.min(1024, size?.height ?? 512)
    if (!images.has(r.id)) images.set(r.id, await png(w, h, r.id.length + Number(r.input.seed ?? 0)))
    return {
      status: 200,
      body: {
        images: [{ url: r.behaviour.imageUrl ?? `${base}/files/${r.id}.png`, width: w, height: h, content_type: 'image/png' }],
        seed: r.input.seed ?? 1,
        has_nsfw_concepts: [r.behaviour.outcome === 'nsfw'],
        prompt: r.input.prompt,
        timings: { inference: r.behaviour.runMs / 1000 },
      },
    }
  }

  const signedWebhook: FakeFal['signedWebhook'] = (requestId, body, o = {}) => {
    const text = JSON.stringify(body)
    const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000))
    const userId = o.userId ?? 'fal-user-1'
    const digest = createHash('sha256').update(text).digest('hex')
    const signature = sign(null, Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`), key1.privateKey).toString('hex')
    return {
      body: o.tamper ? text.replace('"OK"', '"OK" ') : text,
      headers: {
        'content-type': 'application/json',
        'x-fal-webhook-request-id': requestId,
        'x-fal-webhook-user-id': userId,
        'x-fal-webhook-timestamp': timestamp,
        'x-fal-webhook-signature': signature,
      },
    }
  }

  const deliverWebhook = async (requestId: string): Promise<number> => {
    const r = fake.requests.get(requestId)
    if (!r?.webhookUrl) return 0
    const result = await resultOf(r)
    const payload =
      result.status === 200
        ? { request_id: r.id, gateway_request_id: r.id, status: 'OK', payload: result.body }
        : { request_id: r.id, gateway_request_id: r.id, status: 'ERROR', error: `Invalid status code: ${result.status}`, payload: result.body }
    const delivery = signedWebhook(r.id, payload)
    r.webhooksSent++
    try {
      const res = await fetch(r.webhookUrl, { method: 'POST', headers: delivery.headers, body: delivery.body })
      await res.arrayBuffer()
      return res.status
    } catch {
      return 0
    }
  }

  const json = (status: number, body: unknown) => Response.json(body, { status })

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url)
      const path = url.pathname
      if (path === '/.well-known/jwks.json') {
        fake.jwksFetches++
        return json(200, { keys: [{ kty: 'OKP', crv: 'Ed25519', x: key1.x, kid: 'test-key' }] })
      }
      const file = /^\/files\/([\w-]+)\.png$/.exec(path)
      if (file) {
        const img = images.get(file[1]!)
        return img ? new Response(new Uint8Array(img), { headers: { 'content-type': 'image/png' } }) : json(404, { detail: 'not found' })
      }
      if (req.headers.get('authorization') !== `Key ${key}`) return json(401, { detail: 'No user found for Key ID and Secret' })

      const m = /^\/([^/]+\/[^/]+)\/requests\/([\w-]+)(\/status(\/stream)?|\/cancel)?$/.exec(path)
      if (m) {
        const r = fake.requests.get(m[2]!)
        if (!r || r.endpoint.split('/').slice(0, 2).join('/') !== m[1]) return json(404, { detail: 'Request not found' })
        const what = m[3] ?? ''
        if (what === '/status') {
          r.statusCalls++
          return json(state(r) === 'COMPLETED' ? 200 : 202, statusBody(r, url.searchParams.get('logs') === '1'))
        }
        if (what === '/status/stream') {
          const logs = url.searchParams.get('logs') === '1'
          const stream = new ReadableStream({
            async start(c) {
              const enc = new TextEncoder()
              for (let i = 0; i < 1000; i++) {
                const body = statusBody(r, logs)
                c.enqueue(enc.encode(`data: ${JSON.stringify(body)}\n\n`))
                if (body.status === 'COMPLETED') break
                await Bun.sleep(20)
              }
              c.close()
            },
          })
          return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } })
        }
        if (what === '/cancel') {
          if (req.method !== 'PUT') return json(405, { detail: 'Method not allowed' })
          if (state(r) === 'COMPLETED') return json(400, { status: 'ALREADY_COMPLETED' })
          r.cancelled = true
          return json(202, { status: 'CANCELLATION_REQUESTED' })
        }
        if (state(r) !== 'COMPLETED') return json(400, { detail: 'Request is still in progress' })
        r.resultCalls++
        if (r.behaviour.resultFailures > 0) {
          r.behaviour.resultFailures--
          return json(503, { detail: 'Service unavailable' })
        }
        const result = await resultOf(r)
        return new Response(JSON.stringify(result.body), {
          status: result.status,
          headers: { 'content-type': 'application/json', 'x-fal-request-id': r.id },
        })
      }

      if (req.method === 'POST') {
        fake.submitCalls++
        const endpoint = path.replace(/^\//, '')
        if (fake.behaviour.submitStatus) return json(fake.behaviour.submitStatus, { detail: 'submit refused by the fake' })
        if (fake.behaviour.submitFailures > 0) {
          fake.behaviour.submitFailures--
          return json(500, { detail: 'Internal server error' })
        }
        const input = (await req.json()) as Record<string, unknown>
        const imageUrl = input.image_url
        if (typeof imageUrl === 'string' && !/^https?:\/\//.test(imageUrl))
          return json(422, { detail: [{ loc: ['body', 'image_url'], msg: 'image_url must be an http(s) URL', type: 'value_error' }] })
        // like fal, fetch the source image now; a URL that does not answer is the caller's problem
        const sourceImageStatus =
          typeof imageUrl === 'string'
            ? await fetch(imageUrl).then(
                async (r) => {
                  await r.arrayBuffer()
                  return r.status
                },
                () => 0,
              )
            : undefined
        const id = crypto.randomUUID()
        const r: FakeRequest = {
          id,
          endpoint,
          input,
          webhookUrl: url.searchParams.get('fal_webhook') ?? undefined,
          createdAt: Date.now(),
          cancelled: false,
          behaviour: { ...fake.behaviour },
          statusCalls: 0,
          resultCalls: 0,
          webhooksSent: 0,
          sourceImageStatus,
        }
        fake.requests.set(id, r)
        if (r.webhookUrl && r.behaviour.webhook === 'send')
          setTimeout(() => void deliverWebhook(id), r.behaviour.queueMs + r.behaviour.runMs + r.behaviour.webhookDelayMs)
        const { request_id, response_url, status_url, cancel_url } = statusBody(r, false)
        return json(200, { status: 'IN_QUEUE', queue_position: 0, request_id, response_url, status_url, cancel_url })
      }
      return json(404, { detail: 'Not found' })
    },
  })
  base = `http://127.0.0.1:${server.port}`
  Object.assign(fake, {
    url: base,
    key,
    jwksUrl: `${base}/.well-known/jwks.json`,
    env: { FAL_KEY: key, FAL_BASE_URL: base, FAL_WEBHOOK_JWKS_URL: `${base}/.well-known/jwks.json` },
    behaviour: { ...DEFAULT_BEHAVIOUR },
    requests: new Map(),
    submitCalls: 0,
    signedWebhook,
    deliverWebhook,
    jwksFetches: 0,
    rotateKey() {
      key1 = keyPair()
    },
    reset() {
      fake.behaviour = { ...DEFAULT_BEHAVIOUR }
      fake.submitCalls = 0
    },
    async close() {
      await server.stop(true)
    },
  } satisfies Partial<FakeFal>)
  return fake
}
