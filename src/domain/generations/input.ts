/**
 * The one generation input shape shared by REST, the socket `generate`
 * message, batches and templates, and its normalisation into what a job needs.
 * Schemas are TypeBox (what Elysia's `t` is), so the domain stays framework-free
 * while transports reuse them for validation and the OpenAPI document.
 */
import { type Static, type TUnsafe, Type as t } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { AppError } from '../../lib/errors'
import type { Tier } from '../../adapters/db/schema/users'
import { limitsFor } from '../tiers'

export const ASPECT_RATIOS = ['1:1', '4:3', '3:4', '16:9', '9:16'] as const
export type AspectRatio = (typeof ASPECT_RATIOS)[number]
export const ASPECT_ALIASES = { square: '1:1', landscape: '16:9', portrait: '9:16' } as const satisfies Record<string, AspectRatio>
export const SIZES = ['1K', '2K', '4K'] as const
export type Size = (typeof SIZES)[number]
export const PROMPT_MAX = 2000
const HEX = '^#[0-9a-fA-F]{6}$'

/** A union of string literals that keeps its precise static type. */
export function literals<const T extends readonly string[]>(values: T, options?: { description?: string; default?: T[number] }) {
  return t.Union(
    values.map((v) => t.Literal(v)),
    options,
  ) as unknown as TUnsafe<T[number]>
}

/** Request shape of one generation (REST body, socket `input`, batch item, template config). */
export const GenerationInput = t.Object(
  {
    prompt: t.Optional(t.String({ minLength: 1, maxLength: PROMPT_MAX, description: 'what to draw' })),
    topic: t.Optional(t.String({ minLength: 1, maxLength: PROMPT_MAX, description: 'alias of `prompt`' })),
    style: t.Optional(t.String({ minLength: 1, maxLength: 64, description: 'style id from GET /api/v1/styles' })),
    palette: t.Optional(t.String({ minLength: 1, maxLength: 64, description: 'palette id from GET /api/v1/palettes' })),
    customColors: t.Optional(t.Array(t.String({ pattern: HEX }), { minItems: 1, maxItems: 5, description: '1–5 colours `#rrggbb`' })),
    aspectRatio: t.Optional(
      literals([...ASPECT_RATIOS, 'square', 'landscape', 'portrait'] as const, { description: 'default 1:1; square, landscape and portrait are aliases' }),
    ),
    size: t.Optional(literals(SIZES, { description: 'default 1K; bounded by tier' })),
    seed: t.Optional(t.Integer({ minimum: 0, maximum: 4294967295 })),
    sourceImageId: t.Optional(t.String({ minLength: 1, maxLength: 64, description: 'an upload of yours (image-to-image)' })),
    templateId: t.Optional(t.String({ minLength: 1, maxLength: 64, description: 'defaults from a template; explicit fields win' })),
  },
  { additionalProperties: false, title: 'GenerationInput' },
)
export type GenerationInput = Static<typeof GenerationInput>

/** Fields a template may preset. */
const TEMPLATE_FIELDS = ['prompt', 'topic', 'style', 'palette', 'customColors', 'aspectRatio', 'size', 'seed', 'sourceImageId'] as const

/** What normalisation looks up; implemented over the database and the catalogue. */
export interface InputLookups {
  style(id: string): Promise<{ id: string; falModel: string; promptPrefix: string } | undefined>
  palette(id: string): Promise<{ id: string; colors: string[] } | undefined>
  /** The user's own template or a public one. */
  template(userId: string, id: string): Promise<{ config: Record<string, unknown> } | undefined>
  /** The user's own upload. */
  upload(userId: string, id: string): Promise<{ id: string; storageKey: string } | undefined>
}

/** A validated, defaulted input: everything the actor needs, with catalogue entries resolved. */
export interface NormalizedInput {
  prompt: string
  style: { id: string; falModel: string; promptPrefix: string }
  palette: string | null
  customColors: string[] | null
  colors: string[]
  aspectRatio: AspectRatio
  size: Size
  seed: number
  sourceImage: { id: string; storageKey: string } | null
  templateId: string | null
}

const SIZE_RANK: Record<Size, number> = { '1K': 1, '2K': 2, '4K': 3 }

function invalid(field: string, message: string): AppError {
  return new AppError('VALIDATION_ERROR', message, { in: 'body', issues: [{ field, message }] })
}

/** Validates and defaults an input for a user of `tier`; unknown references are 400, others' uploads 404. */
export async function normalizeInput(
  raw: GenerationInput,
  user: { id: string; tier: Tier },
  lookups: InputLookups,
  randomSeed: () => number = () => Math.floor(Math.random() * 4294967296),
): Promise<NormalizedInput> {
  let input: GenerationInput = raw
  if (raw.templateId) {
    const tpl = await lookups.template(user.id, raw.templateId)
    if (!tpl) throw new AppError('NOT_FOUND', 'template not found')
    const defaults: Record<string, unknown> = {}
    for (const f of TEMPLATE_FIELDS) if (tpl.config[f] !== undefined) defaults[f] = tpl.config[f]
    // An explicit prompt replaces a template's topic and vice versa.
    if (raw.prompt !== undefined || raw.topic !== undefined) {
      delete defaults.prompt
      delete defaults.topic
    }
    if (raw.customColors !== undefined) delete defaults.palette
    if (raw.palette !== undefined) delete defaults.customColors
    input = { ...defaults, ...raw }
    if (!Value.Check(GenerationInput, input)) throw invalid('templateId', 'the template holds settings that are no longer valid')
  }
  if (input.prompt !== undefined && input.topic !== undefined && input.prompt !== input.topic)
    throw invalid('topic', 'give either prompt or topic, not both')
  const prompt = (input.prompt ?? input.topic ?? '').trim()
  if (!prompt) throw invalid('prompt', 'prompt is required (1–2000 characters)')
  if (!input.style) throw invalid('style', 'style is required (see GET /api/v1/styles)')
  const style = await lookups.style(input.style)
  if (!style) throw invalid('style', `unknown style "${input.style}" (see GET /api/v1/styles)`)
  if (input.palette && input.customColors) throw invalid('customColors', 'give either palette or customColors, not both')
  let colors: string[] = []
  if (input.palette) {
    const palette = await lookups.palette(input.palette)
    if (!palette) throw invalid('palette', `unknown palette "${input.palette}" (see GET /api/v1/palettes)`)
    colors = palette.colors
  }
  const customColors = input.customColors?.map((c) => c.toLowerCase()) ?? null
  if (customColors) colors = customColors
  const size = input.size ?? '1K'
  const maxSize = limitsFor(user.tier).maxSize
  if (SIZE_RANK[size] > SIZE_RANK[maxSize]) throw invalid('size', `size ${size} is above your tier's maximum (${maxSize})`)
  const ar = input.aspectRatio ?? '1:1'
  const aspectRatio: AspectRatio = ar in ASPECT_ALIASES ? ASPECT_ALIASES[ar as keyof typeof ASPECT_ALIASES] : (ar as AspectRatio)
  let sourceImage: NormalizedInput['sourceImage'] = null
  if (input.sourceImageId) {
    sourceImage = (await lookups.upload(user.id, input.sourceImageId)) ?? null
    if (!sourceImage) throw new AppError('NOT_FOUND', 'source image not found')
  }
  return {
    prompt,
    style,
    palette: input.palette ?? null,
    customColors,
    colors,
    aspectRatio,
    size,
    seed: input.seed ?? randomSeed(),
    sourceImage,
    templateId: raw.templateId ?? null,
  }
}
