/**
 * The production model: fal.ai's queue API through `@fal-ai/client`.
 *
 * `submit` only enqueues and returns fal's request id (Kiln stores it before
 * anything else). `watch` follows that id to the end and never submits, so it
 * is safe to call again after a restart. Completion arrives by fal's signed
 * webhook or by status polling with backoff, whichever comes first; the other
 * becomes a no-op. The result is a fal URL, downloaded later through the
 * SSRF guard (see fal-download.ts) and never shown to users.
 */
import { ApiError, type FalClient, createFalClient } from '@fal-ai/client'
import type { HealthCheck } from '../../lib/health'
import type { Logger } from '../../lib/logger'
import { fromStatus, toModelError } from './fal-errors'
import { buildFalInput, endpointFor } from './fal-input'
import { outputFromResult, progressFromLogs } from './fal-result'
import { FalWebhookVerifier } from './fal-webhook'
import { ModelError, type ModelOutput, type ModelProgress, type ModelProvider, type ModelRequest } from './model'

export { falWebhookUrl, outputFromResult, progressFromLogs } from './fal-result'

export interface FalProviderOptions {
  key: string
  /** Replaces https://queue.fal.run (proxies, the fake server in tests). */
  baseUrl: string
  webhookJwksUrl: string
  /** Where fal should deliver completion webhooks; unset → polling only. */
  webhookUrl?: string
  log: Logger
  /** Status polling: first delay, growth factor, ceiling (ms). */
  poll?: { initialMs: number; factor: number; maxMs: number }
  requestTimeoutMs?: number
}

const FAL_QUEUE = 'https://queue.fal.run'
/** Bus topic on which a node relays verified completions nobody watches locally, for the node that does. */
export const FAL_COMPLETIONS_TOPIC = 'provider:fal:completions'
const DEFAULT_POLL = { initialMs: 250, factor: 1.5, maxMs: 5000 }
/** Answers of the result call that say "not now" rather than "this request failed". */
const TRANSIENT_RESULT_STATUSES = new Set([429, 502, 503, 504])
/** Completions that arrive before anyone watches (a fast job, a webhook racing `submit`'s caller). */
const EARLY_COMPLETIONS_MAX = 1000

interface Waiter {
  settle(outcome: { output: ModelOutput } | { error: ModelError }): void
}

export class FalProvider implements ModelProvider {
  readonly name = 'fal' as const
  readonly verifier: FalWebhookVerifier
  private readonly fal: FalClient
  private readonly waiters = new Map<string, Set<Waiter>>()
  private readonly early = new Map<string, unknown>()
  private readonly endpoints = new Map<string, string>()
  private readonly poll: { initialMs: number; factor: number; maxMs: number }
  private lastFailureAt = 0
  private lastSuccessAt = 0

  constructor(private readonly opts: FalProviderOptions) {
    const base = opts.baseUrl.replace(/\/+$/, '')
    this.fal = createFalClient({
      credentials: opts.key,
      suppressLocalCredentialsWarning: true,
      requestMiddleware: async (r) => ({ ...r, url: base === FAL_QUEUE ? r.url : r.url.replace(FAL_QUEUE, base) }),
    })
    this.poll = opts.poll ?? DEFAULT_POLL
    this.verifier = new FalWebhookVerifier({ jwksUrl: opts.webhookJwksUrl, log: opts.log })
  }

