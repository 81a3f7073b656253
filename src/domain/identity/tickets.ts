/**
 * One-time socket tickets for clients that cannot send cookies or headers on a
 * WebSocket upgrade. Stored hashed in PostgreSQL so any node can redeem one,
 * and redeemed by a single conditional update so it works exactly once.
 */
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { wsTickets } from '../../adapters/db/schema'
import { randomSecret, sha256hex } from './crypto'
import type { UserStore } from './users'

export const TICKET_TTL_MS = 30_000
const TICKET_PREFIX = 'kiln_wst_'
/** Spent and expired rows are swept this long after expiry (kept a little for debugging). */
const SWEEP_AFTER_MS = 3600_000

export class TicketStore {
  private lastSweep = 0

  constructor(
    private readonly db: Db,
    private readonly users: UserStore,
  ) {}

  /** Issues a ticket for the user, valid for 30 s and one upgrade. */
  async issue(userId: string): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = TICKET_PREFIX + randomSecret(32)
    const expiresAt = new Date(Date.now() + TICKET_TTL_MS)
    await this.db.insert(wsTickets).values({ tokenHash: sha256hex(ticket), userId, expiresAt })
    this.sweep()
    return { ticket, expiresAt }
  }

  /** The ticket's user id, consuming it; undefined when unknown, used, expired, or its user is deleted. */
  redeem = async (ticket: string): Promise<string | undefined> => {
    if (!ticket.startsWith(TICKET_PREFIX) || ticket.length > 200) return undefined
    const [row] = await this.db
      .update(wsTickets)
      .set({ usedAt: new Date() })
      .where(and(eq(wsTickets.tokenHash, sha256hex(ticket)), isNull(wsTickets.usedAt), gt(wsTickets.expiresAt, sql`now()`)))
      .returning({ userId: wsTickets.userId })
    if (!row) return undefined
    return (await this.users.get(row.userId)) ? row.userId : undefined
  }

  /** Deletes long-dead tickets, at most once a minute per node; never fails the caller. */
  private sweep() {
    const now = Date.now()
    if (now - this.lastSweep < 60_000) return
    this.lastSweep = now
    void this.db
      .delete(wsTickets)
      .where(lt(wsTickets.expiresAt, new Date(now - SWEEP_AFTER_MS)))
      .catch(() => {})
  }
}
