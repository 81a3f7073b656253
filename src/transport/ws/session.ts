/**
 * One socket's conversation: hello, resume (replay then live), generate,
 * cancel and ping. Thin: it translates between socket messages and services.
 */
import type { KilnEvent } from '../../adapters/coordination/bus'
import type { GenerationInput } from '../../domain/generations/input'
import type { AuthUser } from '../../domain/identity/types'
import { AppError } from '../../lib/errors'
import type { Logger } from '../../lib/logger'
import type { GenerationService } from '../../actors/generation-service'
import type { Services } from '../http/services'
import { compareIds, type SocketConn, type SocketHub } from './hub'
import { type ClientMessage, type ErrorData, isLogEventId, LIMITS, PROTOCOL_VERSION } from './protocol'
import { ProgressThrottle } from './throttle'

/** Events read from the log per round trip while replaying. */
const REPLAY_PAGE = 500
/** Upper bound on replay round trips (the log is capped, so this is never reached in practice). */
const REPLAY_MAX_PAGES = 200

export interface SocketSession extends SocketConn {
  user: AuthUser
  /** The log's newest id when hello was sent. */
  helloId: string | null
  /** Settles once hello has been sent; messages wait for it. */
  ready: Promise<void>
  /** Resumes run one after another. */
  resumes: Promise<void>
  resuming: number
  grace?: ReturnType<typeof setTimeout>
  seq: number
}

/** What the gateway needs of `services.generations` (wired by the composition root). */
type GenerationsPort = Pick<GenerationService, 'submit' | 'cancel'>

export class SessionHandler {
  constructor(
    private readonly s: Services,
    private readonly hub: SocketHub,
    private readonly log: Logger,
  ) {}

  /** A message that is not a log event (hello, ack, error, resync, pong): ids `m<n>`, never resumed from. */
  sendTransient(conn: SocketSession, type: string, data: object) {
    this.hub.send(conn, JSON.stringify({ v: PROTOCOL_VERSION, id: `m${++conn.seq}`, type, ts: new Date().toISOString(), data }))
  }

  sendError(conn: SocketSession, error: ErrorData) {
    this.sendTransient(conn, 'error', error)
  }

  /** Sends hello and starts the grace period after which the socket goes live without a resume. */
  async hello(conn: SocketSession) {
    conn.helloId = await this.s.eventLog.latestId(conn.userId)
    const { user } = conn
    this.sendTransient(conn, 'hello', {
      user: { id: user.id, email: user.email, name: user.name, tier: user.tier },
      node: this.s.config.nodeName,
      serverTime: new Date().toISOString(),
      latestEventId: conn.helloId,
      limits: { ...LIMITS },
      protocol: PROTOCOL_VERSION,
    })
    conn.grace = setTimeout(() => this.goLiveUnlessResuming(conn), LIMITS.resumeGraceMs)
  }

  private goLiveUnlessResuming(conn: SocketSession) {
    clearTimeout(conn.grace)
    if (!this.hub.isStarted(conn) && conn.resuming === 0) this.hub.goLive(conn, conn.helloId)
  }

  async handle(conn: SocketSession, msg: ClientMessage) {
    if (msg.type === 'resume') {
      clearTimeout(conn.grace)
      conn.resuming++
      conn.resumes = conn.resumes.then(() => this.resume(conn, msg.lastEventId)).finally(() => conn.resuming--)
      return conn.resumes
    }
    // Any other first message means the client is not resuming: go live from hello.
    this.goLiveUnlessResuming(conn)
    switch (msg.type) {
      case 'ping':
        return this.sendTransient(conn, 'pong', { serverTime: new Date().toISOString(), ...(msg.requestId ? { requestId: msg.requestId } : {}) })
      case 'generate':
        return this.generate(conn, msg.requestId, msg.input)
      case 'cancel':
        return this.cancel(conn, msg.id, msg.requestId)
    }
  }

  /** Replays the log after `lastEventId`, then goes live with nothing lost or repeated in between. */
  private async resume(conn: SocketSession, lastEventId: string) {
    if (conn.closed) return
    if (!isLogEventId(lastEventId)) {
      this.sendError(conn, { code: 'VALIDATION_ERROR', message: 'lastEventId must be an event id of the form <ms>-<seq>' })
      return this.hub.goLive(conn, conn.helloId)
    }
    this.hub.pause(conn)
    const latest = await this.s.eventLog.latestId(conn.userId)
    // An id the log never reached means the log was lost (e.g. a restart): only a refetch is safe.
    const unknown = latest === null ? lastEventId !== '0-0' : compareIds(lastEventId, latest) > 0
    if (unknown) return this.resync(conn, lastEventId, 'the event log does not know this id')
    const throttle = new ProgressThrottle(LIMITS.progressPerSecond)
    let after = lastEventId
    for (let page = 0; page < REPLAY_MAX_PAGES && !conn.closed; page++) {
      const { events, gap } = await this.s.eventLog.readAfter(conn.userId, after, REPLAY_PAGE)
      if (gap) return this.resync(conn, lastEventId, 'the gap is older than the event log keeps')
      for (const e of events) {
        if (throttle.admit(e)) this.hub.send(conn, JSON.stringify(e satisfies KilnEvent))
        after = e.id
      }
      if (events.length < REPLAY_PAGE) break
    }
    this.hub.goLive(conn, after)
  }

  private async resync(conn: SocketSession, lastEventId: string, reason: string) {
    const latestEventId = await this.s.eventLog.latestId(conn.userId)
    this.sendTransient(conn, 'resync', { lastEventId, latestEventId, reason })
    this.hub.goLive(conn, latestEventId)
  }

  private generations(): GenerationsPort {
    const g = (this.s as Services & { generations?: GenerationsPort }).generations
    if (!g) throw new AppError('SERVICE_UNAVAILABLE', 'generations are not available on this node')
    return g
  }

  private async generate(conn: SocketSession, requestId: string, input: GenerationInput) {
    try {
      const { generation } = await this.generations().submit({ id: conn.user.id, tier: conn.user.tier }, input, { requestId, countRequest: true })
      this.sendTransient(conn, 'ack', { requestId, id: generation.id, generation })
    } catch (err) {
      this.sendError(conn, this.errorData(conn, err, requestId))
    }
  }

  private async cancel(conn: SocketSession, id: string, requestId?: string) {
    try {
      await this.generations().cancel({ id: conn.user.id, tier: conn.user.tier }, id)
      if (requestId) this.sendTransient(conn, 'ack', { requestId, id })
    } catch (err) {
      this.sendError(conn, this.errorData(conn, err, requestId))
    }
  }

  /** Our errors go to the client as they are; anything else is logged and shown as INTERNAL_ERROR. */
  errorData(conn: SocketSession, err: unknown, requestId?: string): ErrorData {
    const rid = requestId ? { requestId } : {}
    if (err instanceof AppError) return { code: err.errorCode, message: err.message, ...(err.details === undefined ? {} : { details: err.details }), ...rid }
    this.log.error('socket message failed', { userId: conn.userId, requestId, err: err as Error })
    return { code: 'INTERNAL_ERROR', message: 'internal error', ...rid }
  }
}
