/**
 * Templates: named generation input defaults, private to their owner or shared
 * with everyone. Anyone may read and use a public template; only its owner may
 * change or delete it. Someone else's private template is indistinguishable
 * from a missing one.
 */
import { type Static, Type as t } from '@sinclair/typebox'
import { and, count, desc, eq, ilike, or, type SQL } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { templates, users } from '../../adapters/db/schema'
import { notFound } from '../../lib/errors'
import { isId, newId } from '../../lib/ids'
import { type CatalogueLookups, TemplateConfig, type ValidTemplate, validateTemplate } from './config'

export const TemplateView = t.Object(
  {
    id: t.String(),
    name: t.String(),
    description: t.Union([t.String(), t.Null()]),
    isPublic: t.Boolean(),
    config: TemplateConfig,
    owner: t.Object({ id: t.String(), displayName: t.Union([t.String(), t.Null()]) }),
    isOwn: t.Boolean({ description: 'true when the caller owns it (and may change or delete it)' }),
    createdAt: t.String({ format: 'date-time' }),
    updatedAt: t.String({ format: 'date-time' }),
  },
  { title: 'Template' },
)
export type TemplateView = Static<typeof TemplateView>

export const TEMPLATE_SCOPES = ['all', 'own', 'public'] as const
export type TemplateScope = (typeof TEMPLATE_SCOPES)[number]

export interface TemplateListQuery {
  page: number
  limit: number
  scope: TemplateScope
  /** Case-insensitive substring of the name. */
  search?: string
}

const columns = {
  id: templates.id,
  userId: templates.userId,
  name: templates.name,
  description: templates.description,
  isPublic: templates.isPublic,
  config: templates.config,
  createdAt: templates.createdAt,
  updatedAt: templates.updatedAt,
  ownerName: users.displayName,
  ownerFallbackName: users.name,
}
interface Row {
  id: string
  userId: string
  name: string
  description: string | null
  isPublic: boolean
  config: Record<string, unknown>
  createdAt: Date
  updatedAt: Date
  ownerName: string | null
  ownerFallbackName: string | null
}

function toView(row: Row, userId: string): TemplateView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    isPublic: row.isPublic,
    config: row.config as TemplateConfig,
    owner: { id: row.userId, displayName: row.ownerName ?? row.ownerFallbackName ?? null },
    isOwn: row.userId === userId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

/** `%` and `_` are wildcards in LIKE; a name search matches them literally. */
const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

export class TemplateService {
  constructor(
    private readonly db: Db,
    private readonly catalogue: CatalogueLookups,
  ) {}

  /** Validates a raw template input (400 VALIDATION_ERROR with field issues); see `validateTemplate`. */
  validate(raw: unknown): Promise<ValidTemplate> {
    return validateTemplate(raw, this.catalogue)
  }

  /** A page of the templates the user can see, newest first, with the total. */
  async list(userId: string, q: TemplateListQuery): Promise<{ items: TemplateView[]; total: number }> {
    const visible: SQL =
      q.scope === 'own'
        ? eq(templates.userId, userId)
        : q.scope === 'public'
          ? eq(templates.isPublic, true)
          : or(eq(templates.userId, userId), eq(templates.isPublic, true))!
    const search = q.search?.trim()
    const where = search ? and(visible, ilike(templates.name, likePattern(search))) : visible
    const [rows, totals] = await Promise.all([
      this.db
        .select(columns)
        .from(templates)
        .innerJoin(users, eq(users.id, templates.userId))
        .where(where)
        .orderBy(desc(templates.createdAt), desc(templates.id))
        .limit(q.limit)
        .offset((q.page - 1) * q.limit),
      this.db.select({ n: count() }).from(templates).where(where),
    ])
    return { items: rows.map((r) => toView(r, userId)), total: Number(totals[0]?.n ?? 0) }
  }

  /** The user's own template or a public one; anything else is 404. */
  async get(userId: string, id: string): Promise<TemplateView> {
    if (!isId('template', id)) throw notFound('template')
    const [row] = await this.db
      .select(columns)
      .from(templates)
      .innerJoin(users, eq(users.id, templates.userId))
      .where(and(eq(templates.id, id), or(eq(templates.userId, userId), eq(templates.isPublic, true))))
      .limit(1)
    if (!row) throw notFound('template')
    return toView(row, userId)
  }

  /** Validates and stores a new template of the user. */
  async create(userId: string, raw: unknown): Promise<TemplateView> {
    const valid = await this.validate(raw)
    const [row] = await this.db
      .insert(templates)
      .values({ id: newId('template'), userId, ...valid })
      .returning({ id: templates.id })
    return this.get(userId, row!.id)
  }

  /**
   * Stores already validated templates under the given ids, skipping ids that
   * exist (re-imports). Returns the ids actually inserted.
   */
  async insertMany(userId: string, items: { id: string; template: ValidTemplate; createdAt?: Date }[]): Promise<string[]> {
    if (items.length === 0) return []
    const rows = await this.db
      .insert(templates)
      .values(items.map((i) => ({ id: i.id, userId, ...i.template, ...(i.createdAt ? { createdAt: i.createdAt, updatedAt: i.createdAt } : {}) })))
      .onConflictDoNothing({ target: templates.id })
      .returning({ id: templates.id })
    return rows.map((r) => r.id)
  }

  /** Replaces name, description, visibility and config of the user's own template. */
  async update(userId: string, id: string, raw: unknown): Promise<TemplateView> {
    if (!isId('template', id)) throw notFound('template')
    const valid = await this.validate(raw)
    const rows = await this.db
      .update(templates)
      .set({ ...valid, updatedAt: new Date() })
      .where(and(eq(templates.id, id), eq(templates.userId, userId)))
      .returning({ id: templates.id })
    if (rows.length === 0) throw notFound('template')
    return this.get(userId, id)
  }

  /** Deletes the user's own template. Generations made from it keep its id as history. */
  async delete(userId: string, id: string): Promise<void> {
    if (!isId('template', id)) throw notFound('template')
    const rows = await this.db
      .delete(templates)
      .where(and(eq(templates.id, id), eq(templates.userId, userId)))
      .returning({ id: templates.id })
    if (rows.length === 0) throw notFound('template')
  }
}
