/** Templates: named generation defaults, own and public. Someone else's private template, or changing theirs, is 404. */
import { Elysia, t } from 'elysia'
import { TemplateInput, unknownKeyIssues } from '../../../domain/templates/config'
import { TEMPLATE_SCOPES, TemplateView } from '../../../domain/templates/service'
import { literals } from '../../../domain/generations/input'
import { AppError } from '../../../lib/errors'
import { authPlugin } from '../auth'
import { DeletedEnvelope, Envelope, PageEnvelope, PageQuery, commonErrors, deleted, ok, pageOf } from '../envelope'
import { requestIdOf } from '../request-context'
import type { Services } from '../services'

const IdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) })

/** Elysia drops unknown properties silently; a template must not lose a mistyped default unnoticed. */
function rejectUnknownTemplateKeys({ body }: { body: unknown }) {
  const issues = unknownKeyIssues(body)
  if (issues.length > 0) throw new AppError('VALIDATION_ERROR', 'invalid request in body', { in: 'body', issues })
}

export function templateRoutes(s: Services) {
  const templates = s.templates
  return new Elysia({ name: 'kiln.templates', prefix: '/api/v1/templates', detail: { tags: ['templates'] } })
    .use(authPlugin(s))
    .get(
      '',
      async ({ user, query }) => {
        const pageNo = query.page ?? 1
        const limit = query.limit ?? 20
        const { items, total } = await templates.list(user.id, { page: pageNo, limit, scope: query.scope ?? 'all', search: query.search })
        return pageOf(items, total, pageNo, limit)
      },
      {
        auth: true,
        query: t.Object({
          ...PageQuery,
          scope: t.Optional(literals(TEMPLATE_SCOPES, { description: 'own, public (everyone’s, yours included) or all (default)', default: 'all' })),
          search: t.Optional(t.String({ maxLength: 100, description: 'case-insensitive part of the name' })),
        }),
        response: { 200: PageEnvelope(TemplateView), ...commonErrors },
        detail: { summary: 'Your templates and everyone’s public ones, newest first' },
      },
    )
    .post(
      '',
      async ({ user, body, set, request }) => {
        const created = await templates.create(user.id, body)
        s.log.info('template created', { requestId: requestIdOf(request), userId: user.id, templateId: created.id })
        set.status = 201
        set.headers.location = `/api/v1/templates/${created.id}`
        return ok(created)
      },
      {
        auth: true,
        body: TemplateInput,
        transform: rejectUnknownTemplateKeys,
        response: { 201: Envelope(TemplateView), ...commonErrors },
        detail: {
          summary: 'Create a template',
          description:
            '`config` presets generation input fields (prompt or topic, style, palette or customColors, aspectRatio, size, seed); style and palette must be catalogue ids. Use it with `templateId` on POST /generations: explicit fields win.',
        },
      },
    )
    .get('/:id', async ({ user, params }) => ok(await templates.get(user.id, params.id)), {
      auth: true,
      params: IdParams,
      response: { 200: Envelope(TemplateView), ...commonErrors },
      detail: { summary: 'One of your templates, or a public one' },
    })
    .put(
      '/:id',
      async ({ user, params, body, request }) => {
        const updated = await templates.update(user.id, params.id, body)
        s.log.info('template updated', { requestId: requestIdOf(request), userId: user.id, templateId: updated.id })
        return ok(updated)
      },
      {
        auth: true,
        params: IdParams,
        body: TemplateInput,
        transform: rejectUnknownTemplateKeys,
        response: { 200: Envelope(TemplateView), ...commonErrors },
        detail: {
          summary: 'Replace one of your templates',
          description: 'Replaces name, description, isPublic and config as a whole: an omitted description becomes null, an omitted isPublic false.',
        },
      },
    )
    .delete(
      '/:id',
      async ({ user, params, request }) => {
        await templates.delete(user.id, params.id)
        s.log.info('template deleted', { requestId: requestIdOf(request), userId: user.id, templateId: params.id })
        return deleted(params.id)
      },
      {
        auth: true,
        params: IdParams,
        response: { 200: DeletedEnvelope, ...commonErrors },
        detail: { summary: 'Delete one of your templates (generations made from it keep its id)' },
      },
    )
}
