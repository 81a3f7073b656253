/** How a generation is shown to its owner (REST, socket events, webhooks). */
import { type Static, Type as t } from '@sinclair/typebox'
import type { Generation } from '../../adapters/db/schema/generations'
import { GENERATION_STATUSES } from '../../adapters/db/schema/generations'
import type { Storage } from '../../adapters/storage/storage'
import { literals } from './input'
import { isTerminal } from './lifecycle'

const Nullable = <T extends ReturnType<typeof t.String>>(s: T) => t.Union([s, t.Null()])
const NullableInt = t.Union([t.Integer(), t.Null()])

export const URL_TTL_SECONDS = 3600

export const GenerationView = t.Object(
  {
    id: t.String(),
    status: literals(GENERATION_STATUSES),
    stage: Nullable(t.String()),
    progress: t.Integer({ minimum: 0, maximum: 100 }),
    etaSeconds: NullableInt,
    /** 1-based place among the user's waiting jobs; null unless queued. */
    position: NullableInt,
    prompt: t.String(),
    style: t.String(),
    palette: Nullable(t.String()),
    customColors: t.Union([t.Array(t.String()), t.Null()]),
    aspectRatio: t.String(),
    size: t.String(),
    seed: NullableInt,
    sourceImageId: Nullable(t.String()),
    templateId: Nullable(t.String()),
    imageUrl: Nullable(t.String()),
    thumbnailUrl: Nullable(t.String()),
    width: NullableInt,
    height: NullableInt,
    bytes: NullableInt,
    isLiked: t.Boolean(),
    downloadCount: t.Integer(),
    error: t.Union([t.Object({ code: t.String(), message: t.String() }), t.Null()]),
    createdAt: t.String({ format: 'date-time' }),
    startedAt: Nullable(t.String({ format: 'date-time' })),
    completedAt: Nullable(t.String({ format: 'date-time' })),
  },
  { title: 'Generation' },
)
export type GenerationView = Static<typeof GenerationView>

/** Seconds left, extrapolated from progress so far; null when nothing can be said. */
export function estimateEta(row: Pick<Generation, 'status' | 'progress' | 'startedAt'>, now = Date.now()): number | null {
  if (isTerminal(row.status) || !row.startedAt || row.progress <= 0) return null
  const elapsed = (now - row.startedAt.getTime()) / 1000
  return Math.max(0, Math.round((elapsed * (100 - row.progress)) / row.progress))
}

const iso = (d: Date | null) => (d ? d.toISOString() : null)

/** The public view of a row; image URLs are signed here, on the way out, and only once completed. */
export async function toView(row: Generation, storage: Storage | undefined, position: number | null = null): Promise<GenerationView> {
  const done = row.status === 'completed' && storage
  const [imageUrl, thumbnailUrl] = done
    ? await Promise.all([
        row.imageKey ? storage.signedUrl(row.imageKey, { expiresInSeconds: URL_TTL_SECONDS }) : null,
        row.thumbnailKey ? storage.signedUrl(row.thumbnailKey, { expiresInSeconds: URL_TTL_SECONDS }) : null,
      ])
    : [null, null]
  return {
    id: row.id,
    status: row.status,
    stage: row.stage,
    progress: row.progress,
    etaSeconds: estimateEta(row),
    position: row.status === 'queued' ? position : null,
    prompt: row.prompt,
    style: row.style,
    palette: row.palette,
    customColors: row.customColors ?? null,
    aspectRatio: row.aspectRatio,
    size: row.size,
    seed: row.seed,
    sourceImageId: row.sourceImageId,
    templateId: row.templateId,
    imageUrl,
    thumbnailUrl,
    width: row.width,
    height: row.height,
    bytes: row.bytes,
    isLiked: row.isLiked,
    downloadCount: row.downloadCount,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? row.errorCode } : null,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    completedAt: iso(row.completedAt),
  }
}
