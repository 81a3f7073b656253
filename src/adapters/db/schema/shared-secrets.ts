import { pgTable, text } from 'drizzle-orm/pg-core'
import { createdAt } from './columns'

/**
 * Secrets the nodes of one database share when they were not given in the
 * environment (outside production): the first node to start stores its
 * generated value, and every other node uses that one, so a token or signed
 * URL made by one node is good on all of them.
 */
export const sharedSecrets = pgTable('shared_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
})
