/**
 * S3-compatible storage (AWS S3, Cloudflare R2, Tigris, MinIO, s3rver).
 * Only keys are kept in the database; downloads are presigned GET URLs of
 * the bucket itself, so image bytes never pass through Kiln on the way out.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { type HealthCheck, timedCheck } from '../../lib/health'
import type { Config } from '../../config'
import type { Storage } from './storage'

export type S3StorageConfig = NonNullable<Config['s3']>

/** Presigned URLs live an hour unless the caller asks otherwise; S3 itself caps them at 7 days. */
const DEFAULT_EXPIRY_S = 3600
const MAX_EXPIRY_S = 7 * 24 * 3600
/** One slow S3 call must not hold a job forever; the caller's retry decides what next. */
const REQUEST_TIMEOUT_MS = 15_000

/** `attachment; filename=…` that survives non-ASCII names (RFC 6266 / 5987). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`
}

export class S3Storage implements Storage {
  readonly kind = 's3' as const
  private readonly client: S3Client

  constructor(private readonly cfg: S3StorageConfig) {
    this.client = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoint,
      forcePathStyle: cfg.forcePathStyle,
      credentials: cfg.accessKeyId && cfg.secretAccessKey ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } : undefined,
      // Without these the SDK adds streaming checksums that s3rver/R2 mishandle (FIELD-NOTES).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // transient failures (connection refused, 5xx, throttling) are retried by the SDK with backoff
      maxAttempts: 3,
      requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: 3000 },
    })
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.cfg.bucket,
        Key: key,
        // a Buffer, never a stream: streamed bodies arrive corrupted at some S3-compatibles
        Body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        ContentType: contentType,
        ContentLength: body.byteLength,
        CacheControl: 'private, max-age=31536000, immutable',
      }),
    )
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key }))
      if (!out.Body) return null
      return await out.Body.transformToByteArray()
    } catch (err) {
      if (err instanceof NoSuchKey || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)) return null
      throw err
    }
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return
    const out = await this.client.send(
      new DeleteObjectsCommand({ Bucket: this.cfg.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    )
    const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey')
    if (failed.length > 0) throw new Error(`could not delete ${failed.map((e) => `${e.Key}: ${e.Code}`).join(', ')}`)
  }

  signedUrl(key: string, opts: { expiresInSeconds?: number; filename?: string } = {}): Promise<string> {
    const expiresIn = Math.min(Math.max(1, Math.floor(opts.expiresInSeconds ?? DEFAULT_EXPIRY_S)), MAX_EXPIRY_S)
    const command = new GetObjectCommand({
      Bucket: this.cfg.bucket,
      Key: key,
      ...(opts.filename ? { ResponseContentDisposition: contentDisposition(opts.filename) } : {}),
    })
    return getSignedUrl(this.client, command, { expiresIn })
  }

  health(): Promise<HealthCheck> {
    return timedCheck('s3', () => this.client.send(new HeadBucketCommand({ Bucket: this.cfg.bucket })))
  }

  close(): void {
    this.client.destroy()
  }
}
