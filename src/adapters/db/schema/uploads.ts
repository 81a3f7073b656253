import { index, integer, pgTable, text } from 'drizzle-orm/pg-core'
import { createdAt, id } from './columns'
import { users } from './users'

/** Source images uploaded for image-to-image, normalised to WebP. */
export const uploads = pgTable(
  'uploads',
  {
    id: id(),
    userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    storageKey: text('storage_key').notNull(),
    contentType: text('content_type').notNull().default('image/webp'),
    /** The type detected from the uploaded bytes, before normalising. */
    originalType: text('original_type'),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: integer('bytes').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('uploads_user_idx').on(t.userId, t.createdAt)],
)
