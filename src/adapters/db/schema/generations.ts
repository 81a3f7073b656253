import { sql } from 'drizzle-orm'
import { bigint, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt, id, ts, tsvector, updatedAt } from './columns'
import { users } from './users'

export const GENERATION_STATUSES = ['queued', 'analyzing', 'generating', 'finalizing', 'completed', 'failed', 'cancelled'] as const
export type GenerationStatus = (typeof GENERATION_STATUSES)[number]

export const generations = pgTable(
  'generations',
  {
    id: id(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    batchId: text('batch_id'),
    status: text('status', { enum: GENERATION_STATUSES }).notNull().default('queued'),
    /** Human-readable step inside the status (e.g. "rendering", "uploading"). */
    stage: text('stage'),
    /** 0–100, never decreases. */
    progress: integer('progress').notNull().default(0),
    prompt: text('prompt').notNull(),
    /** The prompt actually sent to the model: style prefix, colours and the user's text. */
    finalPrompt: text('final_prompt'),
    style: text('style').notNull(),
    palette: text('palette'),
    customColors: jsonb('custom_colors').$type<string[]>(),
    aspectRatio: text('aspect_ratio').notNull(),
    size: text('size').notNull(),
    seed: bigint('seed', { mode: 'number' }),
    sourceImageId: text('source_image_id'),
    templateId: text('template_id'),
    provider: text('provider').notNull(),
    providerModel: text('provider_model'),
    /** Stored before the job moves on, so a job is never handed to the provider twice. */
    providerRequestId: text('provider_request_id'),
    attempts: integer('attempts').notNull().default(0),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    imageKey: text('image_key'),
    thumbnailKey: text('thumbnail_key'),
    width: integer('width'),
    height: integer('height'),
    bytes: integer('bytes'),
    isLiked: boolean('is_liked').notNull().default(false),
    downloadCount: integer('download_count').notNull().default(0),
    viewCount: integer('view_count').notNull().default(0),
    idempotencyKey: text('idempotency_key'),
    /** UTC day whose quota this job reserved; refunds go back to the same day. */
    quotaDay: text('quota_day'),
    quotaRefunded: boolean('quota_refunded').notNull().default(false),
    /** Owner epoch of the actor that last wrote this row (fencing). */
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    deadlineAt: ts('deadline_at'),
    createdAt: createdAt(),
    startedAt: ts('started_at'),
    completedAt: ts('completed_at'),
    updatedAt: updatedAt(),
    searchVector: tsvector('search_vector').generatedAlwaysAs(sql`to_tsvector('simple', coalesce(prompt, ''))`),
  },
  (t) => [
    index('generations_user_created_idx').on(t.userId, t.createdAt.desc(), t.id.desc()),
    index('generations_user_style_idx').on(t.userId, t.style, t.createdAt.desc()),
    index('generations_status_idx')
      .on(t.status, t.updatedAt)
      .where(sql`status in ('queued','analyzing','generating','finalizing')`),
    index('generations_batch_idx').on(t.batchId),
    uniqueIndex('generations_provider_request_key').on(t.provider, t.providerRequestId),
    index('generations_search_idx').using('gin', t.searchVector),
  ],
)
export type Generation = typeof generations.$inferSelect
