/** One-time socket tickets, for clients that cannot send cookies or headers on a WebSocket upgrade. */
import { Elysia, t } from 'elysia'
import { authPlugin } from '../auth'
import { Envelope, commonErrors, ok } from '../envelope'
import type { Services } from '../services'

export function wsTicketRoutes(s: Services) {
  return new Elysia({ name: 'kiln.ws-ticket', prefix: '/api/v1/ws', detail: { tags: ['auth'] } })
    .use(authPlugin(s))
    .post(
      '/ticket',
      async ({ user, set }) => {
        const { ticket, expiresAt } = await s.tickets.issue(user.id)
        set.headers['cache-control'] = 'no-store'
        return ok({ ticket, expiresAt: expiresAt.toISOString() })
      },
      {
        auth: true,
        response: {
          200: Envelope(
            t.Object({
              ticket: t.String({ description: 'use as GET /api/v1/ws?ticket=…; single use' }),
              expiresAt: t.String({ format: 'date-time', description: '30 s after issue' }),
            }),
          ),
          ...commonErrors,
        },
        detail: { summary: 'A one-time WebSocket ticket, valid 30 s' },
      },
    )
}
