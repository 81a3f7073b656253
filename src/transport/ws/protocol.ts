/**
 * The versioned socket protocol (`GET /api/v1/ws`), as a catalogue of typed
 * messages with TypeBox schemas for both directions. The gateway validates
 * every client message against these; the client in src/client uses the types.
 */
import { type Static, Type as t } from '@sinclair/typebox'
import { GenerationInput } from '../../domain/generations/input'

export const PROTOCOL_VERSION = 1

/** Limits announced in `hello` and enforced by the gateway. */
export const LIMITS = {
  /** Largest client message the protocol accepts; bigger ones get an `error` and the socket stays open. */
  maxMessageBytes: 64 * 1024,
  socketsPerUser: 10,
  /** Bun pings a socket idle this long and closes it when the pong does not come. */
  idleTimeoutSeconds: 30,
  /** A socket whose unsent data passes this is closed with 4009 (slow consumer). */
  sendBufferBytes: 1024 * 1024,
  /** `generation.progress` per job and second, at most (stage changes and 100 % always pass). */
  progressPerSecond: 5,
  /** Without a first message (e.g. `resume`) the socket goes live on its own after this. */
  resumeGraceMs: 1000,
} as const

const RequestId = t.String({ minLength: 1, maxLength: 128, description: 'chosen by the client; echoed in `ack` or `error`' })

// ── client → server ──────────────────────────────────────────────────────────
export const ResumeMessage = t.Object(
  { type: t.Literal('resume'), lastEventId: t.String({ maxLength: 40, description: '`<ms>-<seq>`; the last log event the client saw' }) },
  { additionalProperties: false },
)
export const GenerateMessage = t.Object({ type: t.Literal('generate'), requestId: RequestId, input: GenerationInput }, { additionalProperties: false })
export const CancelMessage = t.Object(
  { type: t.Literal('cancel'), id: t.String({ minLength: 1, maxLength: 64 }), requestId: t.Optional(RequestId) },
  { additionalProperties: false },
)
export const PingMessage = t.Object({ type: t.Literal('ping'), requestId: t.Optional(RequestId) }, { additionalProperties: false })

export const CLIENT_MESSAGES = { resume: ResumeMessage, generate: GenerateMessage, cancel: CancelMessage, ping: PingMessage } as const
export type ClientMessageType = keyof typeof CLIENT_MESSAGES
export type ClientMessage = { [K in ClientMessageType]: Static<(typeof CLIENT_MESSAGES)[K]> }[ClientMessageType]

// ── server → client ──────────────────────────────────────────────────────────
export const HelloData = t.Object({
  user: t.Object({ id: t.String(), email: t.String(), name: t.Union([t.String(), t.Null()]), tier: t.String() }),
  node: t.String(),
  serverTime: t.String({ format: 'date-time' }),
  /** The newest event in the user's log when the socket opened; null when the log is empty. */
  latestEventId: t.Union([t.String(), t.Null()]),
  limits: t.Object({
    maxMessageBytes: t.Integer(),
    socketsPerUser: t.Integer(),
    idleTimeoutSeconds: t.Integer(),
    sendBufferBytes: t.Integer(),
    progressPerSecond: t.Integer(),
    resumeGraceMs: t.Integer(),
  }),
  protocol: t.Literal(PROTOCOL_VERSION),
})
export const AckData = t.Object({
  requestId: t.String(),
  /** The generation the request created or cancelled. */
  id: t.String(),
  generation: t.Optional(t.Record(t.String(), t.Unknown())),
})
export const ErrorData = t.Object({
  code: t.String({ description: 'one of the API error codes, e.g. VALIDATION_ERROR, RATE_LIMIT_EXCEEDED' }),
  message: t.String(),
  requestId: t.Optional(t.String()),
  details: t.Optional(t.Unknown()),
})
export const ResyncData = t.Object({
  /** The id the client asked to resume after. */
  lastEventId: t.String(),
  /** Resume from here once state has been refetched over REST. */
  latestEventId: t.Union([t.String(), t.Null()]),
  reason: t.String(),
})
export const PongData = t.Object({ serverTime: t.String({ format: 'date-time' }), requestId: t.Optional(t.String()) })

export type HelloData = Static<typeof HelloData>
export type AckData = Static<typeof AckData>
export type ErrorData = Static<typeof ErrorData>
export type ResyncData = Static<typeof ResyncData>
export type PongData = Static<typeof PongData>

/** Data of the events from the user's log (written by the session actor). */
export interface GenerationProgressData {
  id: string
  status: string
  stage: string | null
  progress: number
  etaSeconds: number | null
  batchId?: string
}

/** Every server → client type with its data; log events carry `<ms>-<seq>` ids, the others `m<n>`. */
export interface ServerEvents {
  hello: HelloData
  ack: AckData
  error: ErrorData
  resync: ResyncData
  pong: PongData
  'generation.queued': Record<string, unknown> & { id: string }
  'generation.started': Record<string, unknown> & { id: string }
  'generation.progress': GenerationProgressData & Record<string, unknown>
  'generation.completed': Record<string, unknown> & { id: string }
  'generation.failed': Record<string, unknown> & { id: string; error: { code: string; message: string } }
  'generation.cancelled': Record<string, unknown> & { id: string }
  'batch.started': Record<string, unknown>
  'batch.progress': Record<string, unknown>
  'batch.completed': Record<string, unknown>
  'batch.failed': Record<string, unknown>
  'quota.updated': Record<string, unknown>
  'quota.warning': Record<string, unknown>
  'quota.exceeded': Record<string, unknown>
}
export type ServerEventType = keyof ServerEvents

/** The envelope of every server → client message. */
export interface ServerMessage<K extends string = string> {
  v: 1
  id: string
  type: K
  ts: string
  data: K extends ServerEventType ? ServerEvents[K] : Record<string, unknown>
}

/** True for ids of the user's event log (what `resume` takes), false for transient messages. */
export const isLogEventId = (id: string) => /^\d{1,16}-\d{1,10}$/.test(id)
