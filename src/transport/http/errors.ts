/**
 * One error mapper for the whole API, in three tiers: Kiln's own AppError,
 * framework errors (validation, parse, not found), and anything unexpected
 * (500, logged with the request id, nothing internal leaked).
 */
import { Elysia, ValidationError } from 'elysia'
import { AppError, ERROR_STATUS, type ErrorCode } from '../../lib/errors'
import type { Logger } from '../../lib/logger'
import { requestIdOf } from './request-context'

interface FieldIssue {
  field: string
  message: string
}

function validationDetails(error: ValidationError): { in: string; issues: FieldIssue[] } {
  const issues: FieldIssue[] = []
  try {
    for (const e of error.all) {
      const path = 'path' in e && typeof e.path === 'string' ? e.path : ''
      const message = ('summary' in e && typeof e.summary === 'string' && e.summary) || ('message' in e ? String(e.message) : 'invalid')
      issues.push({ field: path.replace(/^\//, '').replace(/\//g, '.') || '(root)', message })
      if (issues.length >= 20) break
    }
  } catch {
    issues.push({ field: '(root)', message: 'invalid' })
  }
  return { in: error.type, issues }
}

/** Builds the error envelope as a Response (headers included), so every path answers the same way. */
export function errorResponse(
  request: Request,
  code: ErrorCode,
  message: string,
  details?: unknown,
  extraHeaders?: Record<string, string>,
  baseHeaders?: Record<string, string>,
): Response {
  const requestId = requestIdOf(request)
  const body = { success: false, error: { code, message, ...(details === undefined ? {} : { details }), requestId } }
  const headers = new Headers(baseHeaders)
  headers.set('content-type', 'application/json; charset=utf-8')
  headers.set('x-request-id', requestId)
  for (const [k, v] of Object.entries(extraHeaders ?? {})) headers.set(k, v)
  return new Response(JSON.stringify(body), { status: ERROR_STATUS[code], headers })
}

export function errorHandler(log: Logger) {
  return new Elysia({ name: 'kiln.errors' })
    .error({ AppError })
    .onError({ as: 'global' }, ({ code, error, request, set }) => {
      const base = set.headers as Record<string, string>
      if (error instanceof AppError) {
        set.status = error.status
        return errorResponse(request, error.errorCode, error.message, error.details, error.headers, base)
      }
      if (error instanceof ValidationError || code === 'VALIDATION') {
        set.status = 400
        const details = error instanceof ValidationError ? validationDetails(error) : undefined
        const where = details ? ` in ${details.in}` : ''
        return errorResponse(request, 'VALIDATION_ERROR', `invalid request${where}`, details, undefined, base)
      }
      if (code === 'PARSE') {
        set.status = 400
        return errorResponse(request, 'VALIDATION_ERROR', 'request body could not be parsed', undefined, undefined, base)
      }
      if (code === 'NOT_FOUND') {
        set.status = 404
        return errorResponse(request, 'NOT_FOUND', 'no such route', undefined, undefined, base)
      }
      if (code === 'INVALID_COOKIE_SIGNATURE') {
        set.status = 401
        return errorResponse(request, 'UNAUTHORIZED', 'invalid session cookie', undefined, undefined, base)
      }
      const status = (error as { status?: number })?.status
      if (status === 413) {
        set.status = 413
        return errorResponse(request, 'PAYLOAD_TOO_LARGE', 'request body too large', undefined, undefined, base)
      }
      set.status = 500
      log.error('unhandled error', { requestId: requestIdOf(request), code, err: error as Error })
      return errorResponse(request, 'INTERNAL_ERROR', 'internal error', undefined, undefined, base)
    })
}
