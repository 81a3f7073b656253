/** The account: tier, limits, daily usage and what is left of today's quota. */
import { Elysia, t } from 'elysia'
import { limitsFor } from '../../../domain/tiers'
import type { QuotaSnapshot } from '../../../domain/usage/reader'
import { authPlugin } from '../auth'
import { Envelope, commonErrors, ok } from '../envelope'
import type { Services } from '../services'
import { UserSchema, userView } from './user-view'

const nullableInt = (description: string) => t.Union([t.Integer(), t.Null()], { description })

const LimitsSchema = t.Object(
  {
    requestsPerMinute: t.Integer(),
    generationsPerDay: nullableInt('null when unlimited'),
    batchSize: t.Integer(),
    concurrentJobs: t.Integer(),
    maxSize: t.Union([t.Literal('1K'), t.Literal('2K'), t.Literal('4K')]),
  },
  { title: 'TierLimits' },
)

const QuotaSchema = t.Object(
  {
    limit: nullableInt('generations per UTC day; null when unlimited'),
    used: t.Integer(),
    remaining: nullableInt('null when unlimited'),
    resetAt: t.String({ format: 'date-time', description: 'next UTC midnight' }),
  },
  { title: 'DailyQuota' },
)

const DaySchema = t.Object({ day: t.String({ format: 'date' }), generations: t.Integer(), refunded: t.Integer() }, { title: 'DailyUsage' })

const limitsView = (tier: Parameters<typeof limitsFor>[0]) => {
  const l = limitsFor(tier)
  return {
    requestsPerMinute: l.requestsPerMinute,
    generationsPerDay: l.generationsPerDay,
    batchSize: l.batchSize,
    concurrentJobs: l.concurrentJobs,
    maxSize: l.maxSize,
  }
}

const quotaView = (q: QuotaSnapshot) => ({ ...q, resetAt: q.resetAt.toISOString() })

export function accountRoutes(s: Services) {
  return new Elysia({ name: 'kiln.account', prefix: '/api/v1/account', detail: { tags: ['account'] } })
    .use(authPlugin(s))
    .get(
      '',
      async ({ user }) => {
        const [quota, thisMonth] = await Promise.all([s.usage.quotaSnapshot(user.id, user.tier), s.usage.thisMonth(user.id)])
        return ok({ user: userView(user), tier: user.tier, limits: limitsView(user.tier), quota: quotaView(quota), thisMonth })
      },
      {
        auth: true,
        response: {
          200: Envelope(
            t.Object({
              user: UserSchema,
              tier: t.Union([t.Literal('free'), t.Literal('pro'), t.Literal('enterprise')]),
              limits: LimitsSchema,
              quota: QuotaSchema,
              thisMonth: t.Integer({ description: 'generations counted this UTC month' }),
            }),
          ),
          ...commonErrors,
        },
        detail: { summary: 'The account: tier, its limits, today\'s quota and this month\'s usage' },
      },
    )
    .get(
      '/usage',
      async ({ user }) => {
        const days = await s.usage.daily(user.id, 30)
        return ok({ days, total: days.reduce((n, d) => n + d.generations, 0) })
      },
      {
        auth: true,
        response: { 200: Envelope(t.Object({ days: t.Array(DaySchema), total: t.Integer() })), ...commonErrors },
        detail: { summary: 'Generations per UTC day for the last 30 days (oldest first, zeros filled)' },
      },
    )
    .get(
      '/quota',
      async ({ user }) =>
        ok({ tier: user.tier, limits: limitsView(user.tier), daily: quotaView(await s.usage.quotaSnapshot(user.id, user.tier)) }),
      {
        auth: true,
        response: {
          200: Envelope(
            t.Object({ tier: t.Union([t.Literal('free'), t.Literal('pro'), t.Literal('enterprise')]), limits: LimitsSchema, daily: QuotaSchema }),
          ),
          ...commonErrors,
        },
        detail: { summary: 'Tier limits and what is left today (unlimited shown as null)' },
      },
    )
}
