/**
 * Classifies IP addresses for the outbound-fetch guard: anything that is not a
 * plain public unicast address (loopback, private, link-local, CGNAT, cloud
 * metadata, multicast, unspecified, documentation, IPv4 embedded in IPv6) is
 * refused. Pure functions, no I/O, so the tricky forms are unit-tested.
 */

/** Dotted-quad IPv4 → 32-bit number, or undefined. Only the canonical form (the URL parser normalises the rest). */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined
    const v = Number(p)
    if (v > 255) return undefined
    n = n * 256 + v
  }
  return n
}

/** IPv6 text (no brackets, no zone) → eight 16-bit groups, or undefined. */
export function parseIPv6(s: string): number[] | undefined {
  let text = s.toLowerCase()
  if (!text.includes(':')) return undefined
  let tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  const maybeV4 = text.slice(lastColon + 1)
  if (maybeV4.includes('.')) {
    const v4 = parseIPv4(maybeV4)
    if (v4 === undefined) return undefined
    tail = [v4 >>> 16, v4 & 0xffff]
    text = `${text.slice(0, lastColon + 1)}0:0`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (h: string) => (h === '' ? [] : h.split(':'))
  const head = groups(halves[0]!)
  const rest = halves.length === 2 ? groups(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest]
  const out: number[] = []
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined
    out.push(Number.parseInt(g, 16))
  }
  if (tail.length) out.splice(6, 2, ...tail)
  return out
}

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d

/** [network, prefix length, why it is refused] */
const BLOCKED_V4: Array<[number, number, string]> = [
  [v4(0, 0, 0, 0), 8, 'unspecified'],
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(100, 64, 0, 0), 10, 'cgnat'],
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link-local'],
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 0, 0, 0), 24, 'reserved'],
  [v4(192, 0, 2, 0), 24, 'documentation'],
  [v4(192, 88, 99, 0), 24, 'reserved'],
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(198, 18, 0, 0), 15, 'benchmark'],
  [v4(198, 51, 100, 0), 24, 'documentation'],
  [v4(203, 0, 113, 0), 24, 'documentation'],
  [v4(224, 0, 0, 0), 4, 'multicast'],
  [v4(240, 0, 0, 0), 4, 'reserved'],
]

function classifyV4(n: number): string | undefined {
  if (n === v4(169, 254, 169, 254)) return 'metadata'
  for (const [net, len, why] of BLOCKED_V4) {
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0
    if (((n & mask) >>> 0) === net) return why
  }
  return undefined
}

function classifyV6(g: number[]): string | undefined {
  const embedded = (hi: number, lo: number) => ((hi << 16) >>> 0) + lo
  const zeroUpTo = (k: number) => g.slice(0, k).every((x) => x === 0)
  if (g.every((x) => x === 0)) return 'unspecified'
  if (zeroUpTo(7) && g[7] === 1) return 'loopback'
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible): judge the IPv4 inside
  if (zeroUpTo(5) && g[5] === 0xffff) return classifyV4(embedded(g[6]!, g[7]!))
  if (zeroUpTo(6)) return classifyV4(embedded(g[6]!, g[7]!)) ?? 'ipv4-compatible'
  // NAT64 well-known prefix 64:ff9b::/96 reaches the IPv4 inside
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(embedded(g[6]!, g[7]!))
  const first = g[0]!
  if ((first & 0xfe00) === 0xfc00) return g[0] === 0xfd00 && g[1] === 0xec2 ? 'metadata' : 'unique-local'
  if ((first & 0xffc0) === 0xfe80) return 'link-local'
  if ((first & 0xffc0) === 0xfec0) return 'site-local'
  if ((first & 0xff00) === 0xff00) return 'multicast'
  if (first === 0x2001 && g[1] === 0xdb8) return 'documentation'
  if (first === 0x2001 && g[1] === 0) return 'teredo'
  if (first === 0x2002) return classifyV4(embedded(g[1]!, g[2]!)) ?? undefined
  if (first === 0x100 && zeroUpTo(4)) return 'discard'
  return undefined
}

/**
 * Turns any host spelling into its canonical form the way a URL parser does
 * (`0x7f.1` and `2130706433` become `127.0.0.1`, `[::FFFF:127.0.0.1]`
 * becomes `::ffff:7f00:1`), without brackets. Undefined when it is not a valid host.
 */
export function canonicalHost(host: string): string | undefined {
  const h = host.trim()
  const bracketed = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h
  try {
    const out = new URL(`http://${bracketed}/`).hostname
    return out.startsWith('[') ? out.slice(1, -1) : out
  } catch {
    return undefined
  }
}

/** True when `host` is an IP literal (after canonicalisation). */
export function isIpLiteral(host: string): boolean {
  const c = canonicalHost(host)
  return c !== undefined && (parseIPv4(c) !== undefined || parseIPv6(c) !== undefined)
}

/**
 * Why an address may not be fetched (`loopback`, `private`, `metadata`, …), or
 * undefined for a public unicast address. Accepts any spelling of an IP;
 * something that is not an IP at all is refused as `not-an-ip`.
 */
export function blockedReason(address: string): string | undefined {
  const c = canonicalHost(address)
  if (c === undefined) return 'not-an-ip'
  const n4 = parseIPv4(c)
  if (n4 !== undefined) return classifyV4(n4)
  const g6 = parseIPv6(c)
  if (g6 !== undefined) return classifyV6(g6)
  return 'not-an-ip'
}
