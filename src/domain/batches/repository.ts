/**
 * Batch rows in PostgreSQL. An item's state is read from its current
 * generation, so counts are always recomputed from the jobs themselves (one
 * aggregate) rather than incremented: observing the same event twice, or
 * after a restart, cannot skew them.
 */
import { and, asc, count, desc, eq, inArray, isNull, lt, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { type Generation, batchItems, batches, generations } from '../../adapters/db/schema'
import { ACTIVE_STATUSES } from '../generations/lifecycle'
import { type Batch, type BatchCounts, type BatchItem, type BatchStatus, emptyCounts, itemState } from './view'

/**
 * An item's state: its generation's status; without one, `failed` when a
 * submission was tried (it could not be queued) and `queued` while it is
 * still waiting to be submitted. A generation deleted by its owner counts as
 * cancelled.
 */
const ITEM_STATE: SQL<string> = sql<string>`case when ${batchItems.generationId} is null
  then (case when ${batchItems.attempts} > 0 then 'failed' else 'queued' end)
  else coalesce(${generations.status}, 'cancelled') end`

const OPEN: BatchStatus[] = ['pending', 'running']

export interface NewBatch {
  id: string
  userId: string
  defaults: Record<string, unknown> | null
  idempotencyKey: string | null
  /** Effective inputs (defaults overlaid by each item), in submitted order. */
  inputs: Record<string, unknown>[]
}

export class BatchRepository {
  constructor(private readonly db: Db) {}

  /** Writes the batch (pending) and its items in one transaction; returns the items in order. */
  async create(b: NewBatch, newItemId: () => string): Promise<{ batch: Batch; items: BatchItem[] }> {
    return this.db.transaction(async (tx) => {
      const [batch] = await tx
        .insert(batches)
        .values({ id: b.id, userId: b.userId, status: 'pending', defaults: b.defaults, total: b.inputs.length, idempotencyKey: b.idempotencyKey })
        .returning()
      const items = await tx
        .insert(batchItems)
        .values(b.inputs.map((input, position) => ({ id: newItemId(), batchId: b.id, position, input })))
        .returning()
      return { batch: batch!, items: items.sort((x, y) => x.position - y.position) }
    })
  }

  async get(id: string): Promise<Batch | undefined> {
    const [row] = await this.db.select().from(batches).where(eq(batches.id, id)).limit(1)
    return row
  }

  async getOwned(userId: string, id: string): Promise<Batch | undefined> {
    const [row] = await this.db
      .select()
      .from(batches)
      .where(and(eq(batches.id, id), eq(batches.userId, userId)))
      .limit(1)
    return row
  }

  /** The user's batches, newest first. */
  async list(userId: string, page: number, limit: number): Promise<{ rows: Batch[]; total: number }> {
    const [rows, [totals]] = await Promise.all([
      this.db
        .select()
        .from(batches)
        .where(eq(batches.userId, userId))
        .orderBy(desc(batches.createdAt), desc(batches.id))
        .limit(limit)
        .offset((page - 1) * limit),
      this.db.select({ n: count() }).from(batches).where(eq(batches.userId, userId)),
    ])
    return { rows, total: Number(totals?.n ?? 0) }
  }

  /** Item counts per state for each batch, in one aggregate. */
  async counts(batchIds: string[]): Promise<Map<string, BatchCounts>> {
    const out = new Map(batchIds.map((id) => [id, emptyCounts()]))
    if (batchIds.length === 0) return out
    const rows = await this.db
      .select({ batchId: batchItems.batchId, state: ITEM_STATE, n: count() })
      .from(batchItems)
      .leftJoin(generations, eq(generations.id, batchItems.generationId))
      .where(inArray(batchItems.batchId, batchIds))
      .groupBy(batchItems.batchId, ITEM_STATE)
    for (const r of rows) {
      const c = out.get(r.batchId)
      if (c) c[itemState(r.state)] += Number(r.n)
    }
    return out
  }

  /** One page of items in submitted order. */
  async items(batchId: string, page: number, limit: number): Promise<BatchItem[]> {
    return this.db
      .select()
      .from(batchItems)
      .where(eq(batchItems.batchId, batchId))
      .orderBy(asc(batchItems.position))
      .limit(limit)
      .offset((page - 1) * limit)
  }

  /** The user's generations with these ids. */
  async generationsOf(userId: string, ids: string[]): Promise<Generation[]> {
    if (ids.length === 0) return []
    return this.db
      .select()
      .from(generations)
      .where(and(eq(generations.userId, userId), inArray(generations.id, ids)))
  }

  /** Generations of the batch's items that have not ended, in item order. */
  async activeGenerationIds(batchId: string): Promise<string[]> {
    const rows = await this.db
      .select({ id: generations.id })
      .from(batchItems)
      .innerJoin(generations, eq(generations.id, batchItems.generationId))
      .where(and(eq(batchItems.batchId, batchId), inArray(generations.status, [...ACTIVE_STATUSES])))
      .orderBy(asc(batchItems.position))
    return rows.map((r) => r.id)
  }

  /** Items whose current attempt failed or was cancelled (or could not be queued), in order. */
  async retryable(batchId: string): Promise<BatchItem[]> {
    const rows = await this.db
      .select({ item: batchItems })
      .from(batchItems)
      .leftJoin(generations, eq(generations.id, batchItems.generationId))
      .where(and(eq(batchItems.batchId, batchId), inArray(ITEM_STATE, ['failed', 'cancelled'])))
      .orderBy(asc(batchItems.position))
    return rows.map((r) => r.item)
  }

  /** Records one submission of an item: its new generation, or null when it could not be queued. */
  async recordAttempt(itemId: string, generationId: string | null): Promise<void> {
    await this.db
      .update(batchItems)
      .set({ generationId, attempts: sql`${batchItems.attempts} + 1` })
      .where(eq(batchItems.id, itemId))
  }

  /** Stores the ended counts on the batch row. */
  async writeCounts(id: string, c: BatchCounts): Promise<Batch | undefined> {
    const [row] = await this.db
      .update(batches)
      .set({ completed: c.completed, failed: c.failed, cancelled: c.cancelled, updatedAt: new Date() })
      .where(eq(batches.id, id))
      .returning()
    return row
  }

  /** Moves an open batch to `to`; undefined when it had already ended (only one caller wins). */
  async close(id: string, to: 'completed' | 'failed' | 'cancelled'): Promise<Batch | undefined> {
    const now = new Date()
    const [row] = await this.db
      .update(batches)
      .set({ status: to, finishedAt: now, updatedAt: now })
      .where(and(eq(batches.id, id), inArray(batches.status, OPEN)))
      .returning()
    return row
  }

  /**
   * Takes over a batch left `pending` since before `cutoff` (its accepting node
   * died while queuing the items): it moves to running, and the items never
   * queued count as failed. Undefined when it is not stalled, or another node won.
   */
  async claimStalled(id: string, cutoff: Date): Promise<Batch | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(batches)
        .set({ status: 'running', updatedAt: new Date() })
        .where(and(eq(batches.id, id), eq(batches.status, 'pending'), lt(batches.createdAt, cutoff)))
        .returning()
      if (!row) return undefined
      await tx
        .update(batchItems)
        .set({ attempts: sql`${batchItems.attempts} + 1` })
        .where(and(eq(batchItems.batchId, id), isNull(batchItems.generationId), eq(batchItems.attempts, 0)))
      return row
    })
  }

  /** Ids of batches still `pending` that were created before `cutoff`. */
  async stalledPending(cutoff: Date): Promise<{ id: string; userId: string }[]> {
    return this.db
      .select({ id: batches.id, userId: batches.userId })
      .from(batches)
      .where(and(eq(batches.status, 'pending'), lt(batches.createdAt, cutoff)))
      .limit(100)
  }

  /** Marks a batch running: after acceptance (from pending) or on retry (from any status). */
  async markRunning(id: string): Promise<Batch | undefined> {
    const [row] = await this.db
      .update(batches)
      .set({ status: 'running', finishedAt: null, updatedAt: new Date() })
      .where(eq(batches.id, id))
      .returning()
    return row
  }
}
