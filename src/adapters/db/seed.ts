import { sql } from 'drizzle-orm'
import { PALETTE_SEEDS, STYLE_SEEDS } from '../../domain/catalogue/data'
import type { Db } from './client'
import { palettes, styles } from './schema'

/** Writes the style and palette catalogue; safe to run on every start (upsert by slug). */
export async function seedCatalogue(db: Db): Promise<void> {
  await db
    .insert(styles)
    .values(STYLE_SEEDS.map((s) => ({ ...s, previewImage: `/static/styles/${s.id}.webp` })))
    .onConflictDoUpdate({
      target: styles.id,
      set: {
        kind: sql`excluded.kind`,
        title: sql`excluded.title`,
        description: sql`excluded.description`,
        defaultPrompt: sql`excluded.default_prompt`,
        falModel: sql`excluded.fal_model`,
        promptPrefix: sql`excluded.prompt_prefix`,
        previewImage: sql`excluded.preview_image`,
        sortOrder: sql`excluded.sort_order`,
        updatedAt: sql`now()`,
      },
    })
  await db
    .insert(palettes)
    .values(PALETTE_SEEDS)
    .onConflictDoUpdate({
      target: palettes.id,
      set: { name: sql`excluded.name`, colors: sql`excluded.colors`, sortOrder: sql`excluded.sort_order`, updatedAt: sql`now()` },
    })
}
