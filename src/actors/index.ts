/**
 * Assembles the generation machinery for the composition root: repository,
 * lookups, the actor runtime and `services.generations`.
 */
import type { EventLog } from '../adapters/coordination/bus'
import type { Db } from '../adapters/db/client'
import type { ModelProvider } from '../adapters/models/model'
import type { Storage } from '../adapters/storage/storage'
import type { CatalogueService } from '../domain/catalogue/service'
import type { InputLookups } from '../domain/generations/input'
import { GenerationRepository } from '../domain/generations/repository'
import type { UsageReader } from '../domain/usage/reader'
import type { Logger } from '../lib/logger'
import type { RedisConnections } from '../adapters/coordination/redis'
import { ClusterActorRuntime } from './cluster-runtime'
import { type ActorContext, type ActorEventObserver, type ActorOptions, DEFAULT_ACTOR_OPTIONS, type FinalImage } from './context'
import { GenerationService } from './generation-service'
import { NodeSlots } from './node-slots'
import { type ActorRuntime, LocalActorRuntime } from './runtime'

export { GenerationService } from './generation-service'
export type { ActorRuntime } from './runtime'

export interface GenerationDeps {
  db: Db
  log: Logger
  eventLog: EventLog
  usage: Pick<UsageReader, 'quotaSnapshot'>
  catalogue: CatalogueService
  /** The model provider and storage (read when used, so a test may swap them on a running node). */
  media: { readonly provider: ModelProvider; readonly storage: Storage }
  finalize(bytes: Uint8Array): Promise<FinalImage>
  options?: Partial<ActorOptions>
  /** Followers of every actor event (batches, outgoing webhooks); more may be pushed before jobs start. */
  observers?: ActorEventObserver[]
  /** Several nodes over Redis: actors are owned through leases and reached by forwarding (cluster-runtime.ts). */
  cluster?: { redis: RedisConnections; node: string; leaseMs: number }
}

/**
 * Actor pacing: the local provider runs at a speed factor (LOCAL_PROVIDER_SPEED),
 * and its retries and deadline follow the same pace so fast test runs stay
 * fast without changing behaviour. A real provider keeps the defaults.
 */
export function actorOptionsFor(provider: 'local' | 'fal', localSpeed: number): Partial<ActorOptions> {
  if (provider !== 'local') return {}
  return {
    retryBaseMs: Math.max(5, Math.round(DEFAULT_ACTOR_OPTIONS.retryBaseMs * localSpeed)),
    // The local provider renders on this machine's CPU: a few at a time is all it can use.
    maxRunningJobs: 16,
    // Rendering and encoding are CPU work that the speed factor does not shorten: on a busy
    // machine jobs wait their turn for the image slots, so the deadline keeps a wide floor.
    jobDeadlineMs: Math.max(60_000, Math.round(DEFAULT_ACTOR_OPTIONS.jobDeadlineMs * localSpeed)),
  }
}

export function createGenerations(deps: GenerationDeps): {
  runtime: ActorRuntime
  service: GenerationService
  repo: GenerationRepository
  lookups: InputLookups
} {
  const repo = new GenerationRepository(deps.db)
  const lookups: InputLookups = {
    style: (id) => deps.catalogue.getStyle(id),
    palette: (id) => deps.catalogue.getPalette(id),
    template: (userId, id) => repo.templateFor(userId, id),
    upload: (userId, id) => repo.uploadOf(userId, id),
  }
  const media = deps.media
  const options = { ...DEFAULT_ACTOR_OPTIONS, ...deps.options }
  const ctx: ActorContext = {
    observers: deps.observers ?? [],
    db: deps.db,
    repo,
    lookups,
    get provider() {
      return media.provider
    },
    get storage() {
      return media.storage
    },
    finalize: deps.finalize,
    eventLog: deps.eventLog,
    usage: deps.usage,
    log: deps.log.child({ part: 'actors' }),
    options,
    slots: new NodeSlots(options.maxRunningJobs),
  }
  const runtime = deps.cluster ? new ClusterActorRuntime(ctx, deps.cluster.redis, deps.cluster) : new LocalActorRuntime(ctx)
  return { runtime, repo, lookups, service: new GenerationService(runtime, repo, lookups, media) }
}
