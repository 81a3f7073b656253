import type { HealthCheck } from '../../lib/health'

/** One event of a user's log, as the socket protocol sends it. */
export interface KilnEvent {
  v: 1
  /** Log id; `resume` continues after it. Monotone per user. */
  id: string
  type: string
  ts: string
  data: Record<string, unknown>
}

/** The per-user event log: an in-memory ring embedded, a capped Redis Stream in a cluster. */
export interface EventLog {
  /** Appends and publishes an event; returns it with its id. */
  append(userId: string, type: string, data: Record<string, unknown>): Promise<KilnEvent>
  /** Events strictly after `lastEventId`; `gap` is true when that id is older than the log keeps. */
  readAfter(userId: string, lastEventId: string, limit?: number): Promise<{ events: KilnEvent[]; gap: boolean }>
  latestId(userId: string): Promise<string | null>
  /** Live events of a user (every node that holds a socket of the user subscribes). */
  subscribe(userId: string, onEvent: (event: KilnEvent) => void): () => void
}

/** Messages between nodes (and, embedded, within one): topics with handlers. */
export interface Bus {
  readonly kind: 'memory' | 'redis'
  publish(topic: string, message: string): Promise<void>
  subscribe(topic: string, handler: (message: string) => void): Promise<() => Promise<void>>
  health(): Promise<HealthCheck>
  close(): Promise<void>
}
