/** The Elysia application: plumbing first, then one plugin per resource. */
import { Elysia } from 'elysia'
import { errorHandler } from './errors'
import { requestContext } from './request-context'
import { accountRoutes } from './routes/account'
import { authRoutes } from './routes/auth'
import { googleAuthRoutes } from './routes/auth-google'
import { keysRoutes } from './routes/keys'
import { userRoutes } from './routes/user'
import { wsTicketRoutes } from './routes/ws-ticket'
import { catalogueRoutes } from './routes/catalogue'
import { docsRoutes } from './routes/docs'
import { healthRoutes } from './routes/health'
import { falWebhookRoutes } from './routes/fal-webhook'
import { uploadRoutes } from './routes/uploads'
import { generationRoutes } from './routes/generations'
import { batchRoutes } from './routes/batches'
import { templateRoutes } from './routes/templates'
import { migrateRoutes } from './routes/migrate'
import { webhookRoutes } from './routes/webhooks'
import { fileRoutes } from './routes/files'
import { staticRoutes } from './routes/static'
import { playgroundRoutes } from './routes/playground'
import type { Services } from './services'
import { socketRoutes, WS_SERVER_OPTIONS } from '../ws/gateway'

/** `websocket` overrides the socket server options (tests shorten `idleTimeout`). */
export function createApp(s: Services, opts: { websocket?: Partial<typeof WS_SERVER_OPTIONS> } = {}) {
  return new Elysia({ name: 'kiln', websocket: { ...WS_SERVER_OPTIONS, ...opts.websocket } })
    .use(requestContext({ log: s.log, metrics: s.metrics }))
    .use(errorHandler(s.log))
    .use(docsRoutes(s.version))
    .use(healthRoutes(s))
    .use(catalogueRoutes(s))
    .use(authRoutes(s))
    .use(googleAuthRoutes(s))
    .use(keysRoutes(s))
    .use(userRoutes(s))
    .use(accountRoutes(s))
    .use(wsTicketRoutes(s))
    .use(socketRoutes(s))
    .use(uploadRoutes(s))
    .use(generationRoutes(s))
    .use(batchRoutes(s))
    .use(templateRoutes(s))
    .use(migrateRoutes(s))
    .use(webhookRoutes(s))
    .use(falWebhookRoutes(s))
    .use(fileRoutes(s))
    .use(staticRoutes(s))
    .use(playgroundRoutes(s))
}

/** The app's type, for Eden Treaty clients. */
export type App = ReturnType<typeof createApp>
