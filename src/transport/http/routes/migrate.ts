/** Migration: import a v1.x export (templates and history) into the signed-in account. */
import { Elysia, t } from 'elysia'
import { EXPORT_FORMAT_DOC, MAX_IMPORT_ITEMS } from '../../../domain/migration/format'
import { MigrationImporter } from '../../../domain/migration/importer'
import { authPlugin } from '../auth'
import { Envelope, commonErrors, ok } from '../envelope'
import { requestIdOf } from '../request-context'
import type { Services } from '../services'

const ImportBody = t.Object(
  {
    version: t.String({ minLength: 2, maxLength: 32, pattern: '^1\\.', description: 'release that wrote the export; must be 1.x', examples: ['1.4.2'] }),
    templates: t.Optional(t.Array(t.Unknown(), { maxItems: MAX_IMPORT_ITEMS, description: 'exported templates (see the operation description)' })),
    generations: t.Optional(t.Array(t.Unknown(), { maxItems: MAX_IMPORT_ITEMS, description: 'exported history (see the operation description)' })),
  },
  { title: 'V1Export' },
)

const ImportCounts = t.Object({
  imported: t.Integer({ description: 'new in this account' }),
  skipped: t.Integer({ description: 'already imported before, or repeated in this export' }),
  errors: t.Array(
    t.Object({
      index: t.Integer({ description: 'position in its list' }),
      id: t.Optional(t.String({ description: "the export's id of the item" })),
      message: t.String(),
      issues: t.Optional(t.Array(t.Object({ field: t.String(), message: t.String() }))),
    }),
  ),
})

const ImportReport = t.Object({ templates: ImportCounts, generations: ImportCounts }, { title: 'ImportReport' })

export function migrateRoutes(s: Services) {
  const importer = new MigrationImporter(s.database.db, s.templates, s.catalogue)
  return new Elysia({ name: 'kiln.migrate', prefix: '/api/v1/migrate', detail: { tags: ['migration'] } })
    .use(authPlugin(s))
    .post(
      '/import',
      async ({ user, body, request }) => {
        const report = await importer.import(user.id, body)
        s.log.info('export imported', {
          requestId: requestIdOf(request),
          userId: user.id,
          templates: { imported: report.templates.imported, skipped: report.templates.skipped, errors: report.templates.errors.length },
          generations: { imported: report.generations.imported, skipped: report.generations.skipped, errors: report.generations.errors.length },
        })
        return ok(report)
      },
      {
        auth: true,
        body: ImportBody,
        response: { 200: Envelope(ImportReport), ...commonErrors },
        detail: { summary: 'Import a v1.x export (templates and history)', description: EXPORT_FORMAT_DOC },
      },
    )
}
