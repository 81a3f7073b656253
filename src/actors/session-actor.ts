/**
 * The session actor: one per user, the only writer of that user's token
 * bucket, job mailbox and event log. Messages (see messages.ts) are handled
 * one at a time in arrival order; the rate-limit check is a synchronous
 * read-modify-write, so it is just as ordered without going through the queue.
 *
 * State: `bucket` (requests/min), `waiting` (accepted jobs, FIFO), `runs`
 * (jobs in progress, at most the tier's concurrency). On activation the state
 * is rebuilt from PostgreSQL: waiting jobs are queued again in order, started
 * ones are resumed (watched when the provider already has them).
 */
import type { Generation } from '../adapters/db/schema/generations'
import type { Tier } from '../adapters/db/schema/users'
import { type ActiveStatus, assertNever, isTerminal, refundsOnCancel } from '../domain/generations/lifecycle'
import { toView } from '../domain/generations/view'
import { type QuotaState, quotaHeaders, quotaState, refundQuota, utcDay } from '../domain/quota/quota'
import { limitsFor } from '../domain/tiers'
import { AppError } from '../lib/errors'
import { newId } from '../lib/ids'
import { type ActorContext, publishUserEvent } from './context'
import { JobRun } from './job-run'
import type { ActorMessage, ActorReplies, CancelJob, SubmitJob } from './messages'
import { type RateDecision, TokenBucket } from './token-bucket'

/** A job the actor took: its row, its place in the queue, and the quota after it. */
export interface Accepted {
  generation: Generation
  position: number | null
  quota: QuotaState
}

/** Share of the daily quota left at which `quota.warning` is sent. */
const WARNING_SHARE = 0.2

export class SessionActor {
  private tier: Tier
  private readonly bucket: TokenBucket
  private readonly waiting: Generation[] = []
  private readonly runs = new Map<string, JobRun>()
  private inbox: Promise<unknown> = Promise.resolve()
  private pending = 0
  private stopped = false
  private lastActivity = Date.now()
  /** Settles once the state has been rebuilt from PostgreSQL. */
  readonly ready: Promise<void>

  constructor(
    readonly userId: string,
    tier: Tier,
    private readonly ctx: ActorContext,
  ) {
    this.tier = tier
    this.bucket = new TokenBucket(limitsFor(tier).requestsPerMinute)
    this.ready = this.rebuild()
  }

  /** Counts one request against the user's per-minute limit. */
  takeRequest(tier: Tier, now = Date.now()): RateDecision {
    this.lastActivity = now
    this.setTier(tier)
    return this.bucket.take(now)
  }

  /** Queues a message; it is handled after every message sent before it. */
  send<M extends ActorMessage>(msg: M): Promise<ActorReplies[M['type']]> {
    this.lastActivity = Date.now()
    this.pending++
    const reply = this.inbox.then(() => this.handle(msg)) as Promise<ActorReplies[M['type']]>
    this.inbox = reply.catch(() => {}).finally(() => this.pending--)
    return reply
  }

  /** 1-based place of a waiting job among the user's queued jobs, or null. */
  positionOf(generationId: string): number | null {
    let place = 0
    for (const g of this.waiting) {
      if (g.status === 'queued') place++
      if (g.id === generationId) return place
    }
    return null
  }

  /** Nothing running, nothing waiting, nothing to lose: safe to passivate. */
  isIdle(now: number, idleMs: number): boolean {
    return (
      this.pending === 0 && this.runs.size === 0 && this.waiting.length === 0 && now - this.lastActivity >= idleMs && this.bucket.isFull(now)
    )
  }

  /** Stops every run without ending the jobs: the next activation resumes them. */
  async stop(): Promise<void> {
    this.stopped = true
    this.ctx.slots.leave(this.wake)
    for (const run of this.runs.values()) run.stop('shutdown')
    await Promise.all([...this.runs.values()].map((r) => r.done))
  }

