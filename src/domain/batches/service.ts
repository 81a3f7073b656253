/**
 * `services.batches`: many generations submitted as one request. A batch is
 * accepted whole or not at all for validation and quota: every item is
 * validated and the day's remaining quota checked before anything is written.
 * Then each item goes through the ordinary generation path (the user's
 * session actor) in order; an item that still cannot be queued is recorded as
 * failed instead of failing the batch. Another user's batch is NOT_FOUND.
 */
import type { Tier } from '../../adapters/db/schema/users'
import type { Storage } from '../../adapters/storage/storage'
import { AppError, notFound } from '../../lib/errors'
import { isId, newId } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import { type GenerationInput, type InputLookups, normalizeInput } from '../generations/input'
import { type GenerationView, toView } from '../generations/view'
import { type QuotaState, quotaHeaders } from '../quota/quota'
import { limitsFor } from '../tiers'
import type { UsageReader } from '../usage/reader'
import { BatchRepository } from './repository'
import { type BatchEmit, BatchTracker } from './tracker'
import type { Db } from '../../adapters/db/client'
import { type Batch, type BatchItem, type BatchItemResult, type BatchView, toBatchView } from './view'

/** A batch still `pending` this long after acceptance was abandoned by its node (queuing takes seconds). */
export const STALLED_AFTER_MS = 10 * 60_000

export interface BatchUser {
  id: string
  tier: Tier
}

/** What batches need of the generation path (`services.generations` provides it). */
export interface BatchJobs {
  submit(user: BatchUser, raw: GenerationInput, opts: { batchId: string; requestId?: string }): Promise<{ generation: { id: string } }>
  cancel(user: BatchUser, id: string): Promise<unknown>
  /** One generation as GET /generations/{id} shows it (with its queue place while waiting). */
  get(user: BatchUser, id: string): Promise<GenerationView>
}

export interface BatchDeps {
  db: Db
  jobs: BatchJobs
  lookups: InputLookups
  usage: Pick<UsageReader, 'quotaSnapshot'>
  /** Read when used, like the generation path's storage. */
  media: { readonly storage: Storage }
  emit: BatchEmit
  log: Logger
}

export interface NewBatchRequest {
  defaults?: GenerationInput
  items: GenerationInput[]
}

export interface Page<T> {
  items: T[]
  meta: { page: number; limit: number; total: number; totalPages: number }
}

/**
 * An item over the batch's defaults. As with templates, an item's own prompt
 * (or topic) replaces the defaults' prompt and topic, and its palette or
 * custom colours replace the other colour setting.
 */
export function overlay(defaults: GenerationInput | undefined, item: GenerationInput): GenerationInput {
  if (!defaults) return { ...item }
  const base: GenerationInput = { ...defaults }
  if (item.prompt !== undefined || item.topic !== undefined) {
    delete base.prompt
    delete base.topic
  }
  if (item.customColors !== undefined) delete base.palette
  if (item.palette !== undefined) delete base.customColors
  return { ...base, ...item }
}

interface ItemIssue {
  field: string
  index: number
  message: string
}

/** An item's validation failure as issues naming the item (`items.<i>.<field>`). */
function issuesOf(err: AppError, index: number): ItemIssue[] {
  const details = err.details as { issues?: { field: string; message: string }[] } | undefined
  if (err.errorCode === 'VALIDATION_ERROR' && details?.issues?.length)
    return details.issues.map((i) => ({ field: `items.${index}.${i.field}`, index, message: i.message }))
  // normalizeInput answers 404 for a missing template or upload; inside a batch that is a bad item.
  const field = err.message.startsWith('template') ? 'templateId' : err.message.startsWith('source image') ? 'sourceImageId' : '(item)'
  return [{ field: `items.${index}.${field}`, index, message: err.message }]
}

const pages = (total: number, limit: number) => Math.ceil(total / limit)

export class BatchService {
  readonly tracker: BatchTracker
  private readonly repo: BatchRepository

  constructor(private readonly deps: BatchDeps) {
    this.repo = new BatchRepository(deps.db)
    this.tracker = new BatchTracker(this.repo, deps.emit, deps.log)
  }

