/**
 * One job's run inside its session actor: analyzing → generating → finalizing
 * → completed, or failed. The run owns the job's row while it runs; every
 * write is conditional on the job still being active, so a cancel that won
 * the race is never overwritten. Stopping is by abort reason: `cancel` and
 * `shutdown` end quietly (the canceller, or the next activation, takes over),
 * `timeout` fails the job with TIMEOUT.
 */
import { fetchModelOutput } from '../adapters/models/fal-download'
import { type ModelOutput, type ModelProgress, ModelError, type ModelRequest } from '../adapters/models/model'
import type { Generation } from '../adapters/db/schema/generations'
import { storageKeys } from '../adapters/storage/storage'
import type { AspectRatio, Size } from '../domain/generations/input'
import { type GenerationStatus, overallProgress, progressBand } from '../domain/generations/lifecycle'
import { buildPrompt, dimensionsFor } from '../domain/generations/prompt'
import { estimateEta, toView } from '../domain/generations/view'
import type { ActorContext } from './context'

export type StopReason = 'cancel' | 'shutdown' | 'timeout'

/** Hooks back into the owning actor. */
export interface RunHooks {
  emit(type: string, data: Record<string, unknown>): void
  /** The job failed not by the user's fault: give the quota back. */
  refund(generationId: string): Promise<void>
  settled(generationId: string): void
}

class Stopped extends Error {}

export class JobRun {
  status: GenerationStatus
  requestId: string | null
  private progress: number
  private stage: string | null
  private readonly abort = new AbortController()
  private writes: Promise<unknown> = Promise.resolve()
  private lastWriteAt = 0
  private deadline?: ReturnType<typeof setTimeout>
  done: Promise<void> = Promise.resolve()

  constructor(
    private row: Generation,
    private readonly ctx: ActorContext,
    private readonly hooks: RunHooks,
  ) {
    this.status = row.status
    this.requestId = row.providerRequestId
    this.progress = row.progress
    this.stage = row.stage
  }

  get id() {
    return this.row.id
  }

  start(): this {
    this.done = this.run()
    return this
  }

  /** Stops the run; `done` settles once it has let go of the job. */
  stop(reason: StopReason) {
    if (!this.abort.signal.aborted) this.abort.abort(reason)
  }

  private get stopReason(): StopReason | undefined {
    return this.abort.signal.aborted ? (this.abort.signal.reason as StopReason) : undefined
  }

  private check() {
    if (this.abort.signal.aborted) throw new Stopped(String(this.abort.signal.reason))
  }

  private async run(): Promise<void> {
    try {
      const req = await this.modelRequest()
      if (this.status === 'queued' || this.status === 'analyzing') await this.analyze(req.prompt)
      this.armDeadline()
      const output = await this.generate(req)
      await this.finish(output)
    } catch (err) {
      await this.writes.catch(() => {})
      const reason = this.stopReason
      if (reason === 'timeout') await this.fail('TIMEOUT', 'the job ran past its deadline', false)
      else if (!reason && !(err instanceof Stopped)) {
        const me = err instanceof ModelError ? err : undefined
        if (!me) this.ctx.log.error('generation run failed', { generationId: this.id, err: err as Error })
        await this.fail(me?.errorCode ?? 'PROVIDER_ERROR', me?.message ?? 'the image could not be made', me?.userFault ?? false)
      }
    } finally {
      clearTimeout(this.deadline)
      this.hooks.settled(this.id)
    }
  }

  private armDeadline() {
    const startedAt = this.row.startedAt?.getTime() ?? Date.now()
    const at = this.row.deadlineAt?.getTime() ?? startedAt + this.ctx.options.jobDeadlineMs
    this.deadline = setTimeout(() => this.stop('timeout'), Math.max(0, at - Date.now()))
  }

