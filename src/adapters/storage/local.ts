/**
 * Local-disk storage for the embedded mode: files under `<DATA_DIR>/files`,
 * served by Kiln itself at `/files/<key>` through HMAC-signed, expiring URLs.
 * One node only: a cluster needs S3 (main.ts warns).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { type HealthCheck, timedCheck } from '../../lib/health'
import type { Storage } from './storage'

const KEY_CHARS = /^[A-Za-z0-9/_.-]+$/
export const DEFAULT_URL_TTL_SECONDS = 3600

/** Throws unless `key` is a plain relative path inside the store. */
export function assertSafeKey(key: string): void {
  const parts = key.split('/')
  if (
    key.length === 0 ||
    key.length > 512 ||
    !KEY_CHARS.test(key) ||
    key.startsWith('/') ||
    parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('..'))
  )
    throw new Error(`invalid storage key: ${JSON.stringify(key.slice(0, 80))}`)
}

export interface LocalStorageOptions {
  dataDir: string
  publicUrl: string
  /** SESSION_SECRET: signs file URLs. */
  secret: string
  /** Clock, in seconds (tests move it). */
  now?: () => number
}

/** What a `/files/*` request presents; checked by `verify`. */
export interface FileSignature {
  key: string
  exp: string | undefined
  sig: string | undefined
  fn: string | undefined
}

export class LocalStorage implements Storage {
  readonly kind = 'local' as const
  readonly root: string
  private readonly publicUrl: string
  private readonly secret: string
  private readonly now: () => number

  constructor(opts: LocalStorageOptions) {
    this.root = join(opts.dataDir, 'files')
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '')
    this.secret = opts.secret
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000))
  }

  /** The file behind a key (the key is checked first). */
  pathOf(key: string): string {
    assertSafeKey(key)
    return join(this.root, key)
  }

  // The type is not stored: /files derives it from the extension, and every key Kiln writes has one.
  async put(key: string, body: Uint8Array, _contentType: string): Promise<void> {
    const path = this.pathOf(key)
    await mkdir(dirname(path), { recursive: true })
    // Write beside the target then rename: readers see the old file or the whole new one, never half.
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
    try {
      await writeFile(tmp, body)
      await rename(tmp, path)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    const file = Bun.file(this.pathOf(key))
    try {
      return await file.bytes()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) await rm(this.pathOf(key), { force: true })
  }

  async signedUrl(key: string, opts: { expiresInSeconds?: number; filename?: string } = {}): Promise<string> {
    assertSafeKey(key)
    const exp = String(this.now() + (opts.expiresInSeconds ?? DEFAULT_URL_TTL_SECONDS))
    const query = new URLSearchParams({ exp, sig: this.sign(key, exp, opts.filename) })
    if (opts.filename !== undefined) query.set('fn', opts.filename)
    return `${this.publicUrl}/files/${key}?${query}`
  }

  /**
   * Checks a presented signature in constant time. Returns the seconds left
   * before expiry, or null when the URL is tampered with, malformed or expired.
   */
  verify(p: FileSignature): number | null {
    if (!p.exp || !p.sig || !/^\d{1,12}$/.test(p.exp)) return null
    try {
      assertSafeKey(p.key)
    } catch {
      return null
    }
    const expected = Buffer.from(this.sign(p.key, p.exp, p.fn))
    const given = Buffer.from(p.sig)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
    const left = Number(p.exp) - this.now()
    return left > 0 ? left : null
  }

  async health(): Promise<HealthCheck> {
    return timedCheck('local', async () => {
      await mkdir(this.root, { recursive: true })
      const probe = join(this.root, `.health-${randomBytes(4).toString('hex')}`)
      await writeFile(probe, 'ok')
      await stat(probe)
      await unlink(probe)
    })
  }

  // The filename is signed too (absent and empty differ), so a link cannot be re-labelled.
  private sign(key: string, exp: string, filename: string | undefined): string {
    return createHmac('sha256', this.secret)
      .update(`kiln-file\n${key}\n${exp}\n${filename === undefined ? '-' : `=${filename}`}`)
      .digest('base64url')
  }
}
