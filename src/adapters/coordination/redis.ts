/**
 * Cluster coordination over Redis (node-redis 6): a pub/sub bus between nodes
 * and the per-user event log as a capped Redis Stream.
 *
 * Two connections per node: one for commands, one in subscriber mode (a
 * connection that subscribes can run nothing else). node-redis reconnects on
 * its own and resubscribes every channel afterwards, so subscribers survive a
 * Redis restart; events published while a node was cut off are recovered by
 * the client's `resume` (readAfter), not by pub/sub.
 */
import { createClient } from 'redis'
import { type HealthCheck, timedCheck } from '../../lib/health'
import type { Logger } from '../../lib/logger'
import type { Bus, EventLog, KilnEvent } from './bus'
import { compareEventIds, isEventId } from './memory'

type Client = ReturnType<typeof createClient>

const streamKey = (userId: string) => `kiln:events:${userId}`
const liveChannel = (userId: string) => `kiln:events:live:${userId}`
const busChannel = (topic: string) => `kiln:bus:${topic}`

/** An idle user's stream expires after a week: replay is for reconnects, history lives in PostgreSQL. */
const STREAM_TTL_MS = 7 * 24 * 3600 * 1000

/**
 * XADD and PUBLISH in one script, so every node receives live events in the
 * same order as the stream holds them, and no event is logged but never announced.
 */
