/**
 * Composition root: config → adapters → services → transport → listen.
 * The only module that knows which concrete adapter runs.
 */
import type { Storage } from './adapters/storage/storage'
import { ConfigError, type Config, loadConfig } from './config'
import { type Database, openDatabase } from './adapters/db/client'
import { seedCatalogue } from './adapters/db/seed'
import { MemoryBus, MemoryEventLog } from './adapters/coordination/memory'
import { shareGeneratedSecrets } from './adapters/db/shared-secrets'
import { CatalogueService } from './domain/catalogue/service'
import { AccessTokens } from './domain/identity/access-tokens'
import { Authenticator } from './domain/identity/authenticator'
import { SessionStore } from './domain/identity/sessions'
import { UserStore } from './domain/identity/users'
import { ApiKeyStore } from './domain/identity/api-keys'
import { OAuthAccounts } from './domain/identity/oauth-accounts'
import { RefreshTokenStore } from './domain/identity/refresh-tokens'
import { TicketStore } from './domain/identity/tickets'
import { UsageReader } from './domain/usage/reader'
import { type GoogleEndpoints, GoogleOAuth } from './adapters/oauth/google'
import { createLogger, type Logger } from './lib/logger'
import { FAL_COMPLETIONS_TOPIC, FalProvider, falWebhookUrl } from './adapters/models/fal'
import { LocalStorage } from './adapters/storage/local'
import { LocalModelProvider } from './adapters/models/local'
import { finalizeImage, imageSlots } from './domain/generations/images'
import { UploadService } from './domain/uploads/service'
import { TemplateService } from './domain/templates/service'
import { BatchService } from './domain/batches/service'
import { type DispatcherOptions, WebhookDispatcher } from './domain/webhooks/dispatcher'
import { WebhookEventRecorder } from './domain/webhooks/recorder'
import { WebhookRegistry } from './domain/webhooks/registry'
import { actorOptionsFor, createGenerations } from './actors'
import { type ActorEventObserver, publishUserEvent } from './actors/context'
import { createApp } from './transport/http/app'
import { SocketHub } from './transport/ws/hub'
import { LIMITS } from './transport/ws/protocol'
import { RedisSocketRegistry, singleNodeSockets } from './transport/ws/socket-registry'
import { announceRevoked, closeSocketsOnRevocation } from './transport/ws/revocations'
import { startHousekeeping } from './domain/housekeeping'
import { createMetrics, registerNodeGauges } from './transport/http/metrics'
import { MAX_BODY_BYTES } from './transport/http/request-context'
import type { Services } from './transport/http/services'
import pkg from '../package.json'

/** Longest a graceful shutdown may take before the process exits anyway; fly.toml's kill_timeout must exceed it. */
export const SHUTDOWN_BOUND_MS = 25_000
/** Readiness answers 503 this long while the listener stays open, so probes and proxies see the node leave first. */
export const DRAIN_WINDOW_MS = 1_000

export interface Kiln {
  services: Services
  app: ReturnType<typeof createApp>
  /** Stops accepting, finishes in-flight work, closes pools. */
  stop(): Promise<void>
}

