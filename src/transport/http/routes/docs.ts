/** The OpenAPI 3.1 document (`/docs/json`) and the Scalar UI (`/docs`), served offline from a local bundle. */
import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { SOCKET_PROTOCOL_DOC } from '../../ws/protocol-doc'
import { dirname, join } from 'node:path'

const SCALAR_BUNDLE = Bun.file(
  join(dirname(Bun.resolveSync('@scalar/api-reference', import.meta.dir)), 'browser/standalone.js'),
)

export function docsRoutes(version: string) {
  return new Elysia({ name: 'kiln.docs' })
    .get(
      '/docs/scalar.js',
      () => new Response(SCALAR_BUNDLE, { headers: { 'content-type': 'application/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' } }),
      { detail: { hide: true } },
    )
    .use(
      openapi({
        path: '/docs',
        specPath: '/docs/json',
        // Scalar's config type marks every option required; only the bundle location matters here.
        scalar: { cdn: '/docs/scalar.js' } as NonNullable<Parameters<typeof openapi>[0]>['scalar'],
        exclude: { paths: ['/docs/scalar.js'] },
        documentation: {
          servers: [{ url: '/', description: 'this Kiln node' }],
          // Public operations declare `security: []`; authenticated ones list these through the auth macro.
          security: [],
          components: {
            securitySchemes: {
              sessionCookie: { type: 'apiKey', in: 'cookie', name: 'kiln_session', description: 'browser session (Google or dev sign-in)' },
              bearerAuth: { type: 'http', scheme: 'bearer', description: 'access token from auth/token or auth/dev, or an API key' },
              apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'API key (kiln_live_…)' },
            },
          },
          info: {
            title: 'Kiln API',
            version,
            license: { name: 'MIT', identifier: 'MIT' },
            description:
              'Realtime image generation: sign in, ask for an image in a style, size and palette, watch it being made over a WebSocket (`GET /api/v1/ws`), and find it later in your history. Every response is an envelope `{ success, data }` or `{ success: false, error: { code, message, details?, requestId } }`.',
          },
          tags: [
            { name: 'ops', description: 'Health and metrics' },
            { name: 'catalogue', description: 'Styles and palettes' },
            { name: 'realtime', description: SOCKET_PROTOCOL_DOC },
          ],
        },
      }),
    )
}
