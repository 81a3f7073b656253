/**
 * The v1.x export Kiln imports: templates and generation history. Items are
 * checked one by one (a bad item is reported, never fatal), so the envelope
 * schema only bounds sizes and the item schemas live here. Properties Kiln
 * does not know are ignored at item level (exports carry extra bookkeeping),
 * except inside a template's `config`, which is validated like any template.
 */
import { type Static, Type as t } from '@sinclair/typebox'
import { GenerationInput } from '../generations/input'

export const MAX_IMPORT_ITEMS = 1000

/** An ISO 8601 date-time; whether it parses is checked by the importer (no format registry needed). */
const IsoDateTime = t.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}', maxLength: 40 })

/** One template of an export; `id` is the export's own id (used to recognise a re-import). */
export const ExportedTemplate = t.Object({
  id: t.Optional(t.Union([t.String({ minLength: 1, maxLength: 200 }), t.Integer()])),
  name: t.Unknown(),
  description: t.Optional(t.Unknown()),
  isPublic: t.Optional(t.Unknown()),
  config: t.Unknown(),
  createdAt: t.Optional(IsoDateTime),
})
export type ExportedTemplate = Static<typeof ExportedTemplate>

const input = GenerationInput.properties

/** One finished generation of an export. Field schemas are the generation input's own. */
export const ExportedGeneration = t.Object({
  id: t.Optional(t.Union([t.String({ minLength: 1, maxLength: 200 }), t.Integer()])),
  prompt: t.Optional(input.prompt),
  topic: t.Optional(input.topic),
  style: t.String({ minLength: 1, maxLength: 64 }),
  palette: t.Optional(input.palette),
  customColors: t.Optional(input.customColors),
  aspectRatio: t.Optional(input.aspectRatio),
  size: t.Optional(input.size),
  seed: t.Optional(input.seed),
  status: t.Union([t.Literal('completed'), t.Literal('failed')]),
  isLiked: t.Optional(t.Boolean()),
  createdAt: IsoDateTime,
  completedAt: t.Optional(IsoDateTime),
  error: t.Optional(
    t.Union([t.String({ maxLength: 500 }), t.Object({ code: t.Optional(t.String({ maxLength: 64 })), message: t.Optional(t.String({ maxLength: 500 })) })]),
  ),
})
export type ExportedGeneration = Static<typeof ExportedGeneration>

/** What the route documents (OpenAPI description) as the accepted format. */
export const EXPORT_FORMAT_DOC = [
  'Body: `{ version, templates?, generations? }` (JSON ≤ 1 MB, each list ≤ 1000 items; other top-level properties are ignored).',
  '- `version`: the exporting release, `1.x` (anything else is 400).',
  '- `templates[]`: `{ id?, name, description?, isPublic?, config, createdAt? }`; validated as in POST /templates.',
  '- `generations[]`: `{ id?, prompt (or topic), style, palette?, customColors?, aspectRatio?, size?, seed?, status: "completed"|"failed", isLiked?, createdAt, completedAt?, error?: { code?, message? } | string }`.',
  'Generations become history only: no job runs, no quota is charged, no image is copied (imageUrl stays null).',
  'Each item is judged on its own: invalid ones are listed in `errors` with their index, the rest are imported.',
  'Importing the same export again imports nothing twice: an item is recognised by its `id` (or, without one, by its content).',
].join('\n')
