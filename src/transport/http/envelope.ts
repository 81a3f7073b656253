/** The response envelope and its schemas (they feed validation, OpenAPI and the typed client). */
import { type TSchema, t } from 'elysia'

export const ok = <T>(data: T) => ({ success: true as const, data })

export interface PageMeta {
  page: number
  limit: number
  total: number
  totalPages: number
  nextCursor?: string
}

export const page = <T>(data: T[], meta: PageMeta) => ({ success: true as const, data, meta })

/** One page of a numbered list: the items, the total and the page asked for. */
export const pageOf = <T>(data: T[], total: number, pageNo: number, limit: number) =>
  page(data, { page: pageNo, limit, total, totalPages: Math.ceil(total / limit) })

/** The answer of a DELETE: `{ id, deleted: true }`. */
export const deleted = (id: string) => ok({ id, deleted: true as const })

export const ErrorBody = t.Object(
  {
    success: t.Literal(false),
    error: t.Object({
      code: t.String({ description: 'one of the closed set of error codes' }),
      message: t.String(),
      details: t.Optional(t.Unknown()),
      requestId: t.String(),
    }),
  },
  { title: 'Error' },
)

export const Envelope = <T extends TSchema>(data: T) => t.Object({ success: t.Literal(true), data })

export const PageMetaSchema = t.Object({
  page: t.Integer(),
  limit: t.Integer(),
  total: t.Integer(),
  totalPages: t.Integer(),
  nextCursor: t.Optional(t.String()),
})

export const DeletedEnvelope = t.Object({ success: t.Literal(true), data: t.Object({ id: t.String(), deleted: t.Literal(true) }) })

export const PageEnvelope = <T extends TSchema>(item: T) =>
  t.Object({ success: t.Literal(true), data: t.Array(item), meta: PageMetaSchema })

/** Error responses every authenticated route may give, for the OpenAPI document. */
export const commonErrors = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
  413: ErrorBody,
  429: ErrorBody,
  500: ErrorBody,
} as const

/** Query schema of every paginated list: `page`, `limit` (≤ 100). */
export const PageQuery = {
  page: t.Optional(t.Integer({ minimum: 1, default: 1 })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 20 })),
}
