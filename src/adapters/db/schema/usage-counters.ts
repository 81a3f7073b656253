import { date, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'
import { users } from './users'

/**
 * Accepted generations per user per UTC day. Quota is reserved by a conditional
 * upsert on this row, so two racing requests cannot both take the last slot;
 * monthly figures are sums over the days of the month.
 */
export const usageCounters = pgTable(
  'usage_counters',
  {
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    /** Generations reserved (accepted) and not refunded. */
    generations: integer('generations').notNull().default(0),
    /** Generations refunded that day (failed not by the user's fault, cancelled before generating). */
    refunded: integer('refunded').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.userId, t.day] })],
)
