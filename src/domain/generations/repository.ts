/**
 * Generation rows in PostgreSQL. The hot reads are prepared statements; the
 * accept path is a single statement that reserves quota and inserts the job.
 */
import { and, asc, count, desc, eq, getTableColumns, gt, inArray, lt, or, type SQL, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { type Generation, type Tier, actorEpochs, generations, templates, uploads, users } from '../../adapters/db/schema'
import { ReservationBatcher, type Reserved } from './accept-batch'
import { ACTIVE_STATUSES, type GenerationStatus } from './lifecycle'

/** The columns a new job is inserted with. */
export interface NewGeneration {
  id: string
  userId: string
  batchId: string | null
  prompt: string
  style: string
  palette: string | null
  customColors: string[] | null
  aspectRatio: string
  size: string
  seed: number
  sourceImageId: string | null
  templateId: string | null
  provider: string
  providerModel: string
  idempotencyKey: string | null
  quotaDay: string
}

export interface ListQuery {
  page: number
  limit: number
  search?: string
  style?: string
  status?: GenerationStatus
  liked?: boolean
  sort: 'newest' | 'oldest'
  /** Keyset position from a previous page's `nextCursor` (infinite scroll). */
  after?: { createdAt: Date; id: string }
}

const activeStatuses = ACTIVE_STATUSES as GenerationStatus[]

/** Every column but the search vector, which only the database needs. */
const { searchVector: _searchVector, ...listColumns } = getTableColumns(generations)

export class GenerationRepository {
  private readonly byOwner
  private readonly byId
  private readonly activeOfUser
  private readonly batcher: ReservationBatcher
  private readonly pageNewest
  private readonly pageOldest
  private readonly countOfUser

  constructor(private readonly db: Db) {
    this.batcher = new ReservationBatcher(db)
    this.byOwner = db
      .select()
      .from(generations)
      .where(and(eq(generations.id, sql.placeholder('id')), eq(generations.userId, sql.placeholder('userId'))))
      .limit(1)
      .prepare('generation_by_owner')
    this.byId = db.select().from(generations).where(eq(generations.id, sql.placeholder('id'))).limit(1).prepare('generation_by_id')
    this.activeOfUser = db
      .select()
      .from(generations)
      .where(and(eq(generations.userId, sql.placeholder('userId')), inArray(generations.status, activeStatuses)))
      .orderBy(asc(generations.createdAt), asc(generations.id))
      .prepare('generations_active_of_user')
    // The history page without filters is the hot one: prepared, newest and oldest first.
    const page = (order: SQL[], name: string) =>
      db
        .select(listColumns)
        .from(generations)
        .where(eq(generations.userId, sql.placeholder('userId')))
        .orderBy(...order)
        .limit(sql.placeholder('limit'))
        .offset(sql.placeholder('offset'))
        .prepare(name)
    this.pageNewest = page([desc(generations.createdAt), desc(generations.id)], 'generations_page_newest')
    this.pageOldest = page([asc(generations.createdAt), asc(generations.id)], 'generations_page_oldest')
    this.countOfUser = db
      .select({ n: count() })
      .from(generations)
      .where(eq(generations.userId, sql.placeholder('userId')))
      .prepare('generations_count_of_user')
  }

  /**
   * Reserves one generation of today's quota and inserts the job, atomically:
   * the counter upsert only increments below `limit`, and the insert selects
   * from it, so when the quota is spent nothing is written and null comes back.
   * Concurrent calls share statements (see ReservationBatcher).
   */
  reserveAndInsert(g: NewGeneration, limit: number | null): Promise<Reserved | null> {
    return this.batcher.reserve(g, limit)
  }

  async getOwned(userId: string, id: string): Promise<Generation | undefined> {
    return (await this.byOwner.execute({ id, userId }))[0]
  }

  async get(id: string): Promise<Generation | undefined> {
    return (await this.byId.execute({ id }))[0]
  }

  /** The user's non-terminal jobs, oldest first (the mailbox order). */
  async activeOf(userId: string): Promise<Generation[]> {
    return this.activeOfUser.execute({ userId })
  }

  /** Users that have non-terminal jobs (start-up recovery). */
  async usersWithActiveJobs(): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ userId: generations.userId })
      .from(generations)
      .where(inArray(generations.status, activeStatuses))
    return rows.map((r) => r.userId)
  }

  /**
   * Writes a change to a job that is still active (optionally in one given
   * status). Returns the row, or undefined when the job had already ended or
   * moved on: a late writer never overwrites a terminal state.
   */
  async updateActive(id: string, patch: Partial<Generation>, onlyIn?: GenerationStatus[]): Promise<Generation | undefined> {
    const fence = this.fence
    const rows = await this.db
      .update(generations)
      .set({ ...patch, updatedAt: new Date() })
      .where(
        and(
          eq(generations.id, id),
          inArray(generations.status, onlyIn ?? activeStatuses),
          fence ? sql`exists (select 1 from ${actorEpochs} where ${actorEpochs.userId} = ${fence.userId} and ${actorEpochs.epoch} = ${fence.epoch})` : undefined,
        ),
      )
      .returning()
    return rows[0]
  }

  /** Job-state writes of an actor that took its user at `epoch` (cluster mode); see withFence. */
  private fence?: { userId: string; epoch: number }

  /**
   * The same repository whose job-state writes (`updateActive`) apply only
   * while the user's ownership epoch is still `epoch`: once another node has
   * taken the user over, a stalled former owner's late writes change nothing
   * (and read as "the job moved on", which stops its run).
   */
  withFence(userId: string, epoch: number): GenerationRepository {
    const fenced = Object.create(this) as GenerationRepository
    fenced.fence = { userId, epoch }
    return fenced
  }

  async setLiked(userId: string, id: string, isLiked: boolean): Promise<Generation | undefined> {
    const rows = await this.db
      .update(generations)
      .set({ isLiked })
      .where(and(eq(generations.id, id), eq(generations.userId, userId)))
      .returning()
    return rows[0]
  }

  async countDownload(userId: string, id: string): Promise<Generation | undefined> {
    const rows = await this.db
      .update(generations)
      .set({ downloadCount: sql`${generations.downloadCount} + 1` })
      .where(and(eq(generations.id, id), eq(generations.userId, userId)))
      .returning()
    return rows[0]
  }

  async delete(userId: string, id: string): Promise<Generation | undefined> {
    const rows = await this.db
      .delete(generations)
      .where(and(eq(generations.id, id), eq(generations.userId, userId)))
      .returning()
    return rows[0]
  }

  /** One page of a user's history with its total. */
  async list(userId: string, q: ListQuery): Promise<{ rows: Generation[]; total: number }> {
    if (!q.after && !q.search?.trim() && !q.style && !q.status && q.liked === undefined) {
      const pageQuery = q.sort === 'newest' ? this.pageNewest : this.pageOldest
      const [rows, totals] = await Promise.all([
        pageQuery.execute({ userId, limit: q.limit, offset: (q.page - 1) * q.limit }),
        this.countOfUser.execute({ userId }),
      ])
      return { rows: rows as Generation[], total: Number(totals[0]?.n ?? 0) }
    }
    const filters: SQL[] = [eq(generations.userId, userId)]
    if (q.search?.trim()) filters.push(sql`${generations.searchVector} @@ plainto_tsquery('simple', ${q.search.trim()})`)
    if (q.style) filters.push(eq(generations.style, q.style))
    if (q.status) filters.push(eq(generations.status, q.status))
    if (q.liked !== undefined) filters.push(eq(generations.isLiked, q.liked))
    const where = and(...filters)
    const newest = q.sort === 'newest'
    let pageWhere = where
    if (q.after) {
      const { createdAt, id } = q.after
      const before = newest
        ? or(lt(generations.createdAt, createdAt), and(eq(generations.createdAt, createdAt), lt(generations.id, id)))
        : or(gt(generations.createdAt, createdAt), and(eq(generations.createdAt, createdAt), gt(generations.id, id)))
      pageWhere = and(where, before)
    }
    const order = newest ? [desc(generations.createdAt), desc(generations.id)] : [asc(generations.createdAt), asc(generations.id)]
    const [rows, totals] = await Promise.all([
      this.db
        .select(listColumns)
        .from(generations)
        .where(pageWhere)
        .orderBy(...order)
        .limit(q.limit)
        .offset(q.after ? 0 : (q.page - 1) * q.limit),
      this.db.select({ n: count() }).from(generations).where(where),
    ])
    return { rows: rows as Generation[], total: Number(totals[0]?.n ?? 0) }
  }

  /** Current tiers of the given users (recovery activates their actors with the right limits). */
  async tiersOf(userIds: string[]): Promise<{ id: string; tier: Tier }[]> {
    if (userIds.length === 0) return []
    return this.db.select({ id: users.id, tier: users.tier }).from(users).where(inArray(users.id, userIds))
  }

  /** The user's own template, or a public one. */
  async templateFor(userId: string, id: string): Promise<{ config: Record<string, unknown> } | undefined> {
    const rows = await this.db
      .select({ config: templates.config })
      .from(templates)
      .where(and(eq(templates.id, id), or(eq(templates.userId, userId), eq(templates.isPublic, true))))
      .limit(1)
    return rows[0]
  }

  /** The user's own upload (someone else's is indistinguishable from a missing one). */
  async uploadOf(userId: string, id: string): Promise<{ id: string; storageKey: string } | undefined> {
    const rows = await this.db
      .select({ id: uploads.id, storageKey: uploads.storageKey })
      .from(uploads)
      .where(and(eq(uploads.id, id), eq(uploads.userId, userId)))
      .limit(1)
    return rows[0]
  }
}
