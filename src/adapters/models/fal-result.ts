/** Reading fal's answers: the result body, progress from logs, and where its webhooks should go. */
import { blockedReason, canonicalHost, isIpLiteral } from '../../lib/ip-ranges'
import { contentRejected } from './fal-errors'
import { ModelError, type ModelOutput } from './model'

interface FalImage {
  url?: string
  content_type?: string
}

/**
 * Where fal should send completion webhooks: `$PUBLIC_URL/api/v1/providers/fal/webhook`,
 * unless that names a host fal cannot reach (localhost, a private address) and
 * it is not allow-listed for tests; polling alone then completes jobs.
 */
export function falWebhookUrl(publicUrl: string, allowPrivate: readonly string[]): string | undefined {
  const host = canonicalHost(new URL(publicUrl).hostname) ?? ''
  const unreachable = host === 'localhost' || host.endsWith('.localhost') || (isIpLiteral(host) && blockedReason(host) !== undefined)
  if (unreachable && !allowPrivate.some((h) => canonicalHost(h) === host)) return undefined
  return `${publicUrl.replace(/\/+$/, '')}/api/v1/providers/fal/webhook`
}

/** fal's result body → Kiln's output, or the reason it is unusable. */
export function outputFromResult(data: unknown): ModelOutput {
  const r = (data ?? {}) as { images?: FalImage[]; image?: FalImage; has_nsfw_concepts?: boolean[] }
  if (Array.isArray(r.has_nsfw_concepts) && r.has_nsfw_concepts.some(Boolean)) throw contentRejected()
  const image = r.images?.[0] ?? r.image
  if (!image?.url || !/^https?:\/\//i.test(image.url))
    throw new ModelError('PROVIDER_ERROR', 'fal finished without an image URL', false)
  return { kind: 'url', url: image.url, contentType: image.content_type }
}

/** Progress within `generating` from fal's logs: "45%", "13/28" (diffusion steps); otherwise a slow creep. */
export function progressFromLogs(logs: Array<{ message?: string }> | undefined, previous: number): number {
  for (const log of [...(logs ?? [])].reverse()) {
    const m = log.message ?? ''
    const pct = /(\d{1,3})%/.exec(m)
    if (pct) return Math.max(previous, Math.min(99, Number(pct[1])))
    const steps = /\b(\d+)\s*\/\s*(\d+)\b/.exec(m)
    if (steps && Number(steps[2]) > 0) return Math.max(previous, Math.min(99, Math.floor((100 * Number(steps[1])) / Number(steps[2]))))
  }
  return Math.min(90, previous + 5)
}
