/**
 * The closed set of error codes Kiln answers with, and their HTTP statuses.
 * Every failure a client can see is an AppError carrying one of these.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  INVALID_API_KEY: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  RATE_LIMIT_EXCEEDED: 429,
  QUOTA_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  PROVIDER_ERROR: 502,
  SERVICE_UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[]

/** An error meant for the client. The field is `errorCode`, not `code`, because Elysia reads `code`. */
export class AppError extends Error {
  readonly status: number
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. Retry-After on 429. */
    readonly headers?: Record<string, string>,
  ) {
    super(message)
    this.status = ERROR_STATUS[errorCode]
  }
}

export const notFound = (what = 'resource') => new AppError('NOT_FOUND', `${what} not found`)
export const badRequest = (message: string, details?: unknown) => new AppError('VALIDATION_ERROR', message, details)
export const conflict = (message: string) => new AppError('CONFLICT', message)
export const unauthorized = (message = 'authentication required') => new AppError('UNAUTHORIZED', message)
