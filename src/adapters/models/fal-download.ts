/**
 * Turns a provider's output into image bytes. A URL output (fal) is fetched
 * through the SSRF guard with a size cap and a timeout, and accepted only when
 * its bytes really are an image; the lifecycle's finalizing step calls this.
 */
import { sniffImageType } from '../../lib/image-type'
import { SafeFetchError, safeFetch } from '../../lib/safe-fetch'
import { ModelError, type ModelOutput } from './model'

export interface DownloadOptions {
  /** config.webhookAllowPrivate: hosts exempt from the SSRF guard (tests only). */
  allowPrivate: readonly string[]
  /** 4K PNGs run to tens of MB. */
  maxBytes?: number
  timeoutMs?: number
  signal?: AbortSignal
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024

/** The output's bytes and detected type; transient failures are retryable ModelErrors. */
export async function fetchModelOutput(output: ModelOutput, opts: DownloadOptions): Promise<{ data: Uint8Array; contentType: string }> {
  if (output.kind === 'bytes') return { data: output.data, contentType: output.contentType }
  let res: Awaited<ReturnType<typeof safeFetch>>
  try {
    res = await safeFetch(output.url, {
      allowPrivate: opts.allowPrivate,
      maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES,
      timeoutMs: opts.timeoutMs ?? 60_000,
      signal: opts.signal,
      headers: { accept: 'image/*' },
    })
  } catch (err) {
    if (err instanceof SafeFetchError) {
      const transient = err.reason === 'TIMEOUT' || err.reason === 'NETWORK' || err.reason === 'DNS'
      return Promise.reject(new ModelError('PROVIDER_ERROR', `result download failed: ${err.message}`, transient))
    }
    throw err
  }
  if (res.status !== 200) {
    const transient = res.status === 429 || res.status >= 500
    throw new ModelError('PROVIDER_ERROR', `result download answered ${res.status}`, transient)
  }
  const contentType = sniffImageType(res.body)
  if (!contentType) throw new ModelError('PROVIDER_ERROR', 'the provider returned something that is not an image', false)
  return { data: res.body, contentType }
}
