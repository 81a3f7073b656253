/**
 * Sends queued webhook deliveries. Every node runs one: it claims due rows
 * with `FOR UPDATE SKIP LOCKED`, so nodes never send the same attempt twice,
 * and a claim is a lease (`next_attempt_at` moves past the send's timeout), so
 * the rows of a node that died mid-send come back by themselves. The claim
 * counts the attempt; that count fences the result write, so a node whose
 * lease lapsed cannot overwrite the outcome of a later attempt.
 *
 * Each send goes through the outbound-fetch guard (address checked again and
 * pinned, no redirects, bounded time and body). A 2xx ends the delivery;
 * anything else is retried with exponential backoff and jitter until
 * `maxAttempts`, then the delivery fails.
 */
import { sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { rowsOf } from '../../adapters/db/rows'
import type { Logger } from '../../lib/logger'
import { SafeFetchError, safeFetch } from '../../lib/safe-fetch'
import { signatureHeaders } from './signing'

export interface DispatcherOptions {
  /** Hosts exempt from the address check (WEBHOOK_ALLOW_PRIVATE; tests only). */
  allowPrivate: readonly string[]
  /** Attempts before a delivery fails (the first included). */
  maxAttempts: number
  /** Delay before the first retry; doubles with each attempt, with jitter. */
  retryBaseMs: number
  /** Longest delay between two attempts. */
  retryMaxMs: number
  /** How long a claim is held; must exceed `timeoutMs`. */
  leaseMs: number
  /** How often due rows are looked for (inserts on this node wake it at once). */
  pollMs: number
  /** One send, DNS to last byte. */
  timeoutMs: number
  /** Response bytes read (and discarded) at most. */
  maxResponseBytes: number
  /** Sends in flight on this node at once. */
  concurrency: number
}

export const DEFAULT_DISPATCHER_OPTIONS: Omit<DispatcherOptions, 'allowPrivate'> = {
  maxAttempts: 8,
  // 30 s, 1 min, 2 min … 32 min: about an hour from first to last attempt
  retryBaseMs: 30_000,
  retryMaxMs: 6 * 3600_000,
  leaseMs: 60_000,
  pollMs: 1000,
  timeoutMs: 10_000,
  maxResponseBytes: 64 * 1024,
  concurrency: 16,
}

export const USER_AGENT = 'Kiln-Webhooks/1'

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery {
  id: string
  webhookId: string
  userId: string
  event: string
  payload: Record<string, unknown>
  /** This attempt's number (counted at claim); fences the result write. */
  attempts: number
  url: string
  secret: string
  active: boolean
}

interface ClaimRow {
  id: string
  webhook_id: string
  user_id: string
  event: string
  payload: Record<string, unknown> | string
  attempts: number
  url: string
  secret: string
  active: boolean
}

/** Delay before attempt `attempt + 1`: base · 2^(attempt−1), capped, times a jitter of 0.5–1. */
export function retryDelayMs(attempt: number, base: number, max: number, random = Math.random): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt - 1))
  return Math.round(exp * (0.5 + random() / 2))
}

