/** The signed-in user's profile and statistics. */
import { Elysia, t } from 'elysia'
import { notFound } from '../../../lib/errors'
import { authPlugin } from '../auth'
import { Envelope, commonErrors, ok } from '../envelope'
import type { Services } from '../services'
import { rejectUnknownKeys } from '../strict-body'
import { UserSchema, userView } from './user-view'

const ProfilePatch = t.Object(
  {
    displayName: t.Optional(t.Union([t.String({ minLength: 1, maxLength: 100 }), t.Null()])),
    avatarUrl: t.Optional(t.Union([t.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }), t.Null()])),
    language: t.Optional(t.Union([t.Literal('en'), t.Literal('ar')])),
  },
  { additionalProperties: false, minProperties: 1 },
)

const StatsSchema = t.Object(
  {
    totalGenerations: t.Integer(),
    completed: t.Integer(),
    liked: t.Integer(),
    downloads: t.Integer(),
    favouriteStyle: t.Union([t.String(), t.Null()], { description: 'the style used most often' }),
    thisMonth: t.Integer({ description: 'generations counted against quota this UTC month' }),
  },
  { title: 'UserStats' },
)

export function userRoutes(s: Services) {
  return new Elysia({ name: 'kiln.user', prefix: '/api/v1/user', detail: { tags: ['user'] } })
    .use(authPlugin(s))
    .get('/profile', ({ user }) => ok(userView(user)), {
      auth: true,
      response: { 200: Envelope(UserSchema), ...commonErrors },
      detail: { summary: 'The profile' },
    })
    .patch(
      '/profile',
      async ({ user, body }) => {
        const updated = await s.users.updateProfile(user.id, body)
        if (!updated) throw notFound('user')
        return ok(userView(updated))
      },
      {
        auth: true,
        body: ProfilePatch,
        transform: rejectUnknownKeys(ProfilePatch),
        response: { 200: Envelope(UserSchema), ...commonErrors },
        detail: { summary: 'Change display name, avatar URL or language (en, ar)' },
      },
    )
    .get('/stats', async ({ user }) => ok(await s.usage.stats(user.id)), {
      auth: true,
      response: { 200: Envelope(StatsSchema), ...commonErrors },
      detail: { summary: 'Totals: generations, completed, liked, downloads, favourite style, this month' },
    })
}