  private signal(extra?: AbortSignal): AbortSignal {
    const t = AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000)
    return extra ? AbortSignal.any([extra, t]) : t
  }

  private note(ok: boolean) {
    if (ok) this.lastSuccessAt = Date.now()
    else this.lastFailureAt = Date.now()
  }

  async submit(req: ModelRequest): Promise<{ requestId: string }> {
    const endpoint = endpointFor(req)
    try {
      const queued = await this.fal.queue.submit(endpoint, {
        input: buildFalInput(req),
        webhookUrl: this.opts.webhookUrl,
        abortSignal: this.signal(),
      })
      this.note(true)
      this.endpoints.set(queued.request_id, endpoint)
      this.opts.log.info('fal request submitted', { generationId: req.generationId, requestId: queued.request_id, endpoint })
      return { requestId: queued.request_id }
    } catch (err) {
      const e = toModelError(err)
      this.note(!e.retryable)
      throw e
    }
  }

  watch(
    requestId: string,
    req: ModelRequest,
    opts: { signal: AbortSignal; onProgress: (p: ModelProgress) => void },
  ): Promise<ModelOutput> {
    const endpoint = this.endpoints.get(requestId) ?? endpointFor(req)
    this.endpoints.set(requestId, endpoint)
    return new Promise<ModelOutput>((resolve, reject) => {
      let done = false
      const stop = new AbortController()
      const waiter: Waiter = {
        settle: (outcome) => {
          if (done) return
          done = true
          stop.abort()
          this.waiters.get(requestId)?.delete(waiter)
          if (this.waiters.get(requestId)?.size === 0) this.waiters.delete(requestId)
          opts.signal.removeEventListener('abort', onAbort)
          // an aborted watch keeps the endpoint: `cancel` usually follows and needs it
          if (outcome !== aborted) this.endpoints.delete(requestId)
          if ('output' in outcome) resolve(outcome.output)
          else reject(outcome.error)
        },
      }
      const aborted = { error: new ModelError('CANCELLED', 'watch aborted', false) }
      const onAbort = () => waiter.settle(aborted)
      if (opts.signal.aborted) return onAbort()
      opts.signal.addEventListener('abort', onAbort, { once: true })
      let set = this.waiters.get(requestId)
      if (!set) this.waiters.set(requestId, (set = new Set()))
      set.add(waiter)
      if (this.early.has(requestId)) return this.settleFromWebhook(requestId, this.early.get(requestId))
      void this.pollUntilDone(requestId, endpoint, waiter, stop.signal, opts.onProgress)
    })
  }

  private async pollUntilDone(requestId: string, endpoint: string, waiter: Waiter, stop: AbortSignal, onProgress: (p: ModelProgress) => void) {
    let delay = this.poll.initialMs
    let failures = 0
    let progress = 0
    while (!stop.aborted) {
      let phase: 'status' | 'result' = 'status'
      try {
        const status = await this.fal.queue.status(endpoint, { requestId, logs: true, abortSignal: this.signal(stop) })
        failures = 0
        if (status.status === 'IN_QUEUE') {
          onProgress({ progress, stage: `queued at the provider (position ${status.queue_position ?? 0})` })
        } else if (status.status === 'IN_PROGRESS') {
          progress = progressFromLogs(status.logs, progress)
          onProgress({ progress, stage: 'rendering' })
        } else if (status.status === 'COMPLETED') {
          phase = 'result'
          const result = await this.fal.queue.result(endpoint, { requestId, abortSignal: this.signal(stop) })
          this.note(true)
          return waiter.settle({ output: outputFromResult(result.data) })
        }
      } catch (err) {
        if (stop.aborted) return
        const e = toModelError(err)
        this.note(!e.retryable)
        // fal answered the result call: that is the request's outcome (a retry will be a new request)
        const outcome = phase === 'result' && err instanceof ApiError && !TRANSIENT_RESULT_STATUSES.has(err.status)
        if (outcome || !e.retryable) return waiter.settle({ error: e })
        // Not reaching fal says nothing about the request, which may still finish: keep polling
        // (never resubmit a live request); the job's deadline bounds how long.
        failures++
        if (failures === 1 || failures % 10 === 0) this.opts.log.warn('fal poll failed; still watching', { requestId, err: e, failures })
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay)
        stop.addEventListener(
          'abort',
          () => {
            clearTimeout(t)
            r()
          },
          { once: true },
        )
      })
      delay = Math.min(this.poll.maxMs, Math.round(delay * this.poll.factor))
    }
  }

  /**
   * A verified webhook delivery: settles the watchers of that request (the
   * other path becomes a no-op). Deliveries for requests nobody watches here
   * are kept briefly, in case `watch` starts just after. Returns whether a
   * watcher was waiting.
   */
  handleWebhook(payload: unknown): boolean {
    const requestId = (payload as { request_id?: unknown })?.request_id
    if (typeof requestId !== 'string') return false
    const watched = this.waiters.has(requestId)
    if (!watched) {
      if (this.early.size >= EARLY_COMPLETIONS_MAX) this.early.delete(this.early.keys().next().value!)
      this.early.set(requestId, payload)
      return false
    }
    this.settleFromWebhook(requestId, payload)
    return true
  }

  /** Verifies the delivery's signature (throws WebhookAuthError) and then handles it. */
  async receiveWebhook(headers: Headers, body: Uint8Array): Promise<{ requestId: string; watched: boolean; payload?: object }> {
    const requestId = await this.verifier.verify(headers, body)
    let parsed: unknown
    try {
      parsed = JSON.parse(new TextDecoder().decode(body))
    } catch {
      return { requestId, watched: false }
    }
    // the signed header is authoritative for which request this is
    const payload = { ...(parsed as object), request_id: requestId }
    return { requestId, watched: this.handleWebhook(payload), payload }
  }

  private settleFromWebhook(requestId: string, payload: unknown) {
    this.early.delete(requestId)
    const p = payload as { status?: string; payload?: unknown; error?: string }
    let outcome: { output: ModelOutput } | { error: ModelError }
    try {
      if (p.status === 'OK') outcome = { output: outputFromResult(p.payload) }
      else {
        const code = Number(/\b(\d{3})\b/.exec(p.error ?? '')?.[1] ?? 500)
        outcome = { error: fromStatus(code, p.payload, p.error ?? 'fal reported an error') }
      }
    } catch (err) {
      outcome = { error: toModelError(err) }
    }
    for (const w of [...(this.waiters.get(requestId) ?? [])]) w.settle(outcome)
  }

  async cancel(requestId: string): Promise<void> {
    const endpoint = this.endpoints.get(requestId)
    try {
      // without a known endpoint the owner/alias of the default model addresses the same queue request
      await this.fal.queue.cancel(endpoint ?? 'fal-ai/flux', { requestId, abortSignal: this.signal() })
    } catch (err) {
      // 400 = already finished; anything else is best effort too
      const status = (err as { status?: number }).status
      if (status !== 400) this.opts.log.warn('fal cancel failed', { requestId, err: err as Error })
    }
  }

  /** fal has no health endpoint: degraded while the latest call to it failed transiently. */
  async health(): Promise<HealthCheck> {
    const failing = this.lastFailureAt > this.lastSuccessAt && Date.now() - this.lastFailureAt < 60_000
    return failing
      ? { status: 'degraded', latencyMs: 0, kind: 'fal', message: 'recent calls to fal failed' }
      : { status: 'ok', latencyMs: 0, kind: 'fal' }
  }
}
