/**
 * `services.generations`: what REST, the socket gateway and batches call.
 * Validation and reads happen here; everything that changes a job goes to the
 * owner's session actor. Another user's generation is NOT_FOUND everywhere.
 */
import type { Generation } from '../adapters/db/schema/generations'
import type { Tier } from '../adapters/db/schema/users'
import type { Storage } from '../adapters/storage/storage'
import { type GenerationInput, type InputLookups, normalizeInput } from '../domain/generations/input'
import { isTerminal } from '../domain/generations/lifecycle'
import type { GenerationRepository, ListQuery } from '../domain/generations/repository'
import { type GenerationView, toView, URL_TTL_SECONDS } from '../domain/generations/view'
import type { QuotaState } from '../domain/quota/quota'
import { AppError, notFound } from '../lib/errors'
import { isId } from '../lib/ids'
import type { ActorRuntime } from './runtime'
import type { RateDecision } from './token-bucket'

export interface GenerationUser {
  id: string
  tier: Tier
}

export interface SubmitOptions {
  idempotencyKey?: string
  requestId?: string
  batchId?: string
  /** Count this call against the per-minute limit (socket `generate`; REST requests are counted by the auth macro). */
  countRequest?: boolean
}

export interface Submitted {
  generation: GenerationView
  quota: QuotaState
}

export interface HistoryPage {
  items: GenerationView[]
  meta: { page: number; limit: number; total: number; totalPages: number; nextCursor?: string }
}

export type HistoryQuery = Omit<ListQuery, 'after'> & { cursor?: string }

/** The 429 for a spent per-minute budget. */
export function rateLimited(d: RateDecision): AppError {
  return new AppError('RATE_LIMIT_EXCEEDED', `rate limit of ${d.limit} requests per minute exceeded`, { retryAfterSeconds: d.retryAfterSeconds }, {
    'retry-after': String(d.retryAfterSeconds),
  })
}

function encodeCursor(row: Generation): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url')
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at = '', id = ''] = Buffer.from(cursor, 'base64url').toString('utf8').split('|')
  const createdAt = new Date(at)
  if (Number.isNaN(createdAt.getTime()) || !isId('generation', id))
    throw new AppError('VALIDATION_ERROR', 'invalid cursor', { in: 'query', issues: [{ field: 'cursor', message: 'not a cursor from this API' }] })
  return { createdAt, id }
}

/** A download name people can read: `kiln-<prompt words>-<id>.webp`. */
export function downloadFilename(row: Pick<Generation, 'id' | 'prompt'>): string {
  const slug = row.prompt
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '')
  return `kiln-${slug ? `${slug}-` : ''}${row.id}.webp`
}

export class GenerationService {
  constructor(
    private readonly runtime: ActorRuntime,
    private readonly repo: GenerationRepository,
    private readonly lookups: InputLookups,
    private readonly media: { readonly storage: Storage },
  ) {}

  private get storage(): Storage {
    return this.media.storage
  }

  /** Counts one request against the user's per-minute limit (the actor is the single writer of the bucket). */
  takeRequest(user: GenerationUser): RateDecision | Promise<RateDecision> {
    return this.runtime.takeRequest(user.id, user.tier)
  }

  /** Validates, reserves quota and queues a job with the user's actor. */
  async submit(user: GenerationUser, raw: GenerationInput, opts: SubmitOptions = {}): Promise<Submitted> {
    if (opts.countRequest) {
      const d = await this.takeRequest(user)
      if (!d.allowed) throw rateLimited(d)
    }
    const input = await normalizeInput(raw, user, this.lookups)
    const accepted = await this.runtime.send(user.id, user.tier, {
      type: 'submit',
      tier: user.tier,
      input,
      idempotencyKey: opts.idempotencyKey ?? null,
      batchId: opts.batchId ?? null,
      requestId: opts.requestId,
    })
    return { generation: await toView(accepted.generation, this.storage, accepted.position), quota: accepted.quota }
  }

  private async owned(user: GenerationUser, id: string): Promise<Generation> {
    const row = isId('generation', id) ? await this.repo.getOwned(user.id, id) : undefined
    if (!row) throw notFound('generation')
    return row
  }

  private position(row: Generation): number | null {
    return row.status === 'queued' ? this.runtime.positionOf(row.userId, row.id) : null
  }

  async get(user: GenerationUser, id: string): Promise<GenerationView> {
    const row = await this.owned(user, id)
    return toView(row, this.storage, this.position(row))
  }

  async list(user: GenerationUser, q: HistoryQuery): Promise<HistoryPage> {
    const after = q.cursor ? decodeCursor(q.cursor) : undefined
    const { rows, total } = await this.repo.list(user.id, { ...q, after })
    const items = await Promise.all(rows.map((r) => toView(r, this.storage, this.position(r))))
    const last = rows[rows.length - 1]
    const more = after ? rows.length === q.limit : q.page * q.limit < total
    return {
      items,
      meta: { page: q.page, limit: q.limit, total, totalPages: Math.ceil(total / q.limit), ...(more && last ? { nextCursor: encodeCursor(last) } : {}) },
    }
  }

  async like(user: GenerationUser, id: string, isLiked: boolean): Promise<GenerationView> {
    const row = isId('generation', id) ? await this.repo.setLiked(user.id, id, isLiked) : undefined
    if (!row) throw notFound('generation')
    return toView(row, this.storage, this.position(row))
  }

  /** Cancels a running or waiting job; a finished one is 409. */
  async cancel(user: GenerationUser, id: string): Promise<GenerationView> {
    const row = await this.owned(user, id)
    if (isTerminal(row.status)) throw new AppError('CONFLICT', `generation already ${row.status}`)
    const cancelled = await this.runtime.send(user.id, user.tier, { type: 'cancel', generationId: id })
    return toView(cancelled, this.storage)
  }

  /** Deletes a job and its files; a running one is stopped first. */
  async remove(user: GenerationUser, id: string): Promise<void> {
    const row = await this.owned(user, id)
    if (!isTerminal(row.status)) await this.runtime.send(user.id, user.tier, { type: 'forget', generationId: id })
    const deleted = await this.repo.delete(user.id, id)
    if (!deleted) throw notFound('generation')
    const keys = [deleted.imageKey, deleted.thumbnailKey].filter((k): k is string => Boolean(k))
    if (keys.length > 0) await this.storage.delete(keys)
  }

  /** A signed URL of the full image with a readable filename; counts the download. */
  async download(user: GenerationUser, id: string): Promise<{ url: string; filename: string; expiresAt: string }> {
    const row = await this.owned(user, id)
    if (row.status !== 'completed' || !row.imageKey) throw new AppError('CONFLICT', `generation is ${row.status}, not completed`)
    await this.repo.countDownload(user.id, id)
    const filename = downloadFilename(row)
    const expiresAt = new Date(Date.now() + URL_TTL_SECONDS * 1000).toISOString()
    const url = await this.storage.signedUrl(row.imageKey, { expiresInSeconds: URL_TTL_SECONDS, filename })
    return { url, filename, expiresAt }
  }
}
