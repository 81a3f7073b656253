/** Source-image uploads for image-to-image: `POST uploads/image` (multipart `file`), `GET uploads/:id`. */
import { Elysia, t } from 'elysia'
import { MAX_UPLOAD_BYTES } from '../../../domain/uploads/service'
import { AppError } from '../../../lib/errors'
import { authPlugin } from '../auth'
import { Envelope, ErrorBody, ok } from '../envelope'
import type { Services } from '../services'

/** Room for the multipart framing around a 10 MB file. */
const MULTIPART_OVERHEAD = 64 * 1024

export const UploadSchema = t.Object(
  {
    id: t.String({ examples: ['upl_0mwt1x2y3z4a5b6c7d8e9f'] }),
    width: t.Integer(),
    height: t.Integer(),
    bytes: t.Integer({ description: 'size of the stored WebP' }),
    contentType: t.String({ examples: ['image/webp'] }),
    createdAt: t.String({ format: 'date-time' }),
  },
  { title: 'Upload', description: 'A normalised source image; pass its id as `sourceImageId`.' },
)

/** A byte stream that errors with 413 as soon as it passes `max` bytes, whatever Content-Length claimed. */
function capped(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength
        if (seen > max) controller.error(new AppError('PAYLOAD_TOO_LARGE', `uploads are limited to ${MAX_UPLOAD_BYTES} bytes`))
        else controller.enqueue(chunk)
      },
    }),
  )
}

/**
 * Parses a multipart body while counting its bytes, so an oversized upload is
 * refused (413) while it streams in, not after all of it was buffered. Also
 * used by `POST generations` for its `sourceImage` field. Returns undefined
 * for other content types.
 */
export async function parseCappedMultipart(
  request: Request,
  maxFileBytes = MAX_UPLOAD_BYTES,
): Promise<Record<string, FormDataEntryValue> | undefined> {
  const type = request.headers.get('content-type') ?? ''
  // anything else falls through to the other parsers (and fails the body schema when it has no file)
  if (!type.toLowerCase().startsWith('multipart/form-data')) return undefined
  const max = maxFileBytes + MULTIPART_OVERHEAD
  if (Number(request.headers.get('content-length') ?? 0) > max)
    throw new AppError('PAYLOAD_TOO_LARGE', `uploads are limited to ${maxFileBytes} bytes`)
  if (!request.body) throw new AppError('VALIDATION_ERROR', 'the request has no body')
  let form: FormData
  try {
    form = await new Response(capped(request.body, max), { headers: { 'content-type': type } }).formData()
  } catch (err) {
    if (err instanceof AppError) throw err
    throw new AppError('VALIDATION_ERROR', 'the multipart body could not be parsed')
  }
  const out: Record<string, FormDataEntryValue> = {}
  for (const [k, v] of form.entries()) out[k] = v
  return out
}

export function uploadRoutes(s: Services) {
  return new Elysia({ name: 'kiln.uploads', prefix: '/api/v1/uploads', detail: { tags: ['uploads'] } })
    .use(authPlugin(s))
    .post(
      '/image',
      async ({ body, user, set }) => {
        const upload = await s.uploads.create(user.id, body.file)
        set.status = 201
        return ok(upload)
      },
      {
        auth: true,
        // the named parser after ours is never reached for multipart; it tells the OpenAPI generator the media type
        parse: [({ request }) => parseCappedMultipart(request), 'multipart/form-data'],
        body: t.Object({ file: t.File({ description: 'PNG, JPEG, WebP or GIF, at most 10 MB; decided by content' }) }),
        response: {
          201: Envelope(UploadSchema),
          400: ErrorBody,
          401: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          429: ErrorBody,
          500: ErrorBody,
          503: ErrorBody,
        },
        detail: {
          summary: 'Upload a source image (multipart field `file`, ≤ 10 MB)',
          description:
            'The type is decided by the bytes (PNG, JPEG, WebP, GIF; SVG refused). The image is re-encoded as WebP without metadata; images over 50 megapixels are refused.',
        },
      },
    )
    .get(
      '/:id',
      async ({ params, user }) => {
        const upload = await s.uploads.get(user.id, params.id)
        if (!upload) throw new AppError('NOT_FOUND', 'upload not found')
        return ok(upload)
      },
      {
        auth: true,
        params: t.Object({ id: t.String({ maxLength: 64 }) }),
        response: { 200: Envelope(UploadSchema), 401: ErrorBody, 404: ErrorBody, 500: ErrorBody },
        detail: { summary: 'One of your uploads' },
      },
    )
}