export class WebhookDispatcher {
  private readonly opts: DispatcherOptions
  private readonly inFlight = new Set<Promise<void>>()
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>()
  private readonly abort = new AbortController()
  private poll: ReturnType<typeof setInterval> | undefined
  private claiming = false
  private again = false
  private stopped = false

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    opts: Partial<DispatcherOptions> & Pick<DispatcherOptions, 'allowPrivate'>,
  ) {
    this.opts = { ...DEFAULT_DISPATCHER_OPTIONS, ...opts }
  }

  /** Starts polling (and sends whatever is already due). */
  start(): void {
    if (this.poll || this.stopped) return
    this.poll = setInterval(() => this.wake(), this.opts.pollMs)
    this.poll.unref?.()
    this.wake()
  }

  /** Looks for due rows now (after an insert on this node, or when a send finished). */
  wake(): void {
    if (this.stopped) return
    if (this.claiming) {
      this.again = true
      return
    }
    void this.claimAndSend()
  }

  /** Stops claiming, aborts sends in flight (their rows go back to pending) and waits for their writes. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.poll)
    for (const t of this.retryTimers) clearTimeout(t)
    this.retryTimers.clear()
    this.abort.abort()
    while (this.claiming || this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight])
      if (this.claiming) await Bun.sleep(5)
    }
  }

  private async claimAndSend(): Promise<void> {
    this.claiming = true
    try {
      do {
        this.again = false
        const room = this.opts.concurrency - this.inFlight.size
        if (room <= 0 || this.stopped) break
        const claimed = await this.claim(room)
        for (const c of claimed) {
          if (this.stopped) {
            await this.release(c)
            continue
          }
          const p: Promise<void> = this.deliver(c).finally(() => {
            this.inFlight.delete(p)
            this.wake()
          })
          this.inFlight.add(p)
        }
      } while (this.again)
    } catch (err) {
      this.log.warn('webhook claim failed', { err: err as Error })
    } finally {
      this.claiming = false
    }
  }

  /**
   * Claims up to `limit` due rows: pending ones whose time has come and
   * delivering ones whose lease lapsed. One statement, so the row locks and the
   * update are one transaction on PostgreSQL and on PGlite alike.
   */
  async claim(limit: number): Promise<ClaimedDelivery[]> {
    const result = await this.db.execute(sql`
      with due as (
        select id from webhook_deliveries
        where status in ('pending', 'delivering') and next_attempt_at <= now()
        order by next_attempt_at
        limit ${limit}
        for update skip locked
      ), claimed as (
        update webhook_deliveries d
        set status = 'delivering', attempts = d.attempts + 1, next_attempt_at = now() + (${this.opts.leaseMs}::integer * interval '1 millisecond')
        from due where d.id = due.id
        returning d.id, d.webhook_id, d.event, d.payload, d.attempts
      )
      select c.id, c.webhook_id, c.event, c.payload, c.attempts, w.user_id, w.url, w.secret, w.active
      from claimed c join webhooks w on w.id = c.webhook_id`)
    return rowsOf<ClaimRow>(result).map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      userId: r.user_id,
      event: r.event,
      payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
      attempts: Number(r.attempts),
      url: r.url,
      secret: r.secret,
      active: r.active,
    }))
  }

  /** Sends one claimed delivery and records the outcome. */
  async deliver(c: ClaimedDelivery): Promise<void> {
    const log = { deliveryId: c.id, webhookId: c.webhookId, userId: c.userId, event: c.event, attempt: c.attempts }
    if (!c.active) {
      await this.record(c, { status: 'failed', attempts: c.attempts - 1, error: 'the webhook is inactive' })
      return
    }
    const body = JSON.stringify(c.payload)
    let statusCode: number | null = null
    let error: string
    try {
      const res = await safeFetch(c.url, {
        allowPrivate: this.opts.allowPrivate,
        method: 'POST',
        headers: {
          ...signatureHeaders(c.secret, c.id, body),
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
        },
        body,
        timeoutMs: this.opts.timeoutMs,
        maxBytes: this.opts.maxResponseBytes,
        signal: this.abort.signal,
      })
      statusCode = res.status
      if (res.status >= 200 && res.status < 300) {
        await this.record(c, { status: 'succeeded', statusCode })
        this.log.debug('webhook delivered', { ...log, statusCode })
        return
      }
      error = `the receiver answered ${res.status}`
    } catch (err) {
      if (this.abort.signal.aborted) {
        await this.release(c)
        return
      }
      error = err instanceof SafeFetchError ? `${err.reason.toLowerCase()}: ${err.message}` : `network: ${(err as Error).message}`
    }
    if (c.attempts >= this.opts.maxAttempts) {
      await this.record(c, { status: 'failed', statusCode, error })
      this.log.warn('webhook delivery failed for good', { ...log, statusCode, error })
      return
    }
    const delay = retryDelayMs(c.attempts, this.opts.retryBaseMs, this.opts.retryMaxMs)
    await this.record(c, { status: 'pending', statusCode, error, delayMs: delay })
    this.log.info('webhook delivery will be retried', { ...log, statusCode, error, delayMs: delay })
    // A retry due before the next poll is woken for explicitly (fast backoff in tests).
    if (delay < this.opts.pollMs && !this.stopped) {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer)
        this.wake()
      }, delay + 5)
      timer.unref?.()
      this.retryTimers.add(timer)
    }
  }

  /** Writes an outcome, unless another node has since claimed the row again (attempts moved on). */
  private async record(
    c: ClaimedDelivery,
    r: { status: 'succeeded' | 'failed' | 'pending'; statusCode?: number | null; error?: string; delayMs?: number; attempts?: number },
  ): Promise<void> {
    const next = r.status === 'pending' ? sql`now() + (${r.delayMs ?? 0}::integer * interval '1 millisecond')` : sql`now()`
    const delivered = r.status === 'succeeded' ? sql`now()` : sql`null`
    await this.db
      .execute(sql`
        update webhook_deliveries
        set status = ${r.status}, attempts = ${r.attempts ?? c.attempts}::integer, next_attempt_at = ${next}, delivered_at = ${delivered},
          last_status_code = ${r.statusCode ?? null}::integer, last_error = ${r.error ?? null}::text
        where id = ${c.id} and status = 'delivering' and attempts = ${c.attempts}::integer`)
      .catch((err) => this.log.error('webhook delivery outcome not recorded', { deliveryId: c.id, err: err as Error }))
  }

  /** Hands a claimed row back untouched (shutdown): the attempt never happened. */
  private async release(c: ClaimedDelivery): Promise<void> {
    await this.db
      .execute(sql`
        update webhook_deliveries set status = 'pending', attempts = attempts - 1, next_attempt_at = now()
        where id = ${c.id} and status = 'delivering' and attempts = ${c.attempts}::integer`)
      .catch((err) => this.log.warn('webhook delivery not released', { deliveryId: c.id, err: err as Error }))
  }
}