  private async handle(msg: ActorMessage): Promise<unknown> {
    await this.ready
    switch (msg.type) {
      case 'submit':
        return this.submit(msg)
      case 'cancel':
        return this.cancel(msg)
      case 'forget':
        await this.cancel({ type: 'cancel', generationId: msg.generationId }).catch(() => {})
        return
      case 'job.settled':
        this.runs.delete(msg.generationId)
        this.pump()
        return
      default:
        return assertNever(msg)
    }
  }

  private setTier(tier: Tier) {
    if (tier === this.tier) return
    this.tier = tier
    this.bucket.resize(limitsFor(tier).requestsPerMinute)
  }

  private async rebuild() {
    const rows = await this.ctx.repo.activeOf(this.userId)
    // Jobs that had started go first (they resume; a submitted one is watched, not submitted again), then the queue in order.
    const started = rows.filter((r) => r.status !== 'queued')
    this.waiting.push(...started, ...rows.filter((r) => r.status === 'queued'))
    if (rows.length > 0) this.ctx.log.info('actor rebuilt', { userId: this.userId, waiting: this.waiting.length, resuming: started.length })
    this.pump()
  }

  private async submit(msg: SubmitJob): Promise<Accepted> {
    if (this.stopped) throw new AppError('SERVICE_UNAVAILABLE', 'this node is shutting down; retry shortly')
    this.setTier(msg.tier)
    const limits = limitsFor(msg.tier)
    const busy = this.runs.size >= limits.concurrentJobs
    if (busy && this.waiting.length >= limits.mailboxLength)
      throw new AppError('RATE_LIMIT_EXCEEDED', `too many generations waiting (at most ${limits.mailboxLength} on your tier)`, undefined, { 'retry-after': '5' })
    const input = msg.input
    const quotaDay = utcDay()
    const id = newId('generation')
    const reserved = await this.ctx.repo.reserveAndInsert(
      {
        id,
        userId: this.userId,
        batchId: msg.batchId,
        prompt: input.prompt,
        style: input.style.id,
        palette: input.palette,
        customColors: input.customColors,
        aspectRatio: input.aspectRatio,
        size: input.size,
        seed: input.seed,
        sourceImageId: input.sourceImage?.id ?? null,
        templateId: input.templateId,
        provider: this.ctx.provider.name,
        providerModel: input.style.falModel,
        idempotencyKey: msg.idempotencyKey,
        quotaDay,
      },
      limits.generationsPerDay,
    )
    if (!reserved) {
      const q = await this.ctx.usage.quotaSnapshot(this.userId, msg.tier)
      this.emit('quota.exceeded', { limit: q.limit, used: q.used, resetAt: q.resetAt.toISOString() })
      throw new AppError('QUOTA_EXCEEDED', `daily generation quota of ${limits.generationsPerDay} reached`, { limit: q.limit, resetAt: q.resetAt.toISOString() }, {
        ...quotaHeaders(q),
        'retry-after': String(Math.max(1, Math.ceil((q.resetAt.getTime() - Date.now()) / 1000))),
      })
    }
    const row = rowOf(id, this.userId, msg, reserved.createdAt, this.ctx.provider.name, quotaDay)
    this.waiting.push(row)
    const quota = quotaState(limits.generationsPerDay, reserved.used)
    this.emit('generation.queued', { ...(await toView(row, undefined, this.waiting.length)), ...(row.batchId ? { batchId: row.batchId } : {}) })
    this.emitQuota(quota, true)
    const position = this.positionOf(id)
    this.pump()
    return { generation: row, position: this.positionOf(id) ?? position, quota }
  }

