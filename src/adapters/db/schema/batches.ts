import { index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core'
import { createdAt, id, ts, updatedAt } from './columns'
import { users } from './users'

export const BATCH_STATUSES = ['pending', 'running', 'completed', 'cancelled', 'failed'] as const

export const batches = pgTable(
  'batches',
  {
    id: id(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    status: text('status', { enum: BATCH_STATUSES }).notNull().default('pending'),
    /** Input defaults applied to every item before its own fields. */
    defaults: jsonb('defaults').$type<Record<string, unknown>>(),
    total: integer('total').notNull(),
    completed: integer('completed').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    cancelled: integer('cancelled').notNull().default(0),
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('batches_user_created_idx').on(t.userId, t.createdAt)],
)

export const batchItems = pgTable(
  'batch_items',
  {
    id: id(),
    batchId: text('batch_id').notNull().references(() => batches.id, { onDelete: 'cascade' }),
    /** Position in the submitted list. */
    position: integer('position').notNull(),
    input: jsonb('input').$type<Record<string, unknown>>().notNull(),
    /** The current (latest) generation of this item; a retry points it at a new one. */
    generationId: text('generation_id'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index('batch_items_batch_idx').on(t.batchId, t.position)],
)
