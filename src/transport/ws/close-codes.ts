/**
 * Every close code the gateway uses, in one place. 4xxx codes are Kiln's own
 * (the range RFC 6455 leaves to applications); the client decides from them
 * whether reconnecting can help.
 */
export const CLOSE = {
  /** Normal close (client or server done). */
  NORMAL: 1000,
  /** A frame larger than the server's hard limit: the socket cannot continue. */
  MESSAGE_TOO_BIG: 1009,
  /** The node is shutting down: reconnect (to another node). */
  SERVICE_RESTART: 1012,
  /** Credentials missing, invalid or ended after the upgrade. Reconnecting with the same ones will not help. */
  UNAUTHORIZED: 4401,
  /** The user already holds the per-user maximum of sockets on this node. */
  TOO_MANY_SOCKETS: 4008,
  /** The client did not read fast enough: its send buffer passed the limit. Reconnect and resume. */
  SLOW_CONSUMER: 4009,
} as const

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE]

/** Codes after which the client should not reconnect on its own. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE.UNAUTHORIZED, CLOSE.TOO_MANY_SOCKETS])
