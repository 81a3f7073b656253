import { bigint, pgTable, text } from 'drizzle-orm/pg-core'
import { updatedAt } from './columns'

/** Fencing epochs for session actors: bumped on every takeover; job writes carry the epoch they hold. */
export const actorEpochs = pgTable('actor_epochs', {
  userId: text('user_id').primaryKey(),
  epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
  /** The node that took the latest epoch. */
  node: text('node').notNull(),
  updatedAt: updatedAt(),
})
