/**
 * `GET /api/v1/ws`: the socket gateway on Elysia's `.ws()` (Bun's native
 * WebSockets). Hidden from the OpenAPI document (its `ws` key is not valid
 * 3.1); the protocol is described in prose in the `realtime` tag instead.
 */
import type { ServerWebSocket } from 'bun'
import { Elysia, t } from 'elysia'
import { AppError } from '../../lib/errors'
import type { Services } from '../http/services'
import { CLOSE } from './close-codes'
import { LIMITS } from './protocol'
import { SessionHandler, type SocketSession } from './session'
import { authenticateUpgrade, type SocketPrincipal } from './upgrade-auth'
import { parseClientMessage } from './validate'

/**
 * Bun's server-wide socket options (they cannot be set per route). The hard
 * limits sit above the protocol's own (64 KiB messages, 1 MiB send buffer) so
 * the gateway answers first with an `error` event or close code 4009; Bun's
 * limits are the backstop (1009, or a cut-off).
 */
export const WS_SERVER_OPTIONS = {
  perMessageDeflate: false,
  idleTimeout: LIMITS.idleTimeoutSeconds as number,
  sendPings: true,
  maxPayloadLength: 16 * LIMITS.maxMessageBytes,
  backpressureLimit: 2 * LIMITS.sendBufferBytes,
  closeOnBackpressureLimit: true,
}

export function socketRoutes(s: Services) {
  const hub = s.sockets
  hub.bind(s.eventLog)
  const log = s.log.child({ part: 'ws' })
  const handler = new SessionHandler(s, hub, log)
  const principals = new WeakMap<Request, SocketPrincipal>()
  const sessions = new WeakMap<ServerWebSocket<unknown>, SocketSession>()
  /** Cluster-wide socket claims (see socket-registry.ts), released when the socket closes. */
  const claims = new WeakMap<ServerWebSocket<unknown>, string>()
  let claimSeq = 0

  return new Elysia({ name: 'kiln.ws' })
    .onStart(({ server }) => hub.useServer(server ?? undefined))
    .ws('/api/v1/ws', {
      detail: { hide: true },
      query: t.Object({ ticket: t.Optional(t.String({ maxLength: 256 })) }),
      async upgrade({ request, query }) {
        if (s.draining.value) throw new AppError('SERVICE_UNAVAILABLE', 'this node is shutting down; reconnect')
        principals.set(request, await authenticateUpgrade(s, request, query.ticket))
      },
      open(ws) {
        const raw = ws.raw as ServerWebSocket<unknown>
        const principal = principals.get(ws.data.request)
        if (!principal) return raw.close(CLOSE.UNAUTHORIZED, 'unauthorized')
        const conn: SocketSession = {
          ws: raw,
          userId: principal.user.id,
          user: principal.user,
          credentials: principal.credentials,
          mode: 'pending',
          pending: [],
          closed: false,
          helloId: null,
          ready: Promise.resolve(),
          resumes: Promise.resolve(),
          resuming: 0,
          seq: 0,
        }
        sessions.set(raw, conn)
        const tooMany = () => {
          log.info('socket cap reached', { userId: conn.userId, cap: LIMITS.socketsPerUser })
          hub.close(conn, CLOSE.TOO_MANY_SOCKETS, `at most ${LIMITS.socketsPerUser} sockets per user`)
        }
        if (!hub.attach(conn)) return tooMany()
        log.debug('socket opened', { userId: conn.userId, via: principal.via })
        // The cap holds across nodes too (counted in Redis in a cluster) before the socket says hello.
        const claimId = `${s.config.nodeName}#${++claimSeq}`
        conn.ready = s.socketClaims
          .claim(conn.userId, claimId)
          .then((ok) => {
            if (!ok) return tooMany()
            if (conn.closed) return s.socketClaims.release(conn.userId, claimId)
            claims.set(raw, claimId)
            return handler.hello(conn)
          })
          .catch((err) => {
            log.error('socket hello failed', { userId: conn.userId, err: err as Error })
            hub.close(conn, CLOSE.SERVICE_RESTART, 'could not start; reconnect')
          })
      },
      async message(ws, raw) {
        const conn = sessions.get(ws.raw as ServerWebSocket<unknown>)
        if (!conn || conn.closed) return
        await conn.ready
        const parsed = parseClientMessage(raw)
        if (!parsed.ok) return handler.sendError(conn, parsed.error)
        try {
          await handler.handle(conn, parsed.message)
        } catch (err) {
          handler.sendError(conn, handler.errorData(conn, err))
        }
      },
      close(ws, code) {
        const conn = sessions.get(ws.raw as ServerWebSocket<unknown>)
        if (!conn) return
        clearTimeout(conn.grace)
        hub.detach(conn)
        const claimId = claims.get(ws.raw as ServerWebSocket<unknown>)
        if (claimId) s.socketClaims.release(conn.userId, claimId)
        log.debug('socket closed', { userId: conn.userId, code })
      },
    })
}
