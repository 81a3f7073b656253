/**
 * Elysia's default normalisation silently drops properties a schema does not
 * know, even with `additionalProperties: false`. Where a typo must not pass
 * unnoticed (a profile field, a key's name), this transform hook rejects
 * unknown properties with 400 before normalisation runs.
 */
import { AppError } from '../../lib/errors'

/** A transform hook for a route whose body schema is `schema` (an object schema). */
export function rejectUnknownKeys(schema: { properties: Record<string, unknown> }) {
  const known = new Set(Object.keys(schema.properties))
  return ({ body }: { body: unknown }) => {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return
    const unknown = Object.keys(body).filter((k) => !known.has(k))
    if (unknown.length > 0)
      throw new AppError('VALIDATION_ERROR', 'invalid request in body', {
        in: 'body',
        issues: unknown.slice(0, 20).map((field) => ({ field, message: 'unknown property' })),
      })
  }
}
