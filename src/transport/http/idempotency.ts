/**
 * `Idempotency-Key` for POSTs, scoped to the user and kept 24 h
 * (`idempotency_records`). The first request claims the key with an insert
 * that only one of several concurrent duplicates can win; the others see the
 * claim: in flight → 409, another body → 422, finished → the stored response.
 * A request that ends in an error releases its claim so the client may retry.
 */
import { createHash } from 'node:crypto'
import { and, eq, lt, sql } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { idempotencyRecords } from '../../adapters/db/schema'
import { AppError } from '../../lib/errors'

export const IDEMPOTENCY_TTL_MS = 24 * 3600_000
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/

export type Claim = { kind: 'claimed' } | { kind: 'replay'; status: number; body: unknown }

/** SHA-256 over method, path and the parsed body (key order normalised), so formatting does not matter. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${stableJson(body)}`).digest('hex')
}

function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null'
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  const o = v as Record<string, unknown>
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`
}

export function checkIdempotencyKey(key: string): string {
  if (!KEY_SHAPE.test(key))
    throw new AppError('VALIDATION_ERROR', 'Idempotency-Key must be 1–255 visible ASCII characters', {
      in: 'headers',
      issues: [{ field: 'idempotency-key', message: 'invalid' }],
    })
  return key
}

export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  /** Claims the key for this request, or says what to answer instead. */
  async claim(userId: string, key: string, hash: string): Promise<Claim> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await this.db
        .insert(idempotencyRecords)
        .values({ userId, key, requestHash: hash, expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_MS) })
        .onConflictDoNothing()
        .returning({ key: idempotencyRecords.key })
      if (inserted.length > 0) return { kind: 'claimed' }
      const [existing] = await this.db
        .select()
        .from(idempotencyRecords)
        .where(and(eq(idempotencyRecords.userId, userId), eq(idempotencyRecords.key, key)))
      if (!existing) continue // released between our insert and select: try again
      if (existing.expiresAt.getTime() <= Date.now()) {
        await this.db
          .delete(idempotencyRecords)
          .where(and(eq(idempotencyRecords.userId, userId), eq(idempotencyRecords.key, key), lt(idempotencyRecords.expiresAt, sql`now()`)))
        continue
      }
      if (existing.requestHash !== hash) throw new AppError('UNPROCESSABLE', 'this Idempotency-Key was used with a different request')
      if (existing.responseStatus === null) throw new AppError('CONFLICT', 'a request with this Idempotency-Key is still in progress')
      return { kind: 'replay', status: existing.responseStatus, body: existing.responseBody }
    }
    throw new AppError('CONFLICT', 'a request with this Idempotency-Key is still in progress')
  }

  /** Stores the response the key will replay. */
  async complete(userId: string, key: string, status: number, body: unknown): Promise<void> {
    await this.db
      .update(idempotencyRecords)
      .set({ responseStatus: status, responseBody: body })
      .where(and(eq(idempotencyRecords.userId, userId), eq(idempotencyRecords.key, key)))
  }

  /** Gives the key back after a failed request. */
  async release(userId: string, key: string): Promise<void> {
    await this.db.delete(idempotencyRecords).where(and(eq(idempotencyRecords.userId, userId), eq(idempotencyRecords.key, key)))
  }

  /**
   * Runs an accepting POST under its `Idempotency-Key`, when it has one: a
   * repeat answers the first response (with `Idempotent-Replayed: true`), the
   * first response is kept for those repeats, and a failure gives the key back
   * so the client may retry. `fingerprint` is what makes two requests "the same".
   */
  async accept<T>(
    req: { userId: string; rawKey: string | null; path: string; fingerprint: () => unknown; set: { status?: unknown; headers: Record<string, unknown> } },
    status: number,
    run: (key: string | undefined) => Promise<T>,
  ): Promise<T> {
    const key = req.rawKey === null ? undefined : checkIdempotencyKey(req.rawKey)
    if (key) {
      const claim = await this.claim(req.userId, key, requestHash('POST', req.path, req.fingerprint()))
      if (claim.kind === 'replay') {
        req.set.status = claim.status
        req.set.headers['idempotent-replayed'] = 'true'
        return claim.body as T
      }
    }
    try {
      const response = await run(key)
      req.set.status = status
      if (key) await this.complete(req.userId, key, status, response)
      return response
    } catch (err) {
      if (key) await this.release(req.userId, key).catch(() => {})
      throw err
    }
  }
}
