/** The embedded (one node) coordination: an in-process bus and an in-memory event log ring per user. */
import type { Bus, EventLog, KilnEvent } from './bus'

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const
  private readonly topics = new Map<string, Set<(message: string) => void>>()

  async publish(topic: string, message: string): Promise<void> {
    for (const h of this.topics.get(topic) ?? []) queueMicrotask(() => h(message))
  }

  async subscribe(topic: string, handler: (message: string) => void) {
    let set = this.topics.get(topic)
    if (!set) this.topics.set(topic, (set = new Set()))
    set.add(handler)
    return async () => {
      set.delete(handler)
      if (set.size === 0) this.topics.delete(topic)
    }
  }

  async health() {
    return { status: 'ok' as const, latencyMs: 0, kind: 'memory' }
  }

  async close() {
    this.topics.clear()
  }
}

/** Compares event ids of the form `<ms>-<seq>` (the Redis Stream id format, used in both modes). */
export function compareEventIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am - bm || as - bs
}

export const isEventId = (s: string) => /^\d{1,16}-\d{1,10}$/.test(s)

/** Per-user ring of the latest `capacity` events; older ids answer `gap: true`. */
export class MemoryEventLog implements EventLog {
  private readonly rings = new Map<string, KilnEvent[]>()
  private readonly listeners = new Map<string, Set<(e: KilnEvent) => void>>()
  /** The newest id each ring has dropped: resuming from it or later misses nothing. */
  private readonly evicted = new Map<string, string>()
  private lastMs = 0
  private seq = 0

  constructor(private readonly capacity = 1000) {}

  private nextId(): string {
    const now = Date.now()
    if (now > this.lastMs) {
      this.lastMs = now
      this.seq = 0
    } else this.seq++
    return `${this.lastMs}-${this.seq}`
  }

  async append(userId: string, type: string, data: Record<string, unknown>): Promise<KilnEvent> {
    const event: KilnEvent = { v: 1, id: this.nextId(), type, ts: new Date().toISOString(), data }
    let ring = this.rings.get(userId)
    if (!ring) this.rings.set(userId, (ring = []))
    ring.push(event)
    if (ring.length > this.capacity) this.evicted.set(userId, ring.splice(0, ring.length - this.capacity).at(-1)!.id)
    for (const l of this.listeners.get(userId) ?? []) l(event)
    return event
  }

  async readAfter(userId: string, lastEventId: string, limit = 1000) {
    const ring = this.rings.get(userId) ?? []
    const dropped = this.evicted.get(userId)
    // Some event after the client's id has been dropped from the ring: the gap cannot be replayed.
    const gap = !isEventId(lastEventId) || (dropped !== undefined && compareEventIds(lastEventId, dropped) < 0)
    if (gap) return { events: [], gap: true }
    const events = ring.filter((e) => compareEventIds(e.id, lastEventId) > 0).slice(0, limit)
    return { events, gap: false }
  }

  async latestId(userId: string) {
    const ring = this.rings.get(userId)
    return ring?.[ring.length - 1]?.id ?? null
  }

  subscribe(userId: string, onEvent: (event: KilnEvent) => void) {
    let set = this.listeners.get(userId)
    if (!set) this.listeners.set(userId, (set = new Set()))
    set.add(onEvent)
    return () => {
      set.delete(onEvent)
      if (set.size === 0) this.listeners.delete(userId)
    }
  }
}
