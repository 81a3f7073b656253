import { boolean, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core'
import { createdAt, updatedAt } from './columns'

export interface LocalisedText {
  en: string
  ar: string
}

export const styles = pgTable('styles', {
  /** Slug, e.g. `voxel-3d`; clients reference styles by it. */
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['3d', 'infographic'] }).notNull(),
  title: jsonb('title').$type<LocalisedText>().notNull(),
  description: jsonb('description').$type<LocalisedText>().notNull(),
  defaultPrompt: jsonb('default_prompt').$type<LocalisedText>().notNull(),
  /** fal model id, e.g. `fal-ai/flux/dev`. */
  falModel: text('fal_model').notNull(),
  promptPrefix: text('prompt_prefix').notNull(),
  previewImage: text('preview_image'),
  sortOrder: integer('sort_order').notNull().default(0),
  active: boolean('active').notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
})
export type Style = typeof styles.$inferSelect