  private async cancel(msg: CancelJob): Promise<Generation> {
    const id = msg.generationId
    let from: ActiveStatus | undefined
    const run = this.runs.get(id)
    const waitingAt = this.waiting.findIndex((g) => g.id === id)
    if (run) {
      from = run.status as ActiveStatus
      run.stop('cancel')
      await run.done
      if (isTerminal(run.status)) throw new AppError('CONFLICT', `generation already ${run.status}`)
      from = run.status as ActiveStatus
    } else if (waitingAt >= 0) {
      from = 'queued'
      this.waiting.splice(waitingAt, 1)
    }
    const row = await this.ctx.repo.updateActive(id, { status: 'cancelled', stage: null, completedAt: new Date() })
    if (!row) {
      const current = await this.ctx.repo.get(id)
      throw new AppError('CONFLICT', `generation already ${current?.status ?? 'ended'}`)
    }
    const requestId = run?.requestId ?? row.providerRequestId
    if (requestId) await this.ctx.provider.cancel(requestId).catch(() => {})
    if (refundsOnCancel(from ?? 'queued')) await this.refund(id)
    this.emit('generation.cancelled', { id, status: 'cancelled', ...(row.batchId ? { batchId: row.batchId } : {}) })
    this.pump()
    return row
  }

  /** Called by NodeSlots when a slot frees up while this actor waits for one. */
  private readonly wake = () => this.pump()

  /** Starts waiting jobs, oldest first, while the tier's concurrency and the node's capacity allow. */
  private pump() {
    if (this.stopped) return
    const { concurrentJobs } = limitsFor(this.tier)
    while (this.runs.size < concurrentJobs && this.waiting.length > 0) {
      if (!this.ctx.slots.tryTake()) {
        this.ctx.slots.waitTurn(this.wake)
        return
      }
      const row = this.waiting.shift()
      if (row) this.startRun(row)
      else this.ctx.slots.release()
    }
  }

  private startRun(row: Generation) {
    const run = new JobRun(row, this.ctx, {
      emit: (type, data) => this.emit(type, data),
      refund: (gid) => this.refund(gid),
      settled: (gid) => {
        this.ctx.slots.release()
        void this.send({ type: 'job.settled', generationId: gid }).catch(() => {})
      },
    })
    this.runs.set(row.id, run)
    run.start()
  }

  private async refund(generationId: string) {
    const refunded = await refundQuota(this.ctx.db, generationId)
    if (refunded && refunded.day === utcDay()) this.emitQuota(quotaState(limitsFor(this.tier).generationsPerDay, refunded.used), false)
  }

  private emitQuota(q: QuotaState, charged: boolean) {
    const data = { limit: q.limit, used: q.used, remaining: q.remaining, resetAt: q.resetAt.toISOString() }
    this.emit('quota.updated', data)
    if (charged && q.limit !== null && q.remaining !== null) {
      const threshold = Math.floor(q.limit * WARNING_SHARE)
      // Once when crossing the threshold, and again at zero.
      if (q.remaining === threshold || q.remaining === 0) this.emit('quota.warning', data)
    }
  }

  private emit(type: string, data: Record<string, unknown>) {
    publishUserEvent(this.ctx, this.userId, type, data)
  }
}

/** The row as inserted, built in memory so the accept path needs no read-back. */
function rowOf(id: string, userId: string, msg: SubmitJob, createdAt: Date, provider: string, quotaDay: string): Generation {
  const i = msg.input
  return {
    id,
    userId,
    batchId: msg.batchId,
    status: 'queued',
    stage: null,
    progress: 0,
    prompt: i.prompt,
    finalPrompt: null,
    style: i.style.id,
    palette: i.palette,
    customColors: i.customColors,
    aspectRatio: i.aspectRatio,
    size: i.size,
    seed: i.seed,
    sourceImageId: i.sourceImage?.id ?? null,
    templateId: i.templateId,
    provider,
    providerModel: i.style.falModel,
    providerRequestId: null,
    attempts: 0,
    errorCode: null,
    errorMessage: null,
    imageKey: null,
    thumbnailKey: null,
    width: null,
    height: null,
    bytes: null,
    isLiked: false,
    downloadCount: 0,
    viewCount: 0,
    idempotencyKey: msg.idempotencyKey,
    quotaDay,
    quotaRefunded: false,
    epoch: 0,
    deadlineAt: null,
    createdAt,
    startedAt: null,
    completedAt: null,
    updatedAt: createdAt,
    searchVector: null as unknown as string,
  }
}
