import { boolean, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core'
import { createdAt, updatedAt } from './columns'
import type { LocalisedText } from './styles'

export const palettes = pgTable('palettes', {
  /** Slug, e.g. `ocean`. */
  id: text('id').primaryKey(),
  name: jsonb('name').$type<LocalisedText>().notNull(),
  /** Hex colours, `#rrggbb`. */
  colors: jsonb('colors').$type<string[]>().notNull(),
  sortOrder: integer('sort_order').notNull().default(0),
  active: boolean('active').notNull().default(true),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
})
export type Palette = typeof palettes.$inferSelect
