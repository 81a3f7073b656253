import { integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'
import { createdAt, ts } from './columns'
import { users } from './users'

/** `Idempotency-Key` records, scoped to the user, kept 24 h. */
export const idempotencyRecords = pgTable(
  'idempotency_records',
  {
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** Method, path and a SHA-256 of the body: the same key with another request is 422. */
    requestHash: text('request_hash').notNull(),
    /** Null while the first request is in flight (a concurrent duplicate gets 409). */
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] })],
)
