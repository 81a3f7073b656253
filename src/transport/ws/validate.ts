/**
 * Turns a raw client frame into a typed message or a protocol error. Every
 * failure is an `error` event for the client; none closes the socket.
 */
import type { TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'
import { CLIENT_MESSAGES, type ClientMessage, type ClientMessageType, LIMITS } from './protocol'

const checkers: Record<ClientMessageType, TypeCheck<TSchema>> = {
  resume: TypeCompiler.Compile(CLIENT_MESSAGES.resume),
  generate: TypeCompiler.Compile(CLIENT_MESSAGES.generate),
  cancel: TypeCompiler.Compile(CLIENT_MESSAGES.cancel),
  ping: TypeCompiler.Compile(CLIENT_MESSAGES.ping),
}

export interface ProtocolError {
  code: 'VALIDATION_ERROR' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE'
  message: string
  requestId?: string
  details?: unknown
}

/** `raw` is what Elysia hands over: an object when the frame was JSON, else a string, number or Buffer. */
export function parseClientMessage(raw: unknown): { ok: true; message: ClientMessage } | { ok: false; error: ProtocolError } {
  if (raw instanceof Uint8Array || raw instanceof ArrayBuffer)
    return { ok: false, error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'binary frames are not part of the protocol; send JSON text' } }
  // Elysia has already parsed JSON text; the size check is on its canonical form.
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : Buffer.byteLength(JSON.stringify(raw) ?? '')
  if (size > LIMITS.maxMessageBytes)
    return { ok: false, error: { code: 'PAYLOAD_TOO_LARGE', message: `message exceeds ${LIMITS.maxMessageBytes} bytes` } }
  if (typeof raw === 'string') return { ok: false, error: { code: 'VALIDATION_ERROR', message: 'message is not valid JSON' } }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, error: { code: 'VALIDATION_ERROR', message: 'message must be a JSON object with a "type"' } }
  const obj = raw as Record<string, unknown>
  const requestId = typeof obj.requestId === 'string' && obj.requestId.length <= 128 ? obj.requestId : undefined
  const type = obj.type
  if (typeof type !== 'string' || !Object.hasOwn(checkers, type)) {
    const known = Object.keys(checkers).join(', ')
    return { ok: false, error: { code: 'VALIDATION_ERROR', message: `unknown message type; expected one of ${known}`, requestId } }
  }
  const checker = checkers[type as ClientMessageType]
  if (checker.Check(obj)) return { ok: true, message: obj as ClientMessage }
  const issues: { field: string; message: string }[] = []
  for (const e of checker.Errors(obj)) {
    issues.push({ field: e.path.replace(/^\//, '').replace(/\//g, '.') || '(root)', message: e.message })
    if (issues.length >= 20) break
  }
  return { ok: false, error: { code: 'VALIDATION_ERROR', message: `invalid "${type}" message`, requestId, details: { in: 'message', issues } } }
}
