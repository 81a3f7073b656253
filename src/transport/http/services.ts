/**
 * What the HTTP and socket transports are given by the composition root
 * (`main.ts`). Transports call services; they never construct adapters.
 */
import type { Config } from '../../config'
import type { Database } from '../../adapters/db/client'
import type { CatalogueService } from '../../domain/catalogue/service'
import type { HealthCheck } from '../../lib/health'
import type { Logger } from '../../lib/logger'
import type { Metrics } from './metrics'
import type { Bus, EventLog } from '../../adapters/coordination/bus'
import type { AccessTokens } from '../../domain/identity/access-tokens'
import type { Authenticator } from '../../domain/identity/authenticator'
import type { SessionStore } from '../../domain/identity/sessions'
import type { UserStore } from '../../domain/identity/users'
import type { ApiKeyStore } from '../../domain/identity/api-keys'
import type { OAuthAccounts } from '../../domain/identity/oauth-accounts'
import type { RefreshTokenStore } from '../../domain/identity/refresh-tokens'
import type { TicketStore } from '../../domain/identity/tickets'
import type { UsageReader } from '../../domain/usage/reader'
import type { OAuthProvider } from '../../adapters/oauth/oauth'
import type { FalProvider } from '../../adapters/models/fal'
import type { UploadService } from '../../domain/uploads/service'
import type { SocketHub } from '../ws/hub'
import type { SocketRegistry } from '../ws/socket-registry'
import type { ActorRuntime, GenerationService } from '../../actors'
import type { TemplateService } from '../../domain/templates/service'
import type { BatchService } from '../../domain/batches/service'
import type { ModelProvider } from '../../adapters/models/model'
import type { Storage } from '../../adapters/storage/storage'
import type { WebhookRegistry } from '../../domain/webhooks/registry'

export interface Services {
  config: Config
  log: Logger
  database: Database
  metrics: Metrics
  catalogue: CatalogueService
  users: UserStore
  sessions: SessionStore
  accessTokens: AccessTokens
  auth: Authenticator
  apiKeys: ApiKeyStore
  refreshTokens: RefreshTokenStore
  /** One-time socket tickets; the socket gateway calls `tickets.redeem` on upgrade. */
  tickets: TicketStore
  oauthAccounts: OAuthAccounts
  /** Google sign-in; undefined unless GOOGLE_CLIENT_ID/SECRET are set. */
  google?: OAuthProvider
  /** Read-only usage and quota arithmetic (account endpoints, X-Quota-* headers). */
  usage: UsageReader
  bus: Bus
  eventLog: EventLog
  version: string
  /** `performance.now()`-independent start time, for uptime. */
  startedAt: number
  /** Dependency checks beyond the database, by name (`redis`, `storage`, `provider`). */
  checks: Record<string, () => Promise<HealthCheck>>
  /** Set once shutdown begins: readiness turns 503 so load balancers drain this node. */
  draining: { value: boolean }
  /** This node's WebSockets (`closeAll()` on shutdown) and their event-log fan-out. */
  sockets: SocketHub
  /** The per-user socket cap across nodes (a no-op on one node, where the hub's cap is the whole story). */
  socketClaims: SocketRegistry
  /** Source images for image-to-image (`POST uploads/image`, multipart `sourceImage`). */
  uploads: UploadService
  /** fal's signed completion webhooks; undefined unless FAL_KEY is set. */
  falWebhooks?: Pick<FalProvider, 'receiveWebhook'>
  /** Generations: submit, history, cancel, download. REST, the socket gateway and batches call it. */
  generations: GenerationService
  /** Where session actors live: all on this node, or one owner per user across a cluster. */
  actors: ActorRuntime
  /** Where images live: files under DATA_DIR (embedded) or an S3 bucket. */
  storage: Storage
  /** The image model: `local` (embedded) or `fal`. */
  provider: ModelProvider
  /** Templates: own and public generation defaults (REST and migration import). */
  templates: TemplateService
  /** Batches: many generations as one request, followed through their jobs' events. */
  batches: BatchService
  /** Outgoing webhooks: registrations, their delivery log, test sends and redelivery. */
  webhooks: WebhookRegistry
}
