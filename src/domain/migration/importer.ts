/**
 * Imports a v1.x export into a user's account: templates through the template
 * rules, history as finished generation rows (no job, no quota, no image).
 * New ids are derived from the user and the export's own ids, and inserts skip
 * ids that exist, so importing the same export twice adds nothing.
 */
import { createHash } from 'node:crypto'
import { Value } from '@sinclair/typebox/value'
import type { Db } from '../../adapters/db/client'
import { generations } from '../../adapters/db/schema'
import { AppError } from '../../lib/errors'
import { ID_PREFIX } from '../../lib/ids'
import { ASPECT_ALIASES, type AspectRatio } from '../generations/input'
import type { CatalogueLookups, FieldIssue, ValidTemplate } from '../templates/config'
import type { TemplateService } from '../templates/service'
import { ExportedGeneration, ExportedTemplate } from './format'

export interface ItemError {
  /** Position of the item in its list. */
  index: number
  /** The export's id of the item, when it had one. */
  id?: string
  message: string
  issues?: FieldIssue[]
}

export interface ImportCounts {
  imported: number
  skipped: number
  errors: ItemError[]
}

export interface ImportReport {
  templates: ImportCounts
  generations: ImportCounts
}

export interface ExportDocument {
  version: string
  templates?: unknown[]
  generations?: unknown[]
}

/** Rows per insert statement. */
const CHUNK = 200
/** A history entry may not claim to be from the future (beyond clock skew). */
const FUTURE_SKEW_MS = 5 * 60_000

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'

/** Sorted-key JSON, so that the same content always hashes the same. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

/**
 * The id an exported item gets in this account: a hash of the user and the
 * export's id (or, without one, the item's content), shaped like Kiln's ids.
 */
export function importedId(kind: 'template' | 'generation', userId: string, item: Record<string, unknown>): string {
  const source = item.id !== undefined ? `id:${String(item.id)}` : `content:${stableJson(item)}`
  const digest = createHash('sha256').update(`${kind}\n${userId}\n${source}`).digest()
  let tail = ''
  for (const b of digest.subarray(0, 24)) tail += ALPHABET[b % 36]
  return `${ID_PREFIX[kind]}_${tail}`
}

/** Exports write absent values as null; treat them as missing. */
const withoutNulls = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null))

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

