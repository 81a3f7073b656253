/**
 * The node's socket hub: which sockets each user holds here, one event-log
 * subscription per user while they hold any, and fan-out of every event with
 * one `server.publish` per user topic. A socket that is not yet live (waiting
 * for its `resume`) gets the events buffered instead, so the hand-over from
 * replay to live loses and repeats nothing.
 */
import type { Server, ServerWebSocket } from 'bun'
import type { EventLog, KilnEvent } from '../../adapters/coordination/bus'
import type { Logger } from '../../lib/logger'
import { CLOSE } from './close-codes'
import { LIMITS } from './protocol'
import { ProgressThrottle } from './throttle'

/** Events a not-yet-live socket may buffer before it counts as a slow consumer. */
const MAX_PENDING = 5000
/** A socket asked to close but whose peer never reads is cut off after this. */
const TERMINATE_AFTER_MS = 2000

export interface SocketConn {
  readonly ws: ServerWebSocket<unknown>
  readonly userId: string
  /**
   * `pending`: before/while resuming, events are buffered in `pending`.
   * `catching`: replayed further than the live relay has reached (a Redis
   * subscription lags the stream); relayed events up to `catchUpTo` are skipped.
   * `live`: subscribed to the user's topic, events arrive through `server.publish`.
   */
  mode: 'pending' | 'catching' | 'live'
  pending: KilnEvent[]
  catchUpTo?: string
  closed: boolean
  /** Credential ids behind the socket (session, API key, token family); see `closeRevoked`. */
  readonly credentials?: readonly string[]
}

interface UserEntry {
  conns: Set<SocketConn>
  throttle: ProgressThrottle
  unsubscribe: () => void
  /** Events relayed so far; send buffers are checked every few, not on each. */
  relayed: number
  /** Newest event id the relay has seen (delivered or thinned out). */
  lastRelayedId?: string
}

/** Check send buffers every this many events of a user: the overshoot past the limit stays a few events. */
const CHECK_EVERY = 8

export const topicOf = (userId: string) => `user:${userId}`

/** Compares `<ms>-<seq>` ids numerically (on the relay's hot path, so without splitting). */
export function compareIds(a: string, b: string): number {
  const ms = Number.parseInt(a, 10) - Number.parseInt(b, 10)
  if (ms !== 0) return ms
  return Number.parseInt(a.slice(a.indexOf('-') + 1), 10) - Number.parseInt(b.slice(b.indexOf('-') + 1), 10)
}

export class SocketHub {
  private readonly users = new Map<string, UserEntry>()
  private eventLog?: EventLog
  private server?: Server<unknown>

  constructor(private readonly log: Logger) {}

  /** Connects the hub to the event log it relays (called once by the gateway). */
  bind(eventLog: EventLog) {
    this.eventLog = eventLog
  }

  /** The Bun server, for `server.publish` (`ws.publish` would skip the sender). */
  useServer(server: Server<unknown> | undefined) {
    if (server) this.server = server
  }

  /** Registers a socket (not live yet); false when the user already holds the maximum here. */
  attach(conn: SocketConn): boolean {
    let u = this.users.get(conn.userId)
    if (u && u.conns.size >= LIMITS.socketsPerUser) return false
    if (!u) {
      if (!this.eventLog) throw new Error('socket hub is not bound to an event log')
      const entry: UserEntry = { conns: new Set(), throttle: new ProgressThrottle(LIMITS.progressPerSecond), unsubscribe: () => {}, relayed: 0 }
      entry.unsubscribe = this.eventLog.subscribe(conn.userId, (e) => this.relay(conn.userId, e))
      this.users.set(conn.userId, (u = entry))
    }
    u.conns.add(conn)
    return true
  }

  /** Forgets a closed socket; the last one of a user ends the user's subscription. */
  detach(conn: SocketConn) {
    conn.closed = true
    const u = this.users.get(conn.userId)
    if (!u?.conns.delete(conn) || u.conns.size > 0) return
    u.unsubscribe()
    this.users.delete(conn.userId)
  }

  private relay(userId: string, event: KilnEvent) {
    const u = this.users.get(userId)
    if (!u) return
    if (u.lastRelayedId === undefined || compareIds(event.id, u.lastRelayedId) > 0) u.lastRelayedId = event.id
    if (!u.throttle.admit(event)) return
    const text = JSON.stringify(event)
    if (this.server) this.server.publish(topicOf(userId), text)
    const check = ++u.relayed % CHECK_EVERY === 0
    for (const c of u.conns) {
      if (c.closed) continue
      if (c.mode === 'live') {
        if (!this.server) this.send(c, text)
        else if (check) this.checkBuffer(c)
      } else if (c.mode === 'pending') {
        c.pending.push(event)
        if (c.pending.length > MAX_PENDING) this.close(c, CLOSE.SLOW_CONSUMER, 'slow consumer')
      } else if (compareIds(event.id, c.catchUpTo ?? '0-0') > 0) {
        // The relay has caught up with what this socket replayed: this event and all later ones are new to it.
        this.send(c, text)
        this.subscribe(c)
      }
    }
  }