  /** Validates every item, checks the quota covers them all, then queues them in order; the batch view after. */
  async create(user: BatchUser, req: NewBatchRequest, opts: { idempotencyKey?: string; requestId?: string } = {}): Promise<{ batch: BatchView; quota: QuotaState }> {
    const max = limitsFor(user.tier).batchSize
    if (req.items.length > max)
      throw new AppError('VALIDATION_ERROR', `a batch holds at most ${max} items on the ${user.tier} tier (got ${req.items.length})`, {
        in: 'body',
        limit: max,
        issues: [{ field: 'items', message: `at most ${max} items` }],
      })
    const inputs = req.items.map((item) => overlay(req.defaults, item))
    await this.validateAll(user, inputs)
    await this.checkQuota(user, inputs.length)
    const batchId = newId('batch')
    return this.tracker.serial(batchId, async () => {
      const { items } = await this.repo.create(
        { id: batchId, userId: user.id, defaults: req.defaults ?? null, idempotencyKey: opts.idempotencyKey ?? null, inputs },
        () => newId('batchItem'),
      )
      await this.submitItems(user, batchId, items, opts.requestId)
      await this.start(user, batchId)
      const batch = await this.tracker.refresh(user.id, batchId)
      const quota = await this.deps.usage.quotaSnapshot(user.id, user.tier)
      return { batch: batch!, quota }
    })
  }

  /**
   * Batches whose accepting node died while queuing their items stay `pending`
   * forever otherwise: after `olderThanMs` one node takes each over, counts the
   * items never queued as failed, and lets the batch finish with the rest.
   * Returns how many it took over.
   */
  async sweepStalled(olderThanMs = STALLED_AFTER_MS): Promise<number> {
    const cutoff = new Date(Date.now() - olderThanMs)
    let taken = 0
    for (const b of await this.repo.stalledPending(cutoff)) {
      await this.tracker.serial(b.id, async () => {
        const row = await this.repo.claimStalled(b.id, cutoff)
        if (!row) return
        taken++
        this.deps.log.warn('batch left pending by its accepting node; items never queued count as failed', { userId: b.userId, batchId: b.id })
        const counts = await this.repo.counts([b.id])
        this.deps.emit(b.userId, 'batch.started', toBatchView(row, counts.get(b.id)!))
        await this.tracker.refresh(b.userId, b.id)
      })
    }
    return taken
  }

  async list(user: BatchUser, page: number, limit: number): Promise<Page<BatchView>> {
    const { rows, total } = await this.repo.list(user.id, page, limit)
    const counts = await this.repo.counts(rows.map((r) => r.id))
    return { items: rows.map((r) => toBatchView(r, counts.get(r.id)!)), meta: { page, limit, total, totalPages: pages(total, limit) } }
  }

  /** The batch view; an open batch is recounted first, so a missed job event cannot leave it stale. */
  async get(user: BatchUser, id: string): Promise<BatchView> {
    const row = await this.owned(user, id)
    if (row.status === 'pending' || row.status === 'running') {
      const view = await this.tracker.serial(id, () => this.tracker.refresh(user.id, id))
      if (view) return view
    }
    const counts = await this.repo.counts([id])
    return toBatchView(row, counts.get(id)!)
  }

  /** Items in submitted order, each with its current generation (image URLs signed). */
  async results(user: BatchUser, id: string, page: number, limit: number): Promise<Page<BatchItemResult>> {
    const row = await this.owned(user, id)
    const items = await this.repo.items(id, page, limit)
    const ids = items.map((i) => i.generationId).filter((g): g is string => g !== null)
    const rows = new Map((await this.repo.generationsOf(user.id, ids)).map((g) => [g.id, g]))
    const storage = this.deps.media.storage
    const data = await Promise.all(
      items.map(async (item) => {
        const g = item.generationId ? rows.get(item.generationId) : undefined
        return {
          position: item.position,
          input: item.input as GenerationInput,
          attempts: item.attempts,
          // A waiting job's queue place is known to its actor: ask the generation path for those.
          generation: !g ? null : g.status === 'queued' ? await this.deps.jobs.get(user, g.id).catch(() => toView(g, storage)) : await toView(g, storage),
        }
      }),
    )
    return { items: data, meta: { page, limit, total: row.total, totalPages: pages(row.total, limit) } }
  }