const APPEND_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[2], 'ts', ARGV[3], 'data', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
return id`

/** Channel → handlers on the shared subscriber connection, subscribing once per channel. */
class Subscriptions {
  private readonly handlers = new Map<string, Set<(message: string) => void>>()
  private readonly pending = new Set<Promise<unknown>>()
  private readonly listeners = new WeakMap<Set<(message: string) => void>, (message: string) => void>()

  constructor(
    private readonly sub: Client,
    private readonly log: Logger,
  ) {}

  add(channel: string, handler: (message: string) => void): () => Promise<void> {
    let set = this.handlers.get(channel)
    if (!set) {
      const fresh = new Set<(message: string) => void>()
      this.handlers.set(channel, (set = fresh))
      this.listeners.set(fresh, (message: string) => this.dispatch(fresh, message))
      this.track(this.sub.subscribe(channel, this.listeners.get(fresh)!))
    }
    set.add(handler)
    return async () => {
      set.delete(handler)
      if (set.size > 0 || this.handlers.get(channel) !== set) return
      this.handlers.delete(channel)
      // Naming the listener lets a quick re-subscribe to the same channel keep its own one.
      await this.track(this.sub.unsubscribe(channel, this.listeners.get(set)))
    }
  }

  /** Resolves once every SUBSCRIBE/UNSUBSCRIBE sent so far has been acknowledged by Redis. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }

  private dispatch(set: Set<(message: string) => void>, message: string) {
    for (const h of set) {
      try {
        h(message)
      } catch (err) {
        this.log.error('redis subscriber handler failed', { err: err as Error })
      }
    }
  }

  private track(p: Promise<unknown>): Promise<void> {
    const tracked = p.then(
      () => undefined,
      (err) => this.log.warn('redis subscription change failed', { err: err as Error }),
    )
    this.pending.add(tracked)
    void tracked.finally(() => this.pending.delete(tracked))
    return tracked
  }
}

/** Both connections of a node, opened together and closed together. */
export class RedisConnections {
  readonly cmd: Client
  readonly sub: Client
  readonly subscriptions: Subscriptions

  constructor(
    url: string,
    private readonly log: Logger,
    opts: { commandTimeoutMs?: number } = {},
  ) {
    // Retry forever with capped backoff: a node keeps serving (and reports
    // not-ready) while Redis is away, and heals when it comes back.
    const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 2000) + Math.floor(Math.random() * 50)
    const socket = { reconnectStrategy, connectTimeout: 2000 }
    // Commands wait in the offline queue through a short blip, but fail after a bound
    // rather than hang an actor or a socket for as long as Redis is away.
    this.cmd = createClient({ url, socket, commandOptions: { timeout: opts.commandTimeoutMs ?? 5000 } })
    // The subscriber has no command timeout: node-redis replays its subscriptions on reconnect.
    this.sub = createClient({ url, socket })
    let lastError = ''
    for (const [name, c] of [['commands', this.cmd], ['subscriber', this.sub]] as const) {
      // Without an error listener node-redis would crash the process; log each distinct error once.
      c.on('error', (err: Error) => {
        if (err.message === lastError) return
        lastError = err.message
        log.warn('redis connection error', { connection: name, err: err.message })
      })
      c.on('ready', () => {
        lastError = ''
        log.debug('redis connected', { connection: name })
      })
    }
    this.subscriptions = new Subscriptions(this.sub, log)
  }

  /**
   * Starts connecting; resolves when both connections are ready, or early on the first
   * failure or after `waitMs`, leaving the clients retrying in the background.
   */
  async open(waitMs = 3000): Promise<boolean> {
    const both = Promise.all([this.cmd.connect(), this.sub.connect()]).then(() => true)
    both.catch(() => {})
    let timer: ReturnType<typeof setTimeout> | undefined
    let onError: (() => void) | undefined
    const firstError = new Promise<boolean>((resolve) => {
      onError = () => resolve(false)
      this.cmd.once('error', onError)
      timer = setTimeout(() => resolve(false), waitMs)
    })
    const ready = await Promise.race([both, firstError])
    clearTimeout(timer)
    if (onError) this.cmd.off('error', onError)
    if (!ready) this.log.warn('redis unreachable at start; readiness reports it down until it connects')
    return ready
  }

  /** PING latency; down at once when the connection is not ready rather than waiting in the offline queue. */
  health(): Promise<HealthCheck> {
    return timedCheck('redis', async () => {
      if (!this.cmd.isReady || !this.sub.isReady) throw new Error('not connected')
      await this.cmd.ping()
    })
  }

  async close(): Promise<void> {
    for (const c of [this.sub, this.cmd]) {
      if (c.isReady) await c.close().catch(() => c.destroy())
      else if (c.isOpen) c.destroy()
    }
  }
}

/** Messages between nodes over Redis pub/sub. */
export class RedisBus implements Bus {
  readonly kind = 'redis' as const

  constructor(private readonly conn: RedisConnections) {}

  async publish(topic: string, message: string): Promise<void> {
    await this.conn.cmd.publish(busChannel(topic), message)
  }

  async subscribe(topic: string, handler: (message: string) => void) {
    const off = this.conn.subscriptions.add(busChannel(topic), handler)
    await this.conn.subscriptions.settled()
    return off
  }

  health() {
    return this.conn.health()
  }

  close() {
    return this.conn.close()
  }
}

/** The per-user event log as a capped Redis Stream, with live delivery over pub/sub. */
export class RedisEventLog implements EventLog {
  constructor(
    private readonly conn: RedisConnections,
    private readonly log: Logger,
    private readonly capacity = 1000,
  ) {}

  async append(userId: string, type: string, data: Record<string, unknown>): Promise<KilnEvent> {
    const ts = new Date().toISOString()
    const id = (await this.conn.cmd.eval(APPEND_SCRIPT, {
      keys: [streamKey(userId), liveChannel(userId)],
      arguments: [String(this.capacity), type, ts, JSON.stringify(data), String(STREAM_TTL_MS)],
    })) as string
    return { v: 1, id, type, ts, data }
  }

  async readAfter(userId: string, lastEventId: string, limit = 1000) {
    if (!isEventId(lastEventId)) return { events: [], gap: true }
    // A socket subscribes and then replays: waiting for pending SUBSCRIBEs first means every
    // event after the replayed range also reaches the live listener (the caller dedupes by id).
    await Promise.race([this.conn.subscriptions.settled(), Bun.sleep(1000)])
    const key = streamKey(userId)
    // One transaction, so trimming cannot slip between reading the range and judging the gap.
    const [range, length, first] = (await this.conn.cmd
      .multi()
      .xRange(key, `(${lastEventId}`, '+', { COUNT: limit })
      .xLen(key)
      .xRange(key, '-', '+', { COUNT: 1 })
      .exec()) as unknown as [Entry[], number, Entry[]]
    const oldest = first[0]?.id
    // MAXLEN trimming drops whole entries from the front: when the client's id is older than
    // the oldest kept and the stream is at its cap, something in between may be gone.
    // (A client holding exactly the last trimmed id is told to resync needlessly; harmless.)
    const trimmed = length >= this.capacity
    if (oldest !== undefined && trimmed && compareEventIds(lastEventId, oldest) < 0) return { events: [], gap: true }
    return { events: range.map(toEvent), gap: false }
  }

  async latestId(userId: string) {
    const last = await this.conn.cmd.xRevRange(streamKey(userId), '+', '-', { COUNT: 1 })
    return last?.[0]?.id ?? null
  }

  subscribe(userId: string, onEvent: (event: KilnEvent) => void) {
    const off = this.conn.subscriptions.add(liveChannel(userId), (message) => {
      const event = parseLive(message)
      if (event) onEvent(event)
      else this.log.warn('malformed live event dropped', { userId })
    })
    return () => void off()
  }

  /** Resolves once every subscription made so far is active in Redis (tests, hand-offs). */
  settled(): Promise<void> {
    return this.conn.subscriptions.settled()
  }
}

interface Entry {
  id: string
  message: Record<string, string>
}

function toEvent(e: Entry): KilnEvent {
  return { v: 1, id: e.id, type: e.message.type ?? 'unknown', ts: e.message.ts ?? '', data: safeJson(e.message.data) }
}

/** Live messages are `<id> <type> <ts> <json>`; none of the first three contains a space. */
function parseLive(message: string): KilnEvent | undefined {
  const a = message.indexOf(' ')
  const b = message.indexOf(' ', a + 1)
  const c = message.indexOf(' ', b + 1)
  if (a < 0 || b < 0 || c < 0) return undefined
  return { v: 1, id: message.slice(0, a), type: message.slice(a + 1, b), ts: message.slice(b + 1, c), data: safeJson(message.slice(c + 1)) }
}

function safeJson(text: string | undefined): Record<string, unknown> {
  try {
    const v = JSON.parse(text ?? '{}')
    return v && typeof v === 'object' ? v : {}
  } catch {
    return {}
  }
}

/** Opens the Redis coordination of one node: connections, bus and event log. */
export async function openRedisCoordination(url: string, log: Logger, opts: { waitMs?: number; commandTimeoutMs?: number } = {}) {
  const conn = new RedisConnections(url, log, opts)
  await conn.open(opts.waitMs)
  return { conn, bus: new RedisBus(conn), eventLog: new RedisEventLog(conn, log), health: () => conn.health(), close: () => conn.close() }
}
