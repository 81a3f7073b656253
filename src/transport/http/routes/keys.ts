/** API keys: create (the secret is shown once), list, revoke. Someone else's key is 404. */
import { Elysia, t } from 'elysia'
import type { ApiKeyView } from '../../../domain/identity/api-keys'
import { authPlugin } from '../auth'
import { Envelope, ErrorBody, PageEnvelope, PageQuery, commonErrors, ok, pageOf } from '../envelope'
import { requestIdOf } from '../request-context'
import type { Services } from '../services'
import { rejectUnknownKeys } from '../strict-body'
import { announceRevoked } from '../../ws/revocations'

export const ApiKeySchema = t.Object(
  {
    id: t.String(),
    name: t.String(),
    prefix: t.String({ description: 'visible start of the key, e.g. kiln_live_ab12cd34', examples: ['kiln_live_ab12cd34'] }),
    createdAt: t.String({ format: 'date-time' }),
    lastUsedAt: t.Union([t.String({ format: 'date-time' }), t.Null()], { description: 'updated at most once a minute' }),
    expiresAt: t.Union([t.String({ format: 'date-time' }), t.Null()]),
  },
  { title: 'ApiKey' },
)

const CreatedApiKeySchema = t.Object(
  {
    ...ApiKeySchema.properties,
    key: t.String({ description: 'the whole key; shown only in this response, store it now' }),
  },
  { title: 'CreatedApiKey' },
)

const CreateKeyBody = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 100 }),
    expiresAt: t.Optional(t.String({ format: 'date-time', description: 'optional expiry; must be in the future' })),
  },
  { additionalProperties: false },
)

const keyView = (k: ApiKeyView) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  expiresAt: k.expiresAt?.toISOString() ?? null,
})

export function keysRoutes(s: Services) {
  return new Elysia({ name: 'kiln.keys', prefix: '/api/v1/keys', detail: { tags: ['keys'] } })
    .use(authPlugin(s))
    .get(
      '',
      async ({ user, query }) => {
        const pageNo = query.page ?? 1
        const limit = query.limit ?? 20
        const { items, total } = await s.apiKeys.list(user.id, pageNo, limit)
        return pageOf(items.map(keyView), total, pageNo, limit)
      },
      {
        auth: true,
        query: t.Object(PageQuery),
        response: { 200: PageEnvelope(ApiKeySchema), ...commonErrors },
        detail: { summary: "List the user's API keys (never the secrets)" },
      },
    )
    .post(
      '',
      async ({ user, body, set, request }) => {
        const requestId = requestIdOf(request)
        const created = await s.apiKeys.create(user.id, body.name, body.expiresAt ? new Date(body.expiresAt) : undefined)
        s.log.info('api key created', { requestId, userId: user.id, keyId: created.id, prefix: created.prefix })
        set.status = 201
        set.headers['cache-control'] = 'no-store'
        return ok({ ...keyView(created), key: created.key })
      },
      {
        auth: true,
        body: CreateKeyBody,
        transform: rejectUnknownKeys(CreateKeyBody),
        response: { 201: Envelope(CreatedApiKeySchema), ...commonErrors, 409: ErrorBody },
        detail: { summary: 'Create an API key (the key is in this response only)' },
      },
    )
    .delete(
      '/:id',
      async ({ user, params, request }) => {
        const requestId = requestIdOf(request)
        await s.apiKeys.revoke(user.id, params.id)
        await s.refreshTokens.revokeForApiKey(params.id)
        await announceRevoked(s.bus, user.id, [params.id])
        s.log.info('api key revoked', { requestId, userId: user.id, keyId: params.id })
        return ok({ id: params.id, revoked: true })
      },
      {
        auth: true,
        params: t.Object({ id: t.String({ maxLength: 64 }) }),
        response: { 200: Envelope(t.Object({ id: t.String(), revoked: t.Boolean() })), ...commonErrors },
        detail: { summary: 'Revoke an API key (and the refresh tokens made from it)' },
      },
    )
}