  /** Marks the job started with its final prompt (one write: the prompt was built in memory). */
  private async analyze(finalPrompt: string) {
    const now = new Date()
    this.check()
    const row = await this.ctx.repo.updateActive(
      this.id,
      {
        status: 'analyzing',
        stage: 'prompt-ready',
        finalPrompt,
        progress: Math.max(this.progress, progressBand('analyzing')[1]),
        startedAt: this.row.startedAt ?? now,
        deadlineAt: this.row.deadlineAt ?? new Date(now.getTime() + this.ctx.options.jobDeadlineMs),
      },
      ['queued', 'analyzing'],
    )
    if (!row) throw new Stopped('gone')
    this.adopt(row)
    this.hooks.emit('generation.started', {
      id: row.id,
      status: row.status,
      stage: row.stage,
      progress: row.progress,
      startedAt: row.startedAt?.toISOString() ?? null,
      ...this.batch(),
    })
  }

  private async modelRequest(): Promise<ModelRequest> {
    const r = this.row
    const style = await this.ctx.lookups.style(r.style)
    const palette = r.palette ? await this.ctx.lookups.palette(r.palette) : undefined
    const colors = r.customColors ?? palette?.colors ?? []
    const prompt = r.finalPrompt ?? buildPrompt({ stylePrefix: style?.promptPrefix ?? '', colors, userPrompt: r.prompt })
    const { width, height } = dimensionsFor(r.aspectRatio as AspectRatio, r.size as Size)
    let sourceImageUrl: string | undefined
    if (r.sourceImageId) {
      const upload = await this.ctx.lookups.upload(r.userId, r.sourceImageId)
      if (upload) sourceImageUrl = await this.ctx.storage.signedUrl(upload.storageKey, { expiresInSeconds: 3600 })
    }
    return {
      generationId: r.id,
      model: r.providerModel ?? style?.falModel ?? 'local',
      styleId: r.style,
      prompt,
      userPrompt: r.prompt,
      colors,
      aspectRatio: r.aspectRatio as AspectRatio,
      size: r.size as Size,
      width,
      height,
      seed: r.seed ?? 0,
      sourceImageUrl,
    }
  }

  /** Submits (unless already submitted) and watches, retrying provider failures with backoff. */
  private async generate(req: ModelRequest): Promise<ModelOutput> {
    const { maxAttempts, retryBaseMs } = this.ctx.options
    let attempts = this.row.attempts
    for (;;) {
      this.check()
      try {
        if (!this.requestId) {
          attempts++
          const { requestId } = await this.ctx.provider.submit(req)
          // Stored before anything else happens, so this request is never submitted twice.
          const row = await this.ctx.repo.updateActive(this.id, {
            providerRequestId: requestId,
            attempts,
            status: 'generating',
            stage: 'submitted',
            progress: Math.max(this.progress, progressBand('generating')[0]),
          })
          if (!row) {
            await this.ctx.provider.cancel(requestId).catch(() => {})
            throw new Stopped('gone')
          }
          this.requestId = requestId
          this.adopt(row)
          this.emitProgress()
          this.check()
        }
        return await this.ctx.provider.watch(this.requestId, req, {
          signal: this.abort.signal,
          onProgress: (p) => this.onProgress(p),
        })
      } catch (err) {
        this.check()
        if (err instanceof Stopped) throw err
        const me = err instanceof ModelError ? err : new ModelError('PROVIDER_ERROR', (err as Error)?.message ?? 'provider failed', true)
        if (!me.retryable || attempts >= maxAttempts) throw me
        this.ctx.log.warn('provider attempt failed; retrying', { generationId: this.id, attempt: attempts, code: me.errorCode })
        // The failed request is over; the retry is a new request.
        this.requestId = null
        await sleep(retryBaseMs * 2 ** (attempts - 1) * (0.75 + Math.random() * 0.5), this.abort.signal)
      }
    }
  }

