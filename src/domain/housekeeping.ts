/**
 * Removes rows whose purpose has ended: Idempotency-Key records past their
 * 24 h, and socket tickets an hour after they expired. Every node may run it;
 * the deletes are idempotent, and the further sweeps claim what they change.
 */
import { lt, sql } from 'drizzle-orm'
import type { Db } from '../adapters/db/client'
import { idempotencyRecords, wsTickets } from '../adapters/db/schema'
import type { Logger } from '../lib/logger'

export const HOUSEKEEPING_EVERY_MS = 10 * 60_000

/** One sweep; returns how many rows of each kind went. */
export async function sweepExpired(db: Db): Promise<{ idempotency: number; tickets: number }> {
  const idem = await db.delete(idempotencyRecords).where(lt(idempotencyRecords.expiresAt, sql`now()`)).returning({ key: idempotencyRecords.key })
  const tickets = await db
    .delete(wsTickets)
    .where(lt(wsTickets.expiresAt, sql`now() - interval '1 hour'`))
    .returning({ hash: wsTickets.tokenHash })
  return { idempotency: idem.length, tickets: tickets.length }
}

/**
 * Sweeps now and then every `everyMs`; `more` are further sweeps of other
 * areas run on the same beat (e.g. abandoned batches). Returns the stop function.
 */
export function startHousekeeping(db: Db, log: Logger, everyMs = HOUSEKEEPING_EVERY_MS, more: (() => Promise<unknown>)[] = []): () => void {
  const run = () =>
    Promise.all([
      sweepExpired(db).then((n) => (n.idempotency || n.tickets ? log.info('housekeeping swept expired rows', n) : undefined)),
      ...more.map((sweep) => sweep()),
    ]).catch((err) => log.warn('housekeeping failed', { err: err as Error }))
  const timer = setInterval(run, everyMs)
  timer.unref?.()
  void run()
  return () => clearInterval(timer)
}
