import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { blockedReason, canonicalHost, parseIPv6 } from '../../src/lib/ip-ranges'
import { SafeFetchError, checkUrl, safeFetch } from '../../src/lib/safe-fetch'

describe('address classifier', () => {
  const blocked: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['017700000001', 'loopback'],
    ['127.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.100.100.200', 'cgnat'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['fd00::1', 'unique-local'],
    ['fdff:ffff::1', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['FE80::abcd', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['example.com', 'not-an-ip'],
    ['1.2.3.4.5', 'not-an-ip'],
  ]
  for (const [addr, why] of blocked) test(`${addr} → ${why}`, () => expect(blockedReason(addr)).toBe(why))

  for (const addr of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2a00:1450::1'])
    test(`${addr} is public`, () => expect(blockedReason(addr)).toBeUndefined())

  test('IPv6 parser rejects malformed text', () => {
    expect(parseIPv6('1::2::3')).toBeUndefined()
    expect(parseIPv6('1:2:3:4:5:6:7:8:9')).toBeUndefined()
    expect(parseIPv6('12345::')).toBeUndefined()
    expect(parseIPv6('::ffff:1.2.3')).toBeUndefined()
  })

  test('host spellings are canonicalised like a URL parser does', () => {
    expect(canonicalHost('0x7f.0.0.1')).toBe('127.0.0.1')
    expect(canonicalHost('[::FFFF:127.0.0.1]')).toBe('::ffff:7f00:1')
    expect(canonicalHost('Example.COM')).toBe('example.com')
  })
})

describe('safeFetch', () => {
  let server: ReturnType<typeof Bun.serve>
  let base: string
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const path = new URL(req.url).pathname
        if (path === '/redirect') return new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/' } })
        if (path === '/big') return new Response(new Uint8Array(64 * 1024))
        if (path === '/slow') return Bun.sleep(2000).then(() => new Response('late'))
        if (path === '/stream')
          return new Response(
            new ReadableStream({
              async pull(c) {
                c.enqueue(new Uint8Array(16 * 1024))
                await Bun.sleep(1)
              },
            }),
          )
        return new Response(`host=${req.headers.get('host')}`)
      },
    })
    base = `http://127.0.0.1:${server.port}`
  })
  afterAll(() => server.stop(true))

  const reason = async (p: Promise<unknown>) => {
    try {
      await p
      return 'ok'
    } catch (err) {
      return err instanceof SafeFetchError ? err.reason : `unexpected ${(err as Error).message}`
    }
  }

  test('loopback is refused unless allow-listed', async () => {
    expect(await reason(safeFetch(`${base}/`, { allowPrivate: [] }))).toBe('BLOCKED_ADDRESS')
    const r = await safeFetch(`${base}/`, { allowPrivate: ['127.0.0.1'] })
    expect(new TextDecoder().decode(r.body)).toBe(`host=127.0.0.1:${server.port}`)
  })

  test('a hostname is connected to by the checked address, Host header kept', async () => {
    const r = await safeFetch(`http://localhost:${server.port}/`, { allowPrivate: ['localhost'] })
    expect(new TextDecoder().decode(r.body)).toBe(`host=localhost:${server.port}`)
    expect(await reason(safeFetch(`http://localhost:${server.port}/`, { allowPrivate: [] }))).toBe('BLOCKED_ADDRESS')
  })

  test('tricky spellings of loopback and metadata are refused before connecting', async () => {
    for (const host of ['0x7f.1', '2130706433', '[::1]', '[::ffff:127.0.0.1]', '169.254.169.254', '[fd00::1]'])
      expect(await reason(safeFetch(`http://${host}:${server.port}/`, { allowPrivate: [] }))).toBe('BLOCKED_ADDRESS')
  })

  test('redirects are not followed', async () => {
    expect(await reason(safeFetch(`${base}/redirect`, { allowPrivate: ['127.0.0.1'] }))).toBe('REDIRECT')
  })

  test('size is capped by Content-Length and while streaming', async () => {
    expect(await reason(safeFetch(`${base}/big`, { allowPrivate: ['127.0.0.1'], maxBytes: 1000 }))).toBe('TOO_LARGE')
    expect(await reason(safeFetch(`${base}/stream`, { allowPrivate: ['127.0.0.1'], maxBytes: 100_000 }))).toBe('TOO_LARGE')
  })

  test('timeouts, bad schemes and credentials', async () => {
    expect(await reason(safeFetch(`${base}/slow`, { allowPrivate: ['127.0.0.1'], timeoutMs: 100 }))).toBe('TIMEOUT')
    expect(await reason(checkUrl('file:///etc/passwd', []))).toBe('INVALID_URL')
    expect(await reason(checkUrl('http://user:pw@example.com/', []))).toBe('INVALID_URL')
    expect(await reason(checkUrl('not a url', []))).toBe('INVALID_URL')
    expect(await reason(checkUrl('http://kiln-no-such-host.invalid/', []))).toBe('DNS')
  })
})
