/**
 * The `local` model provider: the embedded default, and the one tests use.
 * It renders a real image (see local-render.ts) with real staged progress
 * over about three seconds at speed 1 (`LOCAL_PROVIDER_SPEED` scales it).
 *
 * `submit` only names the request; `watch` does the work, so nothing is lost
 * when a process dies between them, and watching again after a restart just
 * renders again from the request. The request id encodes nothing secret.
 *
 * Markers in the user's prompt, for tests and demos:
 *   [fail]       every attempt fails: ModelError PROVIDER_ERROR, retryable
 *   [fail-once]  the first attempt per request id fails (retryable), later ones succeed
 *   [reject]     the safety check refuses the prompt: CONTENT_REJECTED, not retryable, the user's fault
 *   [slow]       ten times slower (to cancel mid-flight)
 * Markers are not drawn into the image.
 */
import { randomBytes } from 'node:crypto'
import type { HealthCheck } from '../../lib/health'
import { type ModelOutput, type ModelProgress, type ModelProvider, type ModelRequest, ModelError } from './model'
import { renderImage } from './local-render'

/** Stages of one run: name, share of the base duration, progress reached at its end. */
const STAGES = [
  { name: 'loading-model', share: 0.15, until: 10 },
  { name: 'sampling', share: 0.65, until: 85 },
  { name: 'decoding', share: 0.2, until: 100 },
] as const

/** Length of a run at speed 1. */
export const BASE_DURATION_MS = 3000
const TICK_MS = 150

const MARKERS = /\[(fail-once|fail|reject|slow)\]/gi

const abortError = () => new DOMException('the generation was aborted', 'AbortError')

/** Waits `ms`, rejecting with an AbortError as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError())
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError())
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export interface LocalProviderOptions {
  /** 1 is the real pace; 0.01 is a hundred times faster. */
  speed: number
  /** Slots for the CPU-heavy render, shared with the finalizer so that image work stays capped. */
  slots?: { run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> }
}

/** `[fail-once]` memory is for tests and demos: bounded so that it can never grow without limit. */
const MAX_FAILED_ONCE = 10_000

export class LocalModelProvider implements ModelProvider {
  readonly name = 'local' as const
  private readonly speed: number
  private readonly slots: LocalProviderOptions['slots']
  /** Request ids whose `[fail-once]` has been spent (in memory: a restart fails once more). */
  private readonly failedOnce = new Set<string>()
  /** Runs in flight, so that `cancel` can stop them without the caller's signal. */
  private readonly running = new Map<string, AbortController>()

  constructor(opts: LocalProviderOptions) {
    if (!(opts.speed > 0)) throw new RangeError(`local provider speed must be positive, got ${opts.speed}`)
    this.speed = opts.speed
    this.slots = opts.slots
  }

  async submit(_req: ModelRequest): Promise<{ requestId: string }> {
    return { requestId: `local_${randomBytes(12).toString('base64url')}` }
  }

  async watch(
    requestId: string,
    req: ModelRequest,
    opts: { signal: AbortSignal; onProgress: (p: ModelProgress) => void },
  ): Promise<ModelOutput> {
    const own = new AbortController()
    this.running.get(requestId)?.abort()
    this.running.set(requestId, own)
    const signal = AbortSignal.any([opts.signal, own.signal])
    try {
      return await this.run(requestId, req, signal, opts.onProgress)
    } finally {
      if (this.running.get(requestId) === own) this.running.delete(requestId)
    }
  }

  async cancel(requestId: string): Promise<void> {
    this.running.get(requestId)?.abort()
  }

  async health(): Promise<HealthCheck> {
    return { status: 'ok', latencyMs: 0, kind: 'local' }
  }

  private async run(
    requestId: string,
    req: ModelRequest,
    signal: AbortSignal,
    onProgress: (p: ModelProgress) => void,
  ): Promise<ModelOutput> {
    if (signal.aborted) throw abortError()
    const markers = new Set([...req.userPrompt.matchAll(MARKERS)].map((m) => (m[1] as string).toLowerCase()))
    if (markers.has('reject'))
      throw new ModelError('CONTENT_REJECTED', 'the prompt was refused by the safety check', false, true)
    const total = BASE_DURATION_MS * this.speed * (markers.has('slow') ? 10 : 1)
    let failAt: string | undefined
    if (markers.has('fail')) failAt = 'sampling'
    else if (markers.has('fail-once') && !this.failedOnce.has(requestId)) {
      if (this.failedOnce.size >= MAX_FAILED_ONCE) this.failedOnce.clear()
      this.failedOnce.add(requestId)
      failAt = 'sampling'
    }

    let progress = 0
    let elapsed = 0
    for (const stage of STAGES) {
      const stageMs = total * stage.share
      const from = progress
      // The last stage's time is the real render; sampling ticks until its share is spent.
      const ticks = stage.name === 'decoding' ? 0 : Math.max(1, Math.round(stageMs / (TICK_MS * Math.max(this.speed, 0.05))))
      onProgress({ progress, stage: stage.name, etaSeconds: round((total - elapsed) / 1000) })
      for (let i = 1; i <= ticks; i++) {
        await sleep(stageMs / ticks, signal)
        elapsed += stageMs / ticks
        if (failAt === stage.name && i >= Math.ceil(ticks / 2))
          throw new ModelError('PROVIDER_ERROR', 'the local model failed on request ([fail] marker)', true)
        progress = Math.floor(from + ((stage.until - from) * i) / ticks)
        if (i < ticks || stage.name === 'sampling')
          onProgress({ progress, stage: stage.name, etaSeconds: round((total - elapsed) / 1000) })
      }
      if (stage.name === 'decoding') {
        const started = performance.now()
        const render = () =>
          renderImage({
            styleId: req.styleId,
            colors: req.colors,
            text: req.userPrompt.replace(MARKERS, '').trim(),
            seed: req.seed,
            width: req.width,
            height: req.height,
          })
        const data = await (this.slots ? this.slots.run(render, signal) : render()).catch((err) => {
          throw signal.aborted ? abortError() : err
        })
        // Keep the paced length even when the render is quicker than its share.
        await sleep(Math.max(0, stageMs - (performance.now() - started)), signal)
        if (signal.aborted) throw abortError()
        onProgress({ progress: 100, stage: 'done', etaSeconds: 0 })
        return { kind: 'bytes', data, contentType: 'image/png' }
      }
    }
    throw new Error('unreachable: the local provider ended without decoding')
  }
}

const round = (s: number) => Math.max(0, Math.round(s * 10) / 10)
