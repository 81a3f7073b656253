/** The style and palette catalogue, read from the database once and kept in memory. */
import { asc, eq } from 'drizzle-orm'
import type { Db } from '../../adapters/db/client'
import { type Palette, type Style, palettes, styles } from '../../adapters/db/schema'

export type Language = 'en' | 'ar'

export interface StyleView {
  id: string
  kind: '3d' | 'infographic'
  title: string
  description: string
  defaultPrompt: string
  previewImage: string | null
  sortOrder: number
  model: string
}

export interface PaletteView {
  id: string
  name: string
  colors: string[]
  sortOrder: number
}

/** Picks `ar` when the client prefers Arabic over English in Accept-Language, else `en`. */
export function languageFrom(acceptLanguage: string | null | undefined): Language {
  if (!acceptLanguage) return 'en'
  const ranked = acceptLanguage
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';')
      const q = params.find((p) => p.trim().startsWith('q='))
      return { lang: tag.trim().toLowerCase().split('-')[0], q: q ? Number(q.trim().slice(2)) || 0 : 1 }
    })
    .filter((x) => x.lang === 'en' || x.lang === 'ar')
    .sort((a, b) => b.q - a.q)
  return ranked[0]?.lang === 'ar' ? 'ar' : 'en'
}

export class CatalogueService {
  private cache?: Promise<{ styles: Style[]; palettes: Palette[] }>
  private views = new Map<string, unknown>()

  constructor(private readonly db: Db) {}

  private load() {
    this.cache ??= (async () => ({
      styles: await this.db.select().from(styles).where(eq(styles.active, true)).orderBy(asc(styles.sortOrder)),
      palettes: await this.db.select().from(palettes).where(eq(palettes.active, true)).orderBy(asc(palettes.sortOrder)),
    }))().catch((err) => {
      this.cache = undefined
      throw err
    })
    return this.cache
  }

  /** Forgets the cached catalogue (after an admin change or a reseed). */
  invalidate() {
    this.cache = undefined
    this.views.clear()
  }

  async listStyles(lang: Language): Promise<StyleView[]> {
    const key = `styles:${lang}`
    const hit = this.views.get(key) as StyleView[] | undefined
    if (hit) return hit
    const { styles } = await this.load()
    const view = styles.map((s) => ({
      id: s.id,
      kind: s.kind,
      title: s.title[lang],
      description: s.description[lang],
      defaultPrompt: s.defaultPrompt[lang],
      previewImage: s.previewImage,
      sortOrder: s.sortOrder,
      model: s.falModel,
    }))
    this.views.set(key, view)
    return view
  }

  async listPalettes(lang: Language): Promise<PaletteView[]> {
    const key = `palettes:${lang}`
    const hit = this.views.get(key) as PaletteView[] | undefined
    if (hit) return hit
    const { palettes } = await this.load()
    const view = palettes.map((p) => ({ id: p.id, name: p.name[lang], colors: p.colors, sortOrder: p.sortOrder }))
    this.views.set(key, view)
    return view
  }

  async getStyle(id: string): Promise<Style | undefined> {
    return (await this.load()).styles.find((s) => s.id === id)
  }

  async getPalette(id: string): Promise<Palette | undefined> {
    return (await this.load()).palettes.find((p) => p.id === id)
  }
}
