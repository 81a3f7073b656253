/**
 * Accepting jobs is bound by commits: each accepted job is a quota reservation
 * plus an insert, and PostgreSQL here commits a few thousand times a second
 * at most. So reservations that arrive together are written together: one
 * statement reserves quota for every user in the batch (the same conditional
 * upsert as for one) and inserts the jobs whose reservation succeeded. Each
 * batch holds a user at most once (ON CONFLICT may touch a row only once per
 * statement); a second reservation of the same user waits for the next batch,
 * so every user's reservations still apply one after another.
 */
import { type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { rowsOf } from '../../adapters/db/rows'
import type { NewGeneration } from './repository'

export interface Reserved {
  createdAt: Date
  /** The day's count after this reservation. */
  used: number
}

interface Pending {
  g: NewGeneration
  limit: number | null
  resolve(r: Reserved | null): void
  reject(err: unknown): void
}

export class ReservationBatcher {
  private queue: Pending[] = []
  private inFlight = 0
  private scheduled = false

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 200,
    /** Statements in flight at once; more work waits and joins the next batch. */
    private readonly maxInFlight = 4,
  ) {}

  /** Reserves one of today's generations for `g.userId` (below `limit`; null = unlimited) and inserts `g`; null when the quota is spent. */
  reserve(g: NewGeneration, limit: number | null): Promise<Reserved | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ g, limit, resolve, reject })
      this.schedule()
    })
  }

  private schedule() {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return
    this.scheduled = true
    // Whatever else arrives in this turn of the event loop joins the batch.
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }

  private flush() {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: Pending[] = []
      const rest: Pending[] = []
      const users = new Set<string>()
      for (const p of this.queue) {
        if (batch.length < this.maxBatch && !users.has(p.g.userId)) {
          users.add(p.g.userId)
          batch.push(p)
        } else rest.push(p)
      }
      this.queue = rest
      this.inFlight++
      void this.run(batch).finally(() => {
        this.inFlight--
        if (this.queue.length > 0) this.schedule()
      })
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const byId = await this.write(batch)
      for (const p of batch) p.resolve(byId.get(p.g.id) ?? null)
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err)
      // One bad row (say, a user deleted meanwhile) must not fail the others: retry them one by one.
      await Promise.all(batch.map((p) => this.write([p]).then((m) => p.resolve(m.get(p.g.id) ?? null), p.reject)))
    }
  }

  private async write(batch: Pending[]): Promise<Map<string, Reserved>> {
    const values: SQL[] = batch.map(({ g, limit }) => {
      const colors = g.customColors ? JSON.stringify(g.customColors) : null
      return sql`(${g.id}, ${g.userId}, ${g.quotaDay}, ${limit}::int, ${g.batchId}, ${g.prompt}, ${g.style}, ${g.palette}, ${colors}::jsonb,
        ${g.aspectRatio}, ${g.size}, ${g.seed}::bigint, ${g.sourceImageId}, ${g.templateId}, ${g.provider}, ${g.providerModel}, ${g.idempotencyKey})`
    })
    const rows = rowsOf<{ id: string; created_at: string | Date; used: number }>(
      await this.db.execute(sql`
        with v (id, user_id, day, lim, batch_id, prompt, style, palette, custom_colors, aspect_ratio, size, seed,
                source_image_id, template_id, provider, provider_model, idempotency_key) as (values ${sql.join(values, sql`, `)}),
        q as (
          insert into usage_counters as u (user_id, day, generations)
          select v.user_id, v.day::date, 1 from v
          on conflict (user_id, day) do update set generations = u.generations + 1
          where u.generations < coalesce((select w.lim from v w where w.user_id = u.user_id), 2147483647)
          returning u.user_id, u.generations
        ),
        ins as (
          insert into generations (id, user_id, batch_id, prompt, style, palette, custom_colors, aspect_ratio, size, seed,
            source_image_id, template_id, provider, provider_model, idempotency_key, quota_day)
          select v.id, v.user_id, v.batch_id, v.prompt, v.style, v.palette, v.custom_colors, v.aspect_ratio, v.size, v.seed,
            v.source_image_id, v.template_id, v.provider, v.provider_model, v.idempotency_key, v.day
          from v join q on q.user_id = v.user_id
          returning id, user_id, created_at
        )
        select ins.id, ins.created_at, q.generations as used from ins join q on q.user_id = ins.user_id`),
    )
    return new Map(rows.map((r) => [r.id, { createdAt: new Date(r.created_at), used: Number(r.used) }]))
  }
}
