import type { HealthCheck } from '../../lib/health'

/**
 * Where Kiln keeps images: local files (embedded) or an S3-compatible bucket.
 * Only keys are stored in the database; URLs are signed on the way out.
 */
export interface Storage {
  readonly kind: 'local' | 's3'
  put(key: string, body: Uint8Array, contentType: string): Promise<void>
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Uint8Array | null>
  /** Removes the objects; missing keys are not an error. */
  delete(keys: string[]): Promise<void>
  /** A URL anyone holding it may GET until it expires; `filename` sets Content-Disposition. */
  signedUrl(key: string, opts?: { expiresInSeconds?: number; filename?: string }): Promise<string>
  health(): Promise<HealthCheck>
  /** Releases connections (S3's HTTP agents); optional for implementations that hold none. */
  close?(): void
}

/** Key layout shared by every implementation. */
export const storageKeys = {
  generationFull: (userId: string, generationId: string) => `users/${userId}/generations/${generationId}/full.webp`,
  generationThumb: (userId: string, generationId: string) => `users/${userId}/generations/${generationId}/thumb.webp`,
  upload: (userId: string, uploadId: string) => `users/${userId}/uploads/${uploadId}.webp`,
}