const fieldOf = (path: string) => path.replace(/^\//, '').replace(/\//g, '.') || '(root)'

function shapeErrors(schema: Parameters<typeof Value.Errors>[0], value: unknown): FieldIssue[] {
  const issues: FieldIssue[] = []
  for (const e of Value.Errors(schema, value)) {
    issues.push({ field: fieldOf(e.path), message: e.message })
    if (issues.length >= 10) break
  }
  return issues
}

const itemError = (index: number, item: unknown, issues: FieldIssue[]): ItemError => ({
  index,
  ...(isRecord(item) && item.id !== undefined && item.id !== null ? { id: String(item.id) } : {}),
  message: issues[0] ? `${issues[0].field}: ${issues[0].message}` : 'invalid item',
  issues,
})

type NewRow = typeof generations.$inferInsert

export class MigrationImporter {
  constructor(
    private readonly db: Db,
    private readonly templates: TemplateService,
    private readonly catalogue: CatalogueLookups,
  ) {}

  /** Imports what it can of `doc` for the user and reports, per list, what was imported, skipped and refused. */
  async import(userId: string, doc: ExportDocument): Promise<ImportReport> {
    if (!/^1\./.test(doc.version))
      throw new AppError('VALIDATION_ERROR', 'only v1.x exports can be imported', {
        in: 'body',
        issues: [{ field: 'version', message: 'must be 1.x' }],
      })
    return {
      templates: await this.importTemplates(userId, doc.templates ?? []),
      generations: await this.importGenerations(userId, doc.generations ?? []),
    }
  }

  private async importTemplates(userId: string, items: unknown[]): Promise<ImportCounts> {
    const counts: ImportCounts = { imported: 0, skipped: 0, errors: [] }
    const rows = new Map<string, { id: string; template: ValidTemplate; createdAt?: Date }>()
    for (const [index, raw] of items.entries()) {
      const item = isRecord(raw) ? withoutNulls(raw) : raw
      const shape = shapeErrors(ExportedTemplate, item)
      if (shape.length > 0 || !isRecord(item)) {
        counts.errors.push(itemError(index, raw, shape.length ? shape : [{ field: '(root)', message: 'must be an object' }]))
        continue
      }
      const t = item as ExportedTemplate
      if (t.createdAt !== undefined && Number.isNaN(Date.parse(t.createdAt))) {
        counts.errors.push(itemError(index, raw, [{ field: 'createdAt', message: 'not a date-time' }]))
        continue
      }
      let template: ValidTemplate
      try {
        template = await this.templates.validate({
          name: t.name,
          config: t.config,
          ...(t.description !== undefined ? { description: t.description } : {}),
          ...(t.isPublic !== undefined ? { isPublic: t.isPublic } : {}),
        })
      } catch (err) {
        if (!(err instanceof AppError)) throw err
        const issues = (err.details as { issues?: FieldIssue[] } | undefined)?.issues ?? [{ field: '(root)', message: err.message }]
        counts.errors.push(itemError(index, raw, issues))
        continue
      }
      const id = importedId('template', userId, item)
      if (rows.has(id)) {
        counts.skipped++
        continue
      }
      rows.set(id, { id, template, ...(t.createdAt ? { createdAt: pastDate(t.createdAt) } : {}) })
    }
    const all = [...rows.values()]
    for (let i = 0; i < all.length; i += CHUNK) {
      const chunk = all.slice(i, i + CHUNK)
      const inserted = await this.templates.insertMany(userId, chunk)
      counts.imported += inserted.length
      counts.skipped += chunk.length - inserted.length
    }
    return counts
  }

  private async importGenerations(userId: string, items: unknown[]): Promise<ImportCounts> {
    const counts: ImportCounts = { imported: 0, skipped: 0, errors: [] }
    const rows = new Map<string, NewRow>()
    for (const [index, raw] of items.entries()) {
      const item = isRecord(raw) ? withoutNulls(raw) : raw
      const shape = shapeErrors(ExportedGeneration, item)
      if (shape.length > 0 || !isRecord(item)) {
        counts.errors.push(itemError(index, raw, shape.length ? shape : [{ field: '(root)', message: 'must be an object' }]))
        continue
      }
      const g = item as ExportedGeneration
      const issues = await this.generationIssues(g)
      if (issues.length > 0) {
        counts.errors.push(itemError(index, raw, issues))
        continue
      }
      const id = importedId('generation', userId, item)
      if (rows.has(id)) {
        counts.skipped++
        continue
      }
      rows.set(id, toRow(id, userId, g))
    }
    const all = [...rows.values()]
    for (let i = 0; i < all.length; i += CHUNK) {
      const chunk = all.slice(i, i + CHUNK)
      const inserted = await this.db.insert(generations).values(chunk).onConflictDoNothing({ target: generations.id }).returning({ id: generations.id })
      counts.imported += inserted.length
      counts.skipped += chunk.length - inserted.length
    }
    return counts
  }

  /** What the schema cannot say about a history entry: catalogue ids, exclusive fields, sane times. */
  private async generationIssues(g: ExportedGeneration): Promise<FieldIssue[]> {
    const issues: FieldIssue[] = []
    const prompt = (g.prompt ?? g.topic ?? '').trim()
    if (!prompt) issues.push({ field: 'prompt', message: 'prompt is required (1–2000 characters)' })
    if (g.prompt !== undefined && g.topic !== undefined && g.prompt !== g.topic)
      issues.push({ field: 'topic', message: 'give either prompt or topic, not both' })
    if (!(await this.catalogue.getStyle(g.style))) issues.push({ field: 'style', message: `unknown style "${g.style}"` })
    if (g.palette !== undefined && !(await this.catalogue.getPalette(g.palette))) issues.push({ field: 'palette', message: `unknown palette "${g.palette}"` })
    if (g.palette !== undefined && g.customColors !== undefined)
      issues.push({ field: 'customColors', message: 'give either palette or customColors, not both' })
    const created = Date.parse(g.createdAt)
    if (Number.isNaN(created)) issues.push({ field: 'createdAt', message: 'not a date-time' })
    else if (created > Date.now() + FUTURE_SKEW_MS) issues.push({ field: 'createdAt', message: 'must not be in the future' })
    const completed = g.completedAt === undefined ? created : Date.parse(g.completedAt)
    if (Number.isNaN(completed)) issues.push({ field: 'completedAt', message: 'not a date-time' })
    else if (completed < created) issues.push({ field: 'completedAt', message: 'must not be before createdAt' })
    return issues
  }
}

/** A date from an export, clamped to now (a little clock skew is allowed in, not kept). */
function pastDate(iso: string): Date {
  return new Date(Math.min(Date.parse(iso), Date.now()))
}

function toRow(id: string, userId: string, g: ExportedGeneration): NewRow {
  const ar = g.aspectRatio ?? '1:1'
  const aspectRatio: AspectRatio = ar in ASPECT_ALIASES ? ASPECT_ALIASES[ar as keyof typeof ASPECT_ALIASES] : (ar as AspectRatio)
  const createdAt = pastDate(g.createdAt)
  const failed = g.status === 'failed'
  const error = typeof g.error === 'string' ? { message: g.error } : g.error
  return {
    id,
    userId,
    status: g.status,
    progress: failed ? 0 : 100,
    prompt: (g.prompt ?? g.topic ?? '').trim(),
    style: g.style,
    palette: g.palette ?? null,
    customColors: g.customColors?.map((c) => c.toLowerCase()) ?? null,
    aspectRatio,
    size: g.size ?? '1K',
    seed: g.seed ?? null,
    provider: 'import',
    isLiked: g.isLiked ?? false,
    errorCode: failed ? (error?.code ?? 'IMPORTED_FAILURE') : null,
    errorMessage: failed ? (error?.message ?? 'failed before the import') : null,
    createdAt,
    completedAt: g.completedAt ? new Date(Math.max(createdAt.getTime(), pastDate(g.completedAt).getTime())) : createdAt,
    updatedAt: new Date(),
  }
}
