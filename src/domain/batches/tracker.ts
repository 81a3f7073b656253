/**
 * Follows batches from their jobs' events. The session actor's observer hands
 * every terminal `generation.*` event that carries a `batchId` here; the
 * tracker recomputes the batch's counts from the generations themselves,
 * stores them, emits `batch.progress` when they moved, and ends the batch
 * (`batch.completed`, or `batch.failed` when every item failed) once every
 * item has ended. Work on one batch runs one step at a time on this node, so
 * its events go out in order and a refresh never overtakes a submission.
 */
import type { Logger } from '../../lib/logger'
import type { BatchRepository } from './repository'
import { type Batch, type BatchCounts, type BatchView, endedCount, toBatchView } from './view'

/** Appends a batch event to the user's log and hands it to every actor observer (outgoing webhooks). */
export type BatchEmit = (userId: string, type: string, data: Record<string, unknown>) => void

const ENDING_EVENTS = new Set(['generation.completed', 'generation.failed', 'generation.cancelled'])
const OPEN = new Set<Batch['status']>(['pending', 'running'])

export class BatchTracker {
  private readonly chains = new Map<string, Promise<unknown>>()

  constructor(
    private readonly repo: BatchRepository,
    private readonly emit: BatchEmit,
    private readonly log: Logger,
  ) {}

  /**
   * The actor event observer: never throws, never waits. Anything but a
   * job's ending (its own `batch.*` events included) is ignored.
   */
  readonly observe = (userId: string, type: string, data: Record<string, unknown>): void => {
    if (!ENDING_EVENTS.has(type)) return
    const batchId = data.batchId
    if (typeof batchId !== 'string') return
    this.serial(batchId, () => this.refresh(userId, batchId)).catch((err) =>
      this.log.warn('batch refresh failed', { userId, batchId, err: err as Error }),
    )
  }

  /** Runs `work` after every earlier step of the same batch on this node. */
  serial<T>(batchId: string, work: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(batchId) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(work)
    const tail = next.catch(() => {})
    this.chains.set(batchId, tail)
    void tail.then(() => {
      if (this.chains.get(batchId) === tail) this.chains.delete(batchId)
    })
    return next
  }

  /**
   * Recomputes counts and stores them; emits `batch.progress` when the ended
   * counts moved, and ends an open batch whose items have all ended. Call it
   * inside `serial`. Returns the view, or undefined for a missing batch.
   */
  async refresh(userId: string, batchId: string): Promise<BatchView | undefined> {
    const now = await this.recount(userId, batchId)
    if (!now) return undefined
    let { row } = now
    const { counts } = now
    // A pending batch is still being submitted: it ends once acceptance marks it running.
    if (row.status === 'running' && endedCount(counts) >= row.total) {
      const closed = await this.repo.close(batchId, counts.failed === row.total ? 'failed' : 'completed')
      if (closed) {
        row = closed
        this.announceEnd(closed, counts)
      }
    }
    return toBatchView(row, counts)
  }

  /** Counts from the generations, stored on the row; `batch.progress` when the ended counts moved. */
  async recount(userId: string, batchId: string): Promise<{ row: Batch; counts: BatchCounts } | undefined> {
    const before = await this.repo.get(batchId)
    if (!before || before.userId !== userId) return undefined
    const counts = (await this.repo.counts([batchId])).get(batchId)!
    const moved = counts.completed !== before.completed || counts.failed !== before.failed || counts.cancelled !== before.cancelled
    if (!moved) return { row: before, counts }
    const row = (await this.repo.writeCounts(batchId, counts)) ?? before
    this.emit(userId, 'batch.progress', toBatchView(row, counts))
    return { row, counts }
  }

  /** `batch.completed` for a completed or cancelled batch, `batch.failed` when every item failed. */
  announceEnd(row: Batch, counts: BatchCounts) {
    if (OPEN.has(row.status)) return
    this.emit(row.userId, row.status === 'failed' ? 'batch.failed' : 'batch.completed', toBatchView(row, counts))
  }
}
