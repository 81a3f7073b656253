import { index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt, id, ts } from './columns'
import { users } from './users'

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The visible start of the key (e.g. `kiln_live_ab12cd34`), unique, used to find the row. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole key, compared in constant time. */
    hash: text('hash').notNull(),
    createdAt: createdAt(),
    lastUsedAt: ts('last_used_at'),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_prefix_key').on(t.prefix), index('api_keys_user_idx').on(t.userId)],
)
