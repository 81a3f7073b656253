/**
 * What a template holds: generation input defaults. The field schemas are the
 * generation input's own (picked, never redefined), so a template can only
 * preset what `normalizeInput` would accept from a request.
 */
import { type Static, Type as t } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { AppError } from '../../lib/errors'
import { ASPECT_ALIASES, GenerationInput } from '../generations/input'

/**
 * Input fields a template may preset: a subset of the generation's template
 * fields. `sourceImageId` is left out on purpose: uploads are private to their
 * owner, so a shared template pointing at one would fail for everyone else.
 */
export const TEMPLATE_CONFIG_FIELDS = ['prompt', 'topic', 'style', 'palette', 'customColors', 'aspectRatio', 'size', 'seed'] as const

export const TemplateConfig = t.Pick(GenerationInput, [...TEMPLATE_CONFIG_FIELDS], {
  additionalProperties: false,
  title: 'TemplateConfig',
  description: 'generation input defaults; explicit fields of a generation win over them',
})
export type TemplateConfig = Static<typeof TemplateConfig>

export const TEMPLATE_NAME_MAX = 100
export const TEMPLATE_DESCRIPTION_MAX = 500

/** What a client sends to create or replace a template. */
export const TemplateInput = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: TEMPLATE_NAME_MAX }),
    description: t.Optional(t.Union([t.String({ maxLength: TEMPLATE_DESCRIPTION_MAX }), t.Null()])),
    isPublic: t.Optional(t.Boolean({ default: false, description: 'public templates are listed for, and usable by, every user' })),
    config: TemplateConfig,
  },
  { additionalProperties: false, title: 'TemplateInput' },
)
export type TemplateInput = Static<typeof TemplateInput>

/** A template input after validation: trimmed, defaulted and with aliases resolved. */
export interface ValidTemplate {
  name: string
  description: string | null
  isPublic: boolean
  config: TemplateConfig
}

export interface FieldIssue {
  field: string
  message: string
}

/** The catalogue lookups validation needs (the CatalogueService satisfies it). */
export interface CatalogueLookups {
  getStyle(id: string): Promise<unknown | undefined>
  getPalette(id: string): Promise<unknown | undefined>
}

const fieldOf = (path: string) => path.replace(/^\//, '').replace(/\//g, '.') || '(root)'

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Unknown properties of a template input, at the top and inside `config`.
 * Transports check this before their schema normalisation silently drops them.
 */
export function unknownKeyIssues(raw: unknown): FieldIssue[] {
  const issues: FieldIssue[] = []
  if (isRecord(raw)) {
    for (const k of Object.keys(raw)) if (!(k in TemplateInput.properties)) issues.push({ field: k, message: 'unknown property' })
    if (isRecord(raw.config))
      for (const k of Object.keys(raw.config))
        if (!(TEMPLATE_CONFIG_FIELDS as readonly string[]).includes(k))
          issues.push({ field: `config.${k}`, message: 'unknown property (a template presets generation input fields only)' })
  }
  return issues.slice(0, 20)
}

/** Structural issues of `raw` against TemplateInput, unknown keys included (at most 20). */
function shapeIssues(raw: unknown): FieldIssue[] {
  const issues = unknownKeyIssues(raw)
  if (issues.length === 0)
    for (const e of Value.Errors(TemplateInput, raw)) {
      issues.push({ field: fieldOf(e.path), message: e.message })
      if (issues.length >= 20) break
    }
  return issues.slice(0, 20)
}

/**
 * Validates a template input: its shape, that style and palette exist in the
 * catalogue, and that it does not preset both a palette and custom colours.
 * Throws 400 VALIDATION_ERROR with field issues; returns the input normalised.
 */
export async function validateTemplate(raw: unknown, catalogue: CatalogueLookups): Promise<ValidTemplate> {
  const shape = shapeIssues(raw)
  if (shape.length > 0) throw invalid(shape)
  const input = raw as TemplateInput
  const name = input.name.trim()
  const { topic, ...rest } = input.config
  const config: TemplateConfig = { ...rest }
  const issues: FieldIssue[] = []
  if (!name) issues.push({ field: 'name', message: 'name must not be blank' })
  if (topic !== undefined) {
    if (config.prompt !== undefined && config.prompt !== topic)
      issues.push({ field: 'config.topic', message: 'give either prompt or topic, not both' })
    else config.prompt = topic
  }
  if (config.prompt !== undefined && !config.prompt.trim()) issues.push({ field: 'config.prompt', message: 'prompt must not be blank' })
  if (config.style !== undefined && !(await catalogue.getStyle(config.style)))
    issues.push({ field: 'config.style', message: `unknown style "${config.style}" (see GET /api/v1/styles)` })
  if (config.palette !== undefined && !(await catalogue.getPalette(config.palette)))
    issues.push({ field: 'config.palette', message: `unknown palette "${config.palette}" (see GET /api/v1/palettes)` })
  if (config.palette !== undefined && config.customColors !== undefined)
    issues.push({ field: 'config.customColors', message: 'give either palette or customColors, not both' })
  if (issues.length > 0) throw invalid(issues)
  if (config.aspectRatio && config.aspectRatio in ASPECT_ALIASES)
    config.aspectRatio = ASPECT_ALIASES[config.aspectRatio as keyof typeof ASPECT_ALIASES]
  if (config.customColors) config.customColors = config.customColors.map((c) => c.toLowerCase())
  const description = input.description?.trim() || null
  return { name, description, isPublic: input.isPublic ?? false, config }
}

function invalid(issues: FieldIssue[]): AppError {
  return new AppError('VALIDATION_ERROR', `invalid template: ${issues[0]!.field}: ${issues[0]!.message}`, { in: 'body', issues })
}
