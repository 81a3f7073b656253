import { t } from 'elysia'
import type { AuthUser } from '../../../domain/identity/types'

export const UserSchema = t.Object(
  {
    id: t.String(),
    email: t.String(),
    name: t.Union([t.String(), t.Null()]),
    displayName: t.Union([t.String(), t.Null()]),
    avatarUrl: t.Union([t.String(), t.Null()]),
    language: t.Union([t.Literal('en'), t.Literal('ar')]),
    tier: t.Union([t.Literal('free'), t.Literal('pro'), t.Literal('enterprise')]),
    emailVerified: t.Boolean(),
    createdAt: t.String({ format: 'date-time' }),
  },
  { title: 'User' },
)

export const userView = (u: AuthUser) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  displayName: u.displayName,
  avatarUrl: u.avatarUrl,
  language: u.language,
  tier: u.tier,
  emailVerified: u.emailVerified,
  createdAt: u.createdAt.toISOString(),
})
