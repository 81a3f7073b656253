/**
 * How a batch and its items are shown to their owner (REST, `batch.*` socket
 * events and webhooks). Counts are per item, by the state of the item's
 * current generation (a retry points an item at a new one).
 */
import { type Static, Type as t } from '@sinclair/typebox'
import { BATCH_STATUSES, type batchItems, type batches } from '../../adapters/db/schema/batches'
import { GenerationInput, literals } from '../generations/input'
import { GenerationView } from '../generations/view'

export type Batch = typeof batches.$inferSelect
export type BatchItem = typeof batchItems.$inferSelect
export type BatchStatus = Batch['status']

/** Where an item stands: its generation's status folded into five buckets. */
export type ItemState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'
export type BatchCounts = Record<ItemState, number>

const Count = t.Integer({ minimum: 0 })

export const BatchView = t.Object(
  {
    id: t.String(),
    status: literals(BATCH_STATUSES, {
      description: 'pending while items are being queued; running; then completed (every item ended), cancelled (by you) or failed (every item failed)',
    }),
    total: Count,
    counts: t.Object({ queued: Count, running: Count, completed: Count, failed: Count, cancelled: Count }),
    progress: t.Integer({ minimum: 0, maximum: 100, description: 'share of items that have ended, in percent' }),
    createdAt: t.String({ format: 'date-time' }),
    updatedAt: t.String({ format: 'date-time' }),
    finishedAt: t.Union([t.String({ format: 'date-time' }), t.Null()]),
  },
  { title: 'Batch' },
)
export type BatchView = Static<typeof BatchView>

export const BatchItemResult = t.Object(
  {
    position: t.Integer({ minimum: 0, description: 'place in the submitted list, from 0' }),
    input: GenerationInput,
    attempts: t.Integer({ minimum: 0, description: 'submissions so far (a retry adds one); with no generation, the last one could not be queued' }),
    generation: t.Union([GenerationView, t.Null()]),
  },
  { title: 'BatchItemResult' },
)
export type BatchItemResult = Static<typeof BatchItemResult>

export const emptyCounts = (): BatchCounts => ({ queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 })

/** The bucket of an item state as the database reports it (a generation status, or `queued`/`failed` without one). */
export function itemState(status: string): ItemState {
  switch (status) {
    case 'completed':
    case 'failed':
    case 'cancelled':
    case 'queued':
      return status
    default:
      return 'running'
  }
}

export const endedCount = (c: BatchCounts) => c.completed + c.failed + c.cancelled

export function toBatchView(row: Batch, counts: BatchCounts): BatchView {
  return {
    id: row.id,
    status: row.status,
    total: row.total,
    counts,
    progress: row.total > 0 ? Math.floor((endedCount(counts) * 100) / row.total) : 100,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  }
}
