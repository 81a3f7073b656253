import { boolean, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt, id, ts, updatedAt } from './columns'

export const TIERS = ['free', 'pro', 'enterprise'] as const
export type Tier = (typeof TIERS)[number]

export const users = pgTable(
  'users',
  {
    id: id(),
    /** Lower-cased; one account per address. */
    email: text('email').notNull(),
    emailVerified: boolean('email_verified').notNull().default(false),
    name: text('name'),
    displayName: text('display_name'),
    avatarUrl: text('avatar_url'),
    language: text('language', { enum: ['en', 'ar'] }).notNull().default('en'),
    tier: text('tier', { enum: TIERS }).notNull().default('free'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Set when the account is deleted; every credential of the user stops working. */
    deletedAt: ts('deleted_at'),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email), index('users_created_idx').on(t.createdAt)],
)
export type User = typeof users.$inferSelect
