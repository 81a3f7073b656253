/**
 * The one guard for every outbound fetch of a URL that a user or a provider
 * chose (outgoing webhooks, provider result downloads, imports).
 *
 * It resolves the host once, refuses non-public addresses (see ip-ranges.ts)
 * unless the host or IP is on the allow-list, and then connects to exactly the
 * address it checked — the URL is rewritten to the IP, with the original Host
 * header and TLS server name — so a second DNS answer cannot swap in a private
 * address (DNS rebinding). Redirects are never followed, and both time and
 * response size are bounded.
 */
import { readCapped } from './read-capped'
import { lookup } from 'node:dns/promises'
import { blockedReason, canonicalHost, isIpLiteral } from './ip-ranges'

export type SafeFetchFailure = 'INVALID_URL' | 'BLOCKED_ADDRESS' | 'DNS' | 'REDIRECT' | 'TIMEOUT' | 'TOO_LARGE' | 'NETWORK'

export class SafeFetchError extends Error {
  constructor(
    readonly reason: SafeFetchFailure,
    message: string,
  ) {
    super(message)
    this.name = 'SafeFetchError'
  }
}

export interface SafeFetchOptions {
  /** Hostnames or IPs exempt from the address check (config.webhookAllowPrivate; tests only). */
  allowPrivate: readonly string[]
  method?: string
  headers?: Record<string, string>
  body?: string | Uint8Array
  /** Whole request, DNS to last byte. */
  timeoutMs?: number
  maxBytes?: number
  signal?: AbortSignal
}

export interface SafeResponse {
  status: number
  headers: Headers
  body: Uint8Array
}

export interface CheckedTarget {
  url: URL
  /** The address that was checked and will be connected to. */
  address: string
}

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_MAX_BYTES = 1024 * 1024

function allowed(list: readonly string[], value: string): boolean {
  const c = canonicalHost(value) ?? value.toLowerCase()
  return list.some((entry) => (canonicalHost(entry) ?? entry.toLowerCase()) === c)
}

async function resolveAll(hostname: string, signal: AbortSignal): Promise<string[]> {
  if (isIpLiteral(hostname)) return [canonicalHost(hostname)!]
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(new SafeFetchError('TIMEOUT', 'timed out resolving host')), { once: true }),
  )
  try {
    const answers = await Promise.race([lookup(hostname, { all: true, verbatim: true }), aborted])
    return answers.map((a) => a.address)
  } catch (err) {
    if (err instanceof SafeFetchError) throw err
    throw new SafeFetchError('DNS', `cannot resolve ${hostname}`)
  }
}

/**
 * Parses and resolves `raw`, refusing it unless every address it resolves to
 * is public (or allow-listed). Used on its own to validate webhook URLs at
 * registration, and by `safeFetch` before connecting.
 */
export async function checkUrl(raw: string, allowPrivate: readonly string[], signal = AbortSignal.timeout(DEFAULT_TIMEOUT_MS)): Promise<CheckedTarget> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new SafeFetchError('INVALID_URL', 'not a valid URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SafeFetchError('INVALID_URL', 'only http and https URLs are allowed')
  if (url.username || url.password) throw new SafeFetchError('INVALID_URL', 'credentials in URLs are not allowed')
  const hostname = canonicalHost(url.hostname)
  if (!hostname) throw new SafeFetchError('INVALID_URL', 'not a valid host')
  const hostAllowed = allowed(allowPrivate, hostname)
  const addresses = await resolveAll(hostname, signal)
  if (addresses.length === 0) throw new SafeFetchError('DNS', `no addresses for ${hostname}`)
  // Every answer must pass: a resolver that mixes a public and a private answer is refused outright.
  for (const address of addresses) {
    const why = blockedReason(address)
    if (why && !hostAllowed && !allowed(allowPrivate, address))
      throw new SafeFetchError('BLOCKED_ADDRESS', `${hostname} resolves to a ${why} address, which is not allowed`)
  }
  return { url, address: addresses[0]! }
}

async function readBodyCapped(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => {})
    throw new SafeFetchError('TOO_LARGE', `response is ${declared} bytes, more than ${maxBytes}`)
  }
  if (!res.body) return new Uint8Array()
  return readCapped(res.body, maxBytes, (max) => new SafeFetchError('TOO_LARGE', `response exceeds ${max} bytes`))
}

/** Fetches `raw` through the guard; 3xx is an error, the body is read fully (capped). */
export async function safeFetch(raw: string, opts: SafeFetchOptions): Promise<SafeResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout
  try {
    const { url, address } = await checkUrl(raw, opts.allowPrivate, signal)
    const pinned = new URL(url)
    pinned.hostname = address.includes(':') ? `[${address}]` : address
    const headers = new Headers(opts.headers)
    headers.set('host', url.host)
    const res = await fetch(pinned, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body,
      redirect: 'manual',
      signal,
      // certificate checked against the name asked for, not the IP connected to
      ...(url.protocol === 'https:' && !isIpLiteral(url.hostname) ? { tls: { serverName: url.hostname } } : {}),
    } as RequestInit)
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => {})
      throw new SafeFetchError('REDIRECT', `redirect (${res.status}) not followed`)
    }
    return { status: res.status, headers: res.headers, body: await readBodyCapped(res, opts.maxBytes ?? DEFAULT_MAX_BYTES) }
  } catch (err) {
    if (err instanceof SafeFetchError) throw err
    if (timeout.aborted) throw new SafeFetchError('TIMEOUT', `no complete response within ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)
    if (opts.signal?.aborted) throw err
    throw new SafeFetchError('NETWORK', (err as Error).message)
  }
}