  private onProgress(p: ModelProgress) {
    if (this.abort.signal.aborted || this.status !== 'generating') return
    const progress = Math.max(this.progress, overallProgress('generating', p.progress))
    const stage = p.stage ?? this.stage ?? 'rendering'
    if (progress === this.progress && stage === this.stage) return
    this.progress = progress
    this.stage = stage
    this.emitProgress(p.etaSeconds)
    const now = Date.now()
    if (now - this.lastWriteAt >= this.ctx.options.progressWriteMs) {
      this.lastWriteAt = now
      this.writes = this.writes.then(() => this.ctx.repo.updateActive(this.id, { progress, stage }, ['generating'])).catch((err) =>
        this.ctx.log.warn('progress write failed', { generationId: this.id, err: err as Error }),
      )
    }
  }

  /** Turns the model output into WebP full + thumbnail, stores both, then completes the row. */
  private async finish(output: ModelOutput) {
    await this.writes
    this.check()
    const moved = await this.ctx.repo.updateActive(
      this.id,
      { status: 'finalizing', stage: 'encoding', progress: Math.max(this.progress, progressBand('finalizing')[0]) },
      ['generating', 'finalizing'],
    )
    if (!moved) throw new Stopped('gone')
    this.adopt(moved)
    this.emitProgress()
    // provider URLs go through the SSRF guard, with a size cap and a check that the bytes are an image
    const { data: bytes } = await fetchModelOutput(output, { allowPrivate: this.ctx.options.allowPrivateHosts, signal: this.abort.signal })
    this.check()
    const image = await this.ctx.finalize(bytes)
    this.check()
    const full = storageKeys.generationFull(this.row.userId, this.id)
    const thumb = storageKeys.generationThumb(this.row.userId, this.id)
    await Promise.all([this.ctx.storage.put(full, image.full, 'image/webp'), this.ctx.storage.put(thumb, image.thumb, 'image/webp')]).catch(
      async (err) => {
        // one of the two may have landed: leave no half of a result behind
        await this.ctx.storage.delete([full, thumb]).catch(() => {})
        this.ctx.log.error('finished image could not be stored', { generationId: this.id, err: err as Error })
        throw new ModelError('STORAGE_ERROR', 'the finished image could not be stored; try again', false)
      },
    )
    const row = this.abort.signal.aborted
      ? undefined
      : await this.ctx.repo.updateActive(
          this.id,
          { status: 'completed', stage: null, progress: 100, imageKey: full, thumbnailKey: thumb, width: image.width, height: image.height, bytes: image.bytes, completedAt: new Date() },
          ['finalizing'],
        )
    if (!row) {
      // Cancelled while the files were written: nothing of it may stay behind.
      await this.ctx.storage.delete([full, thumb]).catch(() => {})
      this.check()
      throw new Stopped('gone')
    }
    this.adopt(row)
    this.hooks.emit('generation.completed', { ...(await toView(row, this.ctx.storage)), ...this.batch() })
  }

  private async fail(code: string, message: string, userFault: boolean) {
    const row = await this.ctx.repo.updateActive(this.id, { status: 'failed', stage: null, errorCode: code, errorMessage: message, completedAt: new Date() })
    if (!row) return
    this.adopt(row)
    if (this.requestId) await this.ctx.provider.cancel(this.requestId).catch(() => {})
    if (!userFault) await this.hooks.refund(this.id)
    this.hooks.emit('generation.failed', { id: this.id, status: 'failed', error: { code, message }, ...this.batch() })
  }

  private adopt(row: Generation) {
    this.row = row
    this.status = row.status
    this.progress = Math.max(this.progress, row.progress)
    this.stage = row.stage
  }

  private batch() {
    return this.row.batchId ? { batchId: this.row.batchId } : {}
  }

  private emitProgress(etaSeconds?: number) {
    this.hooks.emit('generation.progress', {
      id: this.id,
      status: this.status,
      stage: this.stage,
      progress: this.progress,
      etaSeconds: etaSeconds ?? estimateEta({ status: this.status, progress: this.progress, startedAt: this.row.startedAt }),
      ...this.batch(),
    })
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Stopped('aborted'))
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(new Stopped('aborted'))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Fetches a provider's output URL (fal); bounded in time. */
