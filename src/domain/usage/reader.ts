/**
 * Read-only usage and quota arithmetic over `usage_counters` and `generations`.
 * The generation lifecycle writes those rows; this module only reads them, so
 * the account endpoints and the X-Quota-* headers agree on one calculation.
 */
import { and, count, desc, eq, gte, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { type Tier, generations, usageCounters } from '../../adapters/db/schema'
import { limitsFor } from '../tiers'

/** What is left of a daily quota; `limit`/`remaining` are null when the tier is unlimited. */
export interface QuotaSnapshot {
  limit: number | null
  used: number
  remaining: number | null
  /** Next UTC midnight, when the daily count starts again. */
  resetAt: Date
}

export interface DailyUsage {
  /** UTC day, `YYYY-MM-DD`. */
  day: string
  generations: number
  refunded: number
}

export interface UserStats {
  totalGenerations: number
  completed: number
  liked: number
  downloads: number
  favouriteStyle: string | null
  thisMonth: number
}

const DAY_MS = 86_400_000

/** The UTC day of `at` as `YYYY-MM-DD`. */
export const utcDay = (at: Date = new Date()) => at.toISOString().slice(0, 10)

/** The next UTC midnight after `at`. */
export const nextUtcMidnight = (at: Date = new Date()) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS + DAY_MS)

export class UsageReader {
  private readonly usedOnDay

  constructor(private readonly db: Db) {
    this.usedOnDay = db
      .select({ n: usageCounters.generations })
      .from(usageCounters)
      .where(and(eq(usageCounters.userId, sql.placeholder('userId')), eq(usageCounters.day, sql.placeholder('day'))))
      .prepare('usage_used_on_day')
  }

  /** Today's (UTC) quota position for a user of `tier`. */
  async quotaSnapshot(userId: string, tier: Tier, now: Date = new Date()): Promise<QuotaSnapshot> {
    const [row] = await this.usedOnDay.execute({ userId, day: utcDay(now) })
    const used = Number(row?.n ?? 0)
    const limit = limitsFor(tier).generationsPerDay
    return { limit, used, remaining: limit === null ? null : Math.max(0, limit - used), resetAt: nextUtcMidnight(now) }
  }

  /** One entry per UTC day for the last `days` days (today last), zeros where nothing happened. */
  async daily(userId: string, days = 30, now: Date = new Date()): Promise<DailyUsage[]> {
    const first = utcDay(new Date(now.getTime() - (days - 1) * DAY_MS))
    const rows = await this.db
      .select({ day: usageCounters.day, generations: usageCounters.generations, refunded: usageCounters.refunded })
      .from(usageCounters)
      .where(and(eq(usageCounters.userId, userId), gte(usageCounters.day, first)))
    const byDay = new Map(rows.map((r) => [String(r.day).slice(0, 10), r]))
    const out: DailyUsage[] = []
    for (let i = days - 1; i >= 0; i--) {
      const day = utcDay(new Date(now.getTime() - i * DAY_MS))
      const r = byDay.get(day)
      out.push({ day, generations: Number(r?.generations ?? 0), refunded: Number(r?.refunded ?? 0) })
    }
    return out
  }

  /** Generations counted against quota since the first of this UTC month. */
  async thisMonth(userId: string, now: Date = new Date()): Promise<number> {
    const first = `${utcDay(now).slice(0, 7)}-01`
    const [row] = await this.db
      .select({ n: sql<string>`coalesce(sum(${usageCounters.generations}), 0)` })
      .from(usageCounters)
      .where(and(eq(usageCounters.userId, userId), gte(usageCounters.day, first)))
    return Number(row?.n ?? 0)
  }

  /** Totals over the user's history. */
  async stats(userId: string, now: Date = new Date()): Promise<UserStats> {
    const [totals, [favourite], month] = await Promise.all([
      this.db
        .select({
          total: count(),
          completed: sql<string>`count(*) filter (where ${generations.status} = 'completed')`,
          liked: sql<string>`count(*) filter (where ${generations.isLiked})`,
          downloads: sql<string>`coalesce(sum(${generations.downloadCount}), 0)`,
        })
        .from(generations)
        .where(eq(generations.userId, userId)),
      this.db
        .select({ style: generations.style, n: count() })
        .from(generations)
        .where(eq(generations.userId, userId))
        .groupBy(generations.style)
        .orderBy(desc(count()), generations.style)
        .limit(1),
      this.thisMonth(userId, now),
    ])
    const t = totals[0]
    return {
      totalGenerations: Number(t?.total ?? 0),
      completed: Number(t?.completed ?? 0),
      liked: Number(t?.liked ?? 0),
      downloads: Number(t?.downloads ?? 0),
      favouriteStyle: favourite?.style ?? null,
      thisMonth: month,
    }
  }
}