  /** Cancels every item still queued or running; the batch ends `cancelled`. An ended batch is 409. */
  async cancel(user: BatchUser, id: string): Promise<BatchView> {
    await this.owned(user, id)
    return this.tracker.serial(id, async () => {
      const closed = await this.repo.close(id, 'cancelled')
      if (!closed) {
        const current = await this.repo.get(id)
        throw new AppError('CONFLICT', `batch already ${current?.status ?? 'ended'}`)
      }
      // Latest first: waiting jobs leave the mailbox before a running one frees its slot for them.
      for (const gid of (await this.repo.activeGenerationIds(id)).reverse()) {
        await this.deps.jobs.cancel(user, gid).catch((err) => {
          // It ended (or was deleted) meanwhile: nothing to cancel.
          if (err instanceof AppError && (err.errorCode === 'CONFLICT' || err.errorCode === 'NOT_FOUND')) return
          throw err
        })
      }
      const now = await this.tracker.recount(user.id, id)
      if (!now) throw notFound('batch')
      this.tracker.announceEnd(now.row, now.counts)
      return toBatchView(now.row, now.counts)
    })
  }

  /** Queues again every item that failed or was cancelled (a new generation each); needs quota for all of them. */
  async retry(user: BatchUser, id: string, opts: { requestId?: string } = {}): Promise<{ batch: BatchView; quota: QuotaState }> {
    await this.owned(user, id)
    return this.tracker.serial(id, async () => {
      const items = await this.repo.retryable(id)
      if (items.length === 0) throw new AppError('CONFLICT', 'nothing to retry: no item failed or was cancelled')
      await this.checkQuota(user, items.length)
      await this.submitItems(user, id, items, opts.requestId)
      await this.start(user, id)
      const batch = await this.tracker.refresh(user.id, id)
      const quota = await this.deps.usage.quotaSnapshot(user.id, user.tier)
      return { batch: batch!, quota }
    })
  }

  private async owned(user: BatchUser, id: string): Promise<Batch> {
    const row = isId('batch', id) ? await this.repo.getOwned(user.id, id) : undefined
    if (!row) throw notFound('batch')
    return row
  }

  /** Every item through the same validation as a single generation; all bad items reported at once. */
  private async validateAll(user: BatchUser, inputs: GenerationInput[]): Promise<void> {
    const results = await Promise.all(
      inputs.map((input, index) =>
        normalizeInput(input, user, this.deps.lookups).then(
          () => [] as ItemIssue[],
          (err) => {
            if (err instanceof AppError && (err.errorCode === 'VALIDATION_ERROR' || err.errorCode === 'NOT_FOUND')) return issuesOf(err, index)
            throw err
          },
        ),
      ),
    )
    const issues = results.flat()
    const first = issues[0]
    if (first)
      throw new AppError('VALIDATION_ERROR', `item ${first.index} is invalid: ${first.message}`, { in: 'body', issues: issues.slice(0, 20) })
  }

  /** 429 unless today's remaining quota covers `n` more generations (a batch is never half accepted for quota). */
  private async checkQuota(user: BatchUser, n: number): Promise<void> {
    const q = await this.deps.usage.quotaSnapshot(user.id, user.tier)
    if (q.remaining === null || q.remaining >= n) return
    throw new AppError(
      'QUOTA_EXCEEDED',
      `this batch needs ${n} generations but only ${q.remaining} of today's ${q.limit} remain`,
      { limit: q.limit, remaining: q.remaining, requested: n, resetAt: q.resetAt.toISOString() },
      { ...quotaHeaders(q), 'retry-after': String(Math.max(1, Math.ceil((q.resetAt.getTime() - Date.now()) / 1000))) },
    )
  }

  /** Submits items in order; one that cannot be queued is recorded as a failed attempt. */
  private async submitItems(user: BatchUser, batchId: string, items: BatchItem[], requestId?: string): Promise<void> {
    for (const item of items) {
      let generationId: string | null = null
      try {
        const { generation } = await this.deps.jobs.submit(user, item.input as GenerationInput, { batchId, requestId })
        generationId = generation.id
      } catch (err) {
        this.deps.log.warn('batch item not queued', { requestId, userId: user.id, batchId, position: item.position, err: err as Error })
      }
      await this.repo.recordAttempt(item.id, generationId)
    }
  }

  /** Marks the batch running and says so (`batch.started`) unless it already was. */
  private async start(user: BatchUser, batchId: string): Promise<void> {
    const before = await this.repo.get(batchId)
    const row = await this.repo.markRunning(batchId)
    if (!row || before?.status === 'running') return
    const counts = await this.repo.counts([batchId])
    this.deps.emit(user.id, 'batch.started', toBatchView(row, counts.get(batchId)!))
  }
}
