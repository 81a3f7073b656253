/**
 * Source images for image-to-image: validated, normalised to WebP, stored
 * under `users/{userId}/uploads/{id}.webp`, and recorded. Another user's
 * upload does not exist as far as the caller can tell.
 */
import { and, count, eq, gt, min } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { uploads, users } from '../../adapters/db/schema'
import { type Storage, storageKeys } from '../../adapters/storage/storage'
import { AppError } from '../../lib/errors'
import { newId } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import { limitsFor } from '../tiers'
import { normaliseUpload } from './normalise'

export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024

export interface UploadView {
  id: string
  width: number
  height: number
  bytes: number
  contentType: string
  createdAt: string
}

export interface UploadServiceOptions {
  maxInputPixels?: number
  /** Caps concurrent sharp work (shared with the finalizer); optional. */
  imageSlots?: { acquire(): Promise<() => void> }
}

const view = (row: typeof uploads.$inferSelect): UploadView => ({
  id: row.id,
  width: row.width,
  height: row.height,
  bytes: row.bytes,
  contentType: row.contentType,
  createdAt: row.createdAt.toISOString(),
})

export class UploadService {
  constructor(
    private readonly db: Db,
    private readonly storage: Storage,
    private readonly log: Logger,
    private readonly opts: UploadServiceOptions = {},
  ) {}

  /**
   * Refuses (429) when the user has made their tier's uploads this minute,
   * whichever route they came through. Counted in the database (one query,
   * tier included), so the limit holds across nodes.
   */
  private async checkRate(userId: string): Promise<void> {
    const since = new Date(Date.now() - 60_000)
    const [row] = await this.db
      .select({ tier: users.tier, n: count(uploads.id), oldest: min(uploads.createdAt) })
      .from(users)
      .leftJoin(uploads, and(eq(uploads.userId, users.id), gt(uploads.createdAt, since)))
      .where(eq(users.id, userId))
      .groupBy(users.tier)
    if (!row) throw new AppError('NOT_FOUND', 'user not found')
    const limit = limitsFor(row.tier).uploadsPerMinute
    if (row.n < limit) return
    const oldest = row?.oldest ? new Date(row.oldest).getTime() : Date.now()
    const retryAfter = Math.max(1, Math.ceil((oldest + 60_000 - Date.now()) / 1000))
    throw new AppError('RATE_LIMIT_EXCEEDED', `at most ${limit} uploads per minute`, { limit, retryAfterSeconds: retryAfter }, {
      'retry-after': String(retryAfter),
    })
  }

  /** Validates, normalises and stores an image; the bytes' content decides whether it is one. */
  async create(userId: string, file: Blob | Uint8Array): Promise<UploadView> {
    const size = file instanceof Blob ? file.size : file.byteLength
    if (size > MAX_UPLOAD_BYTES) throw new AppError('PAYLOAD_TOO_LARGE', `uploads are limited to ${MAX_UPLOAD_BYTES} bytes`)
    if (size === 0) throw new AppError('VALIDATION_ERROR', 'the file is empty')
    await this.checkRate(userId)
    const bytes = file instanceof Blob ? new Uint8Array(await file.arrayBuffer()) : file
    const storage = this.storage
    const release = await this.opts.imageSlots?.acquire()
    let image: Awaited<ReturnType<typeof normaliseUpload>>
    try {
      image = await normaliseUpload(bytes, { maxInputPixels: this.opts.maxInputPixels })
    } finally {
      release?.()
    }
    const id = newId('upload')
    const key = storageKeys.upload(userId, id)
    try {
      await storage.put(key, image.data, 'image/webp')
    } catch (err) {
      this.log.error('upload could not be stored', { userId, uploadId: id, err: err as Error })
      throw new AppError('SERVICE_UNAVAILABLE', 'file storage is unavailable; try again shortly', undefined, { 'retry-after': '5' })
    }
    try {
      const [row] = await this.db
        .insert(uploads)
        .values({
          id,
          userId,
          storageKey: key,
          contentType: 'image/webp',
          originalType: image.originalType,
          width: image.width,
          height: image.height,
          bytes: image.data.byteLength,
        })
        .returning()
      this.log.info('upload stored', { userId, uploadId: id, bytes: image.data.byteLength, originalType: image.originalType })
      return view(row!)
    } catch (err) {
      // no orphaned object when the row could not be written
      await storage.delete([key]).catch(() => {})
      throw err
    }
  }

  /** The user's upload, or undefined (also for another user's). */
  async get(userId: string, id: string): Promise<UploadView | undefined> {
    const [row] = await this.db
      .select()
      .from(uploads)
      .where(and(eq(uploads.id, id), eq(uploads.userId, userId)))
      .limit(1)
    return row ? view(row) : undefined
  }
}
