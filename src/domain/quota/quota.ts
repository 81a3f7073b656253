/**
 * The write side of the daily generation quota. Reservation is one
 * conditional upsert on the user's `usage_counters` row for the UTC day (done
 * by `GenerationRepository.reserveAndInsert` in the same statement as the
 * insert); refunds go back to the day that was charged, at most once per job.
 * Reading the quota is `UsageReader` (domain/usage); this module reuses its
 * arithmetic rather than repeating it.
 */
import { sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { rowsOf } from '../../adapters/db/rows'
import { type QuotaSnapshot, nextUtcMidnight, utcDay } from '../usage/reader'

export { utcDay }
export type QuotaState = QuotaSnapshot

/** The quota position after a reservation or refund left `used` on today's counter. */
export function quotaState(limit: number | null, used: number, now = new Date()): QuotaState {
  return { limit, used, remaining: limit === null ? null : Math.max(0, limit - used), resetAt: nextUtcMidnight(now) }
}

/** `X-Quota-*` headers (reset as epoch seconds); none for an unlimited tier. */
export function quotaHeaders(q: QuotaState): Record<string, string> {
  if (q.limit === null) return {}
  return {
    'x-quota-limit': String(q.limit),
    'x-quota-remaining': String(q.remaining),
    'x-quota-reset': String(Math.floor(q.resetAt.getTime() / 1000)),
  }
}

/**
 * Gives a job's slot back to the day it was charged to. The flag on the
 * generation makes it once only, even if a cancel and a failure race.
 * Returns that day's new count, or null when nothing was refunded.
 */
export async function refundQuota(db: Db, generationId: string): Promise<{ day: string; used: number } | null> {
  const rows = rowsOf<{ day: string; used: number }>(
    await db.execute(sql`
      with g as (
        update generations set quota_refunded = true
        where id = ${generationId} and quota_refunded = false and quota_day is not null
        returning user_id, quota_day
      )
      update usage_counters u set generations = greatest(u.generations - 1, 0), refunded = u.refunded + 1
      from g where u.user_id = g.user_id and u.day = g.quota_day::date
      returning g.quota_day as day, u.generations as used`),
  )
  const r = rows[0]
  return r ? { day: String(r.day).slice(0, 10), used: Number(r.used) } : null
}