  private subscribe(conn: SocketConn) {
    if (conn.closed) return
    conn.ws.subscribe(topicOf(conn.userId))
    conn.mode = 'live'
    conn.catchUpTo = undefined
  }

  /** Sends one message to one socket, closing it when its buffer is past the limit. */
  send(conn: SocketConn, text: string) {
    if (conn.closed) return
    conn.ws.send(text)
    this.checkBuffer(conn)
  }

  private checkBuffer(conn: SocketConn) {
    if (conn.ws.getBufferedAmount() > LIMITS.sendBufferBytes) this.close(conn, CLOSE.SLOW_CONSUMER, 'slow consumer: send buffer full')
  }

  /** Stops live delivery; events buffer until `goLive`. */
  pause(conn: SocketConn) {
    if (conn.mode === 'pending') return
    if (conn.mode === 'live') conn.ws.unsubscribe(topicOf(conn.userId))
    conn.mode = 'pending'
    conn.catchUpTo = undefined
    conn.pending = []
  }

  /**
   * Delivers buffered events newer than `afterId` (what the socket has), then
   * subscribes — synchronously, so nothing slips in between. When the socket
   * has seen further than the relay (Redis pub/sub lags the stream), it waits
   * in `catching` so that no event reaches it twice.
   */
  goLive(conn: SocketConn, afterId: string | null) {
    if (conn.mode !== 'pending' || conn.closed) return
    let seen = afterId
    for (const e of conn.pending)
      if (seen === null || compareIds(e.id, seen) > 0) {
        this.send(conn, JSON.stringify(e))
        seen = e.id
      }
    conn.pending = []
    const relayed = this.users.get(conn.userId)?.lastRelayedId
    if (seen === null || (relayed !== undefined && compareIds(seen, relayed) <= 0)) this.subscribe(conn)
    else {
      conn.mode = 'catching'
      conn.catchUpTo = seen
    }
  }

  /** Whether the socket has finished its hand-over (live or catching up), i.e. `goLive` already ran. */
  isStarted(conn: SocketConn): boolean {
    return conn.mode !== 'pending'
  }

  /** Closes a socket with a code; one that never reads its close frame is cut off shortly after. */
  close(conn: SocketConn, code: number, reason: string) {
    if (conn.closed) return
    conn.closed = true
    this.log.info('socket closed by server', { userId: conn.userId, code, reason })
    try {
      conn.ws.close(code, reason)
    } catch {
      // already gone
    }
    setTimeout(() => {
      if (conn.ws.readyState !== 3) conn.ws.terminate()
    }, TERMINATE_AFTER_MS).unref()
  }

  /** Closes every socket (shutdown: 1012 so clients reconnect elsewhere); returns how many. */
  closeAll(code: number = CLOSE.SERVICE_RESTART, reason = 'service restart'): number {
    let n = 0
    for (const u of [...this.users.values()])
      for (const c of [...u.conns]) {
        this.close(c, code, reason)
        n++
      }
    return n
  }

  /** Closes this node's sockets of a user that rest on any of the revoked credentials; returns how many. */
  closeRevoked(userId: string, credentialIds: readonly string[]): number {
    const revoked = new Set(credentialIds)
    let n = 0
    for (const c of [...(this.users.get(userId)?.conns ?? [])])
      if (c.credentials?.some((id) => revoked.has(id))) {
        this.close(c, CLOSE.UNAUTHORIZED, 'credentials revoked')
        n++
      }
    return n
  }

  /** Closes every socket of one user here (e.g. signed out everywhere); returns how many. */
  closeUser(userId: string, code: number, reason: string): number {
    const conns = [...(this.users.get(userId)?.conns ?? [])]
    for (const c of conns) this.close(c, code, reason)
    return conns.length
  }

  /** How events fan out: one `server.publish` per user topic once the server is known, else socket by socket. */
  get fanOut(): 'publish' | 'per-socket' {
    return this.server ? 'publish' : 'per-socket'
  }

  /** Sockets held on this node (all users). */
  get size(): number {
    let n = 0
    for (const u of this.users.values()) n += u.conns.size
    return n
  }

  /** Open sockets of a user here (ones being closed do not count). */
  socketsOf(userId: string): number {
    let n = 0
    for (const c of this.users.get(userId)?.conns ?? []) if (!c.closed) n++
    return n
  }
}