/** Builds every part of Kiln for a validated config, without listening. */
export async function buildKiln(
  config: Config,
  log: Logger = createLogger(config.logLevel, { node: config.nodeName }),
  given: {
    database?: Database
    googleEndpoints?: Partial<GoogleEndpoints>
    webhooks?: Partial<DispatcherOptions>
    /** Socket server overrides, e.g. a short `idleTimeout` (seconds) in tests. */
    websocket?: { idleTimeout?: number }
  } = {},
): Promise<Kiln> {
  // Redis connects while the database opens; embedded mode stays in-process.
  const [database, redis] = await Promise.all([
    given.database ?? openDatabase(config),
    // Imported only when configured: node-redis costs ~100 ms of start-up that embedded mode never needs.
    config.redisUrl
      ? import('./adapters/coordination/redis').then((m) => m.openRedisCoordination(config.redisUrl!, log))
      : undefined,
  ])
  // Several nodes on one PostgreSQL agree on the secrets they generated (embedded mode keeps them under DATA_DIR).
  if (database.kind === 'postgres') await shareGeneratedSecrets(database.db, config)
  await seedCatalogue(database.db)
  const users = new UserStore(database.db)
  const sessions = new SessionStore(database.db)
  const accessTokens = new AccessTokens(config.jwtSecret)
  const apiKeys = new ApiKeyStore(database.db)
  const bus = redis?.bus ?? new MemoryBus()
  const refreshTokens = new RefreshTokenStore(database.db, log, (userId, families) => announceRevoked(bus, userId, families))
  const auth = new Authenticator(users, sessions, accessTokens, apiKeys.verify, (fam) => refreshTokens.familyActive(fam))
  const google = config.google && new GoogleOAuth({ ...config.google, endpoints: given.googleEndpoints })
  // Production adapters when configured (S3_*, FAL_KEY); the embedded ones otherwise.
  // The AWS SDK is imported only when S3_* is set: it costs ~80 ms of every embedded start.
  const s3Storage = config.s3 && new (await import('./adapters/storage/s3')).S3Storage(config.s3)
  const falProvider =
    config.fal &&
    new FalProvider({
      ...config.fal,
      webhookUrl: falWebhookUrl(config.publicUrl, config.webhookAllowPrivate),
      log: log.child({ part: 'fal' }),
    })
  const storage: Storage = s3Storage || new LocalStorage({ dataDir: config.dataDir, publicUrl: config.publicUrl, secret: config.sessionSecret })
  const provider = falProvider || new LocalModelProvider({ speed: config.localProviderSpeed, slots: imageSlots })
  const eventLog = redis?.eventLog ?? new MemoryEventLog()
  const catalogue = new CatalogueService(database.db)
  const usage = new UsageReader(database.db)
  // Session actors and the generation lifecycle. Observers follow every actor event (batches, outgoing webhooks).
  const actorObservers: ActorEventObserver[] = []
  // Outgoing webhooks: events become delivery rows here; every node's dispatcher sends due rows.
  const webhookDispatcher = new WebhookDispatcher(database.db, log.child({ part: 'webhooks' }), { ...given.webhooks, allowPrivate: config.webhookAllowPrivate })
  const webhookRecorder = new WebhookEventRecorder(database.db, log.child({ part: 'webhooks' }), () => webhookDispatcher.wake())
  actorObservers.push(webhookRecorder.observe)
  const generations = createGenerations({
    observers: actorObservers,
    cluster: redis && { redis: redis.conn, node: config.nodeName, leaseMs: config.actorLeaseMs },
    db: database.db,
    log,
    eventLog,
    usage,
    catalogue,
    media: { provider, storage },
    finalize: (bytes) => finalizeImage(bytes),
    options: { ...actorOptionsFor(config.fal ? 'fal' : 'local', config.localProviderSpeed), allowPrivateHosts: config.webhookAllowPrivate },
  })
  const batches = new BatchService({
    db: database.db,
    jobs: generations.service,
    lookups: generations.lookups,
    usage,
    media: { storage },
    // Batch events go to the user's log and to every observer (webhooks), as actor events do.
    emit: (userId, type, data) => publishUserEvent({ eventLog, observers: actorObservers, log }, userId, type, data),
    log: log.child({ part: 'batches' }),
  })
  actorObservers.push(batches.tracker.observe)
  const services: Services = {
    config,
    log,
    database,
    metrics: createMetrics(),
    catalogue,
    users,
    sessions,
    accessTokens,
    auth,
    apiKeys,
    refreshTokens,
    tickets: new TicketStore(database.db, users),
    oauthAccounts: new OAuthAccounts(database.db, users),
    google,
    usage,
    bus,
    eventLog,
    version: pkg.version,
    startedAt: Date.now(),
    checks: {
      ...(redis ? { redis: redis.health } : {}),
      storage: () => storage.health(),
      provider: () => provider.health(),
    },
    draining: { value: false },
    sockets: new SocketHub(log.child({ part: 'ws' })),
    socketClaims: redis ? new RedisSocketRegistry(redis.conn, log.child({ part: 'ws' }), LIMITS.socketsPerUser) : singleNodeSockets,
    uploads: new UploadService(database.db, storage, log.child({ part: 'uploads' }), { imageSlots }),
    falWebhooks: falProvider || undefined,
    generations: generations.service,
    actors: generations.runtime,
    storage,
    provider,
    templates: new TemplateService(database.db, catalogue),
    batches,
    webhooks: new WebhookRegistry(database.db, { allowPrivate: config.webhookAllowPrivate, onQueued: () => webhookDispatcher.wake() }),
  }
  if (config.redisUrl && !config.s3)
    log.warn('local files serve one node only: set S3_* when running several nodes with REDIS_URL')
  const stats = () => generations.runtime.stats()
  registerNodeGauges(services.metrics, {
    sockets: () => services.sockets.size,
    actors: () => stats().actors,
    runningJobs: () => stats().runningJobs,
    ...(redis ? { leases: () => stats().leases ?? 0 } : {}),
  })
  const app = createApp(services, { websocket: given.websocket })
  // Not awaited: a node whose Redis is down still starts (and reports 503 until it is back).
  closeSocketsOnRevocation(services.bus, services.sockets).catch((err) => log.warn('revocation subscription failed', { err: err as Error }))
  const stopHousekeeping = startHousekeeping(database.db, log.child({ part: 'housekeeping' }), undefined, [() => batches.sweepStalled()])
  webhookDispatcher.start()
  // In a cluster, fal's webhook may land on a node that does not watch the job: that node relays it here.
  if (falProvider && services.bus.kind === 'redis')
    await services.bus.subscribe(FAL_COMPLETIONS_TOPIC, (m) => void falProvider.handleWebhook(JSON.parse(m)))
  // Jobs left unfinished by a previous run are resumed (or failed) now, not on their owner's next request.
  await generations.runtime.recover()
  return {
    services,
    app,
    async stop() {
      services.draining.value = true
      stopHousekeeping()
      services.sockets.closeAll()
      services.socketClaims.close()
      // Running jobs stop without ending: the next start resumes them from PostgreSQL.
      await generations.runtime.stop()
      // Events of the jobs that just stopped are written; sends in flight end or go back to pending.
      await webhookRecorder.flush()
      await webhookDispatcher.stop()
      storage.close?.()
      await redis?.close()
      await database.close()
    },
  }
}

/** Starts Kiln from the environment and handles SIGTERM/SIGINT. */
export async function start(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`kiln: invalid configuration: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
  const log = createLogger(config.logLevel, { node: config.nodeName })
  const t0 = performance.now()
  const kiln = await buildKiln(config, log)
  const server = kiln.app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: MAX_BODY_BYTES })
  log.info('listening', {
    url: `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${server.server?.port}`,
    publicUrl: config.publicUrl,
    database: kiln.services.database.kind,
    startupMs: Math.round(performance.now() - t0),
  })

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('shutting down', { signal })
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting')
      process.exit(1)
    }, SHUTDOWN_BOUND_MS)
    try {
      kiln.services.draining.value = true
      await Bun.sleep(DRAIN_WINDOW_MS)
      // Sockets first, with 1012, so clients reconnect to another node while this one drains.
      kiln.services.sockets.closeAll()
      // Stops accepting; resolves once in-flight requests have been answered.
      await server.server?.stop(false)
      await kiln.stop()
      clearTimeout(force)
      log.info('stopped')
      process.exit(0)
    } catch (err) {
      log.error('shutdown failed', { err: err as Error })
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

if (import.meta.main) await start()
