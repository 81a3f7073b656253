import { describe, expect, test } from 'bun:test'
import sharp from 'sharp'
import { LocalModelProvider } from '../../src/adapters/models/local'
import { type ModelProgress, type ModelRequest, ModelError } from '../../src/adapters/models/model'
import { Semaphore } from '../../src/lib/semaphore'

const request = (userPrompt: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({
  generationId: 'gen_test',
  model: 'local',
  styleId: 'minimal-icon',
  prompt: `minimal 3D icon, ${userPrompt}`,
  userPrompt,
  colors: ['#ffadad', '#bdb2ff'],
  aspectRatio: '4:3',
  size: '1K',
  width: 320,
  height: 240,
  seed: 5,
  ...extra,
})

const fast = () => new LocalModelProvider({ speed: 0.01 })

async function run(p: LocalModelProvider, req: ModelRequest, signal = new AbortController().signal) {
  const { requestId } = await p.submit(req)
  const progress: ModelProgress[] = []
  const output = await p.watch(requestId, req, { signal, onProgress: (x) => progress.push(x) })
  return { requestId, progress, output }
}

describe('local provider', () => {
  test('submit names the request and starts nothing; watch renders the image', async () => {
    const p = fast()
    const { requestId, progress, output } = await run(p, request('a rocket'))
    expect(requestId).toMatch(/^local_[A-Za-z0-9_-]{16}$/)
    expect(output.kind).toBe('bytes')
    if (output.kind !== 'bytes') throw new Error('expected bytes')
    expect(output.contentType).toBe('image/png')
    const meta = await sharp(output.data).metadata()
    expect([meta.width, meta.height]).toEqual([320, 240])
    expect(progress.length).toBeGreaterThan(3)
  })

  test('progress is monotone, names its stages, counts the ETA down and ends at 100', async () => {
    const { progress } = await run(fast(), request('a rocket'))
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.progress).toBeGreaterThanOrEqual(progress[i - 1]!.progress)
      expect(progress[i]!.etaSeconds!).toBeLessThanOrEqual(progress[i - 1]!.etaSeconds!)
    }
    expect(progress.at(-1)).toEqual({ progress: 100, stage: 'done', etaSeconds: 0 })
    expect(new Set(progress.map((p) => p.stage))).toEqual(new Set(['loading-model', 'sampling', 'decoding', 'done']))
  })

  test('at speed 1 a run takes about three seconds, in real stages', async () => {
    const p = new LocalModelProvider({ speed: 1 })
    const ac = new AbortController()
    const seen: ModelProgress[] = []
    const req = request('a rocket')
    const { requestId } = await p.submit(req)
    const watching = p.watch(requestId, req, { signal: ac.signal, onProgress: (x) => seen.push(x) })
    await Bun.sleep(700)
    ac.abort()
    await expect(watching).rejects.toMatchObject({ name: 'AbortError' })
    expect(seen[0]!.etaSeconds).toBeCloseTo(3, 0)
    expect(seen.some((x) => x.stage === 'sampling')).toBe(true)
    expect(seen.at(-1)!.progress).toBeLessThan(40)
  })

  test('re-watching the same request after a restart renders the same image again', async () => {
    const req = request('same again')
    const a = await run(fast(), req)
    const restarted = fast()
    const b = await restarted.watch(a.requestId, req, { signal: new AbortController().signal, onProgress: () => {} })
    if (a.output.kind !== 'bytes' || b.kind !== 'bytes') throw new Error('expected bytes')
    expect(Buffer.from(a.output.data).equals(Buffer.from(b.data))).toBe(true)
  })

  test('abort stops a [slow] run promptly with an AbortError and no output', async () => {
    const p = new LocalModelProvider({ speed: 0.1 }) // [slow] makes this a 3 s run
    const ac = new AbortController()
    const req = request('wait [slow]')
    const { requestId } = await p.submit(req)
    const started = performance.now()
    const watching = p.watch(requestId, req, { signal: ac.signal, onProgress: () => {} })
    setTimeout(() => ac.abort(new Error('custom reason')), 50)
    const err = await watching.catch((e) => e)
    expect(err).toBeInstanceOf(DOMException)
    expect(err.name).toBe('AbortError')
    expect(performance.now() - started).toBeLessThan(1500) // well short of the 3 s run, with room for a loaded machine
  })

  test('cancel(requestId) stops a run even without the caller aborting', async () => {
    const p = new LocalModelProvider({ speed: 0.1 })
    const req = request('[slow]')
    const { requestId } = await p.submit(req)
    const watching = p.watch(requestId, req, { signal: new AbortController().signal, onProgress: () => {} })
    await Bun.sleep(30)
    await p.cancel(requestId)
    await expect(watching).rejects.toMatchObject({ name: 'AbortError' })
    await p.cancel('local_unknown') // never throws
  })

  test('[fail] fails every attempt with a retryable PROVIDER_ERROR', async () => {
    const p = fast()
    const req = request('boom [fail]')
    const { requestId } = await p.submit(req)
    for (let i = 0; i < 3; i++) {
      const err = await p.watch(requestId, req, { signal: new AbortController().signal, onProgress: () => {} }).catch((e) => e)
      expect(err).toBeInstanceOf(ModelError)
      expect(err).toMatchObject({ errorCode: 'PROVIDER_ERROR', retryable: true, userFault: false })
    }
  })

  test('[fail-once] fails the first attempt of each request, then succeeds', async () => {
    const p = fast()
    const req = request('flaky [fail-once]')
    const opts = { signal: new AbortController().signal, onProgress: () => {} }
    const one = (await p.submit(req)).requestId
    const two = (await p.submit(req)).requestId
    await expect(p.watch(one, req, opts)).rejects.toMatchObject({ errorCode: 'PROVIDER_ERROR', retryable: true })
    expect((await p.watch(one, req, opts)).kind).toBe('bytes')
    await expect(p.watch(two, req, opts)).rejects.toBeInstanceOf(ModelError)
  })

  test('[reject] is a non-retryable CONTENT_REJECTED that is the user’s fault', async () => {
    const err = await run(fast(), request('nope [reject]')).catch((e) => e)
    expect(err).toBeInstanceOf(ModelError)
    expect(err).toMatchObject({ errorCode: 'CONTENT_REJECTED', retryable: false, userFault: true })
  })

  test('markers are not drawn into an infographic', async () => {
    const plain = await run(fast(), request('Solar power', { styleId: 'modern' }))
    // [slow] at a tiny speed: same picture as without the marker
    const marked = await run(new LocalModelProvider({ speed: 0.001 }), request('Solar power [slow]', { styleId: 'modern' }))
    if (plain.output.kind !== 'bytes' || marked.output.kind !== 'bytes') throw new Error('expected bytes')
    expect(Buffer.from(plain.output.data).equals(Buffer.from(marked.output.data))).toBe(true)
  })

  test('the render runs in the shared image slots; a run waiting for a slot still aborts promptly', async () => {
    const slots = new Semaphore(1)
    const p = new LocalModelProvider({ speed: 0.01, slots })
    const hold = await slots.acquire()
    const ac = new AbortController()
    const req = request('queued behind other image work')
    const { requestId } = await p.submit(req)
    const seen: ModelProgress[] = []
    const watching = p.watch(requestId, req, { signal: ac.signal, onProgress: (x) => seen.push(x) })
    // past sampling, the run waits for the slot (polled: timers run late on a busy machine)
    for (let i = 0; i < 200 && slots.waiting === 0; i++) await Bun.sleep(10)
    expect(slots.waiting).toBe(1)
    expect(seen.at(-1)!.progress).toBeLessThan(100)
    ac.abort(new Error('user cancelled'))
    await expect(watching).rejects.toMatchObject({ name: 'AbortError' })
    expect(slots.waiting).toBe(0)
    hold()
    expect((await run(p, req)).output.kind).toBe('bytes')
    expect(slots.running).toBe(0)
  })

  test('health is ok', async () => {
    expect(await fast().health()).toMatchObject({ status: 'ok', kind: 'local' })
  })
})
