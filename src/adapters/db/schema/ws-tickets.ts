import { pgTable, text } from 'drizzle-orm/pg-core'
import { createdAt, ts } from './columns'
import { users } from './users'

/** One-time socket tickets (`POST ws/ticket`); rows so that any node can redeem one exactly once. */
export const wsTickets = pgTable('ws_tickets', {
  /** SHA-256 of the ticket. */
  tokenHash: text('token_hash').primaryKey(),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  createdAt: createdAt(),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
})
