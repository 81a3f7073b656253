/** What session actors are given by the composition root: adapters, the repository and tuning. */
import type { Db } from '../adapters/db/client'
import type { EventLog } from '../adapters/coordination/bus'
import type { ModelProvider } from '../adapters/models/model'
import type { Storage } from '../adapters/storage/storage'
import type { InputLookups } from '../domain/generations/input'
import type { GenerationRepository } from '../domain/generations/repository'
import type { UsageReader } from '../domain/usage/reader'
import type { Logger } from '../lib/logger'
import type { NodeSlots } from './node-slots'

/** The finished image as the finalizer hands it over: WebP full size and 400 px thumbnail. */
export interface FinalImage {
  full: Uint8Array
  thumb: Uint8Array
  width: number
  height: number
  bytes: number
}

export interface ActorOptions {
  /** Provider attempts per job before it fails (the first try included). */
  maxAttempts: number
  /** First retry delay; doubles each attempt, with jitter. */
  retryBaseMs: number
  /** A job still running this long after it started fails with TIMEOUT. */
  jobDeadlineMs: number
  /** An actor with nothing to do for this long is passivated. */
  idleMs: number
  /** Shortest gap between two progress writes of one job to the database. */
  progressWriteMs: number
  /** Hosts exempt from the SSRF guard when downloading provider results (WEBHOOK_ALLOW_PRIVATE; tests only). */
  allowPrivateHosts: readonly string[]
  /** Jobs this node runs at once across all users (capacity; see NodeSlots). */
  maxRunningJobs: number
}

export const DEFAULT_ACTOR_OPTIONS: ActorOptions = {
  maxAttempts: 3,
  retryBaseMs: 1000,
  jobDeadlineMs: 10 * 60_000,
  idleMs: 120_000,
  progressWriteMs: 250,
  allowPrivateHosts: [],
  maxRunningJobs: 64,
}

/**
 * Sees every event a session actor emits, right after it is appended to the
 * user's log, on the one node that owns the actor (so once per event across a
 * cluster). Batches and outgoing webhooks follow jobs this way. Must not
 * throw or block: slow work is queued by the observer itself.
 */
export type ActorEventObserver = (userId: string, type: string, data: Record<string, unknown>) => void

/**
 * Appends an event to the user's log and shows it to every observer. Session
 * actors emit through it, and so do batches, so webhooks see both alike. A
 * failing append is logged (the event is lost to replay, not to the observers).
 */
export function publishUserEvent(
  to: { eventLog: EventLog; observers: readonly ActorEventObserver[]; log: Logger },
  userId: string,
  type: string,
  data: Record<string, unknown>,
): void {
  to.eventLog.append(userId, type, data).catch((err) => to.log.warn('event append failed', { userId, type, err: err as Error }))
  for (const observe of to.observers) {
    try {
      observe(userId, type, data)
    } catch (err) {
      to.log.error('event observer failed', { userId, type, err: err as Error })
    }
  }
}

export interface ActorContext {
  /** Called for every emitted event, in order (see ActorEventObserver). */
  observers: readonly ActorEventObserver[]
  db: Db
  repo: GenerationRepository
  lookups: InputLookups
  provider: ModelProvider
  storage: Storage
  finalize(bytes: Uint8Array): Promise<FinalImage>
  eventLog: EventLog
  /** Read-only quota arithmetic (the 429 body and headers). */
  usage: Pick<UsageReader, 'quotaSnapshot'>
  log: Logger
  options: ActorOptions
  slots: NodeSlots
}
