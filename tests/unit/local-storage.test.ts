import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalStorage, assertSafeKey } from '../../src/adapters/storage/local'

const dir = mkdtempSync(join(tmpdir(), 'kiln-storage-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let clock = 1_800_000_000
const store = new LocalStorage({ dataDir: dir, publicUrl: 'http://kiln.test/', secret: 's'.repeat(32), now: () => clock })

function parts(url: string) {
  const u = new URL(url)
  return {
    key: u.pathname.replace(/^\/files\//, ''),
    exp: u.searchParams.get('exp') ?? undefined,
    sig: u.searchParams.get('sig') ?? undefined,
    fn: u.searchParams.get('fn') ?? undefined,
  }
}

describe('local storage', () => {
  test('put, get and delete round-trip bytes under DATA_DIR/files', async () => {
    const key = 'users/usr_1/generations/gen_1/full.webp'
    const body = new Uint8Array([1, 2, 3, 250])
    await store.put(key, body, 'image/webp')
    expect(await store.get(key)).toEqual(body)
    expect(store.pathOf(key)).toBe(join(dir, 'files', key))
    await store.put(key, new Uint8Array([9]), 'image/webp')
    expect(await store.get(key)).toEqual(new Uint8Array([9]))
    await store.delete([key, 'users/usr_1/never-there.webp'])
    expect(await store.get(key)).toBeNull()
  })

  test('writes are atomic: no temporary file is left behind, even after concurrent writes', async () => {
    const key = 'a/b/c.webp'
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.put(key, new Uint8Array(1000).fill(i), 'image/webp')))
    const got = await store.get(key)
    expect(got?.length).toBe(1000)
    expect(new Set(got).size).toBe(1) // one whole write, never a mix
    expect(readdirSync(join(dir, 'files', 'a', 'b'))).toEqual(['c.webp'])
  })

  test('keys that could escape the directory or carry odd characters are refused', async () => {
    for (const bad of ['../x', 'a/../../etc/passwd', '/etc/passwd', 'a//b', 'a/./b', 'a\\b', 'a b', 'a%2e%2e/b', 'ä.webp', '', 'a/..', 'x?.webp'])
      expect(() => assertSafeKey(bad), bad).toThrow()
    await expect(store.put('../escape.webp', new Uint8Array([1]), 'image/webp')).rejects.toThrow()
    await expect(store.get('/etc/passwd')).rejects.toThrow()
    await expect(store.signedUrl('../x')).rejects.toThrow()
  })

  test('signed URLs name the key, expire in an hour by default and verify', async () => {
    const url = await store.signedUrl('users/u/g/full.webp', { filename: 'kiln-rocket.webp' })
    expect(url).toStartWith('http://kiln.test/files/users/u/g/full.webp?')
    const p = parts(url)
    expect(Number(p.exp)).toBe(clock + 3600)
    expect(p.sig).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(store.verify(p)).toBe(3600)
  })

  test('a changed key, filename, expiry or signature fails verification; so does expiry', async () => {
    const p = parts(await store.signedUrl('users/u/g/full.webp', { filename: 'a.webp', expiresInSeconds: 60 }))
    expect(store.verify({ ...p, key: 'users/u/g/thumb.webp' })).toBeNull()
    expect(store.verify({ ...p, fn: 'b.webp' })).toBeNull()
    expect(store.verify({ ...p, fn: undefined })).toBeNull()
    expect(store.verify({ ...p, exp: String(Number(p.exp) + 1) })).toBeNull()
    expect(store.verify({ ...p, sig: `${p.sig!.slice(0, -1)}${p.sig!.endsWith('A') ? 'B' : 'A'}` })).toBeNull()
    expect(store.verify({ ...p, sig: undefined })).toBeNull()
    expect(store.verify({ ...p, exp: 'soon' })).toBeNull()
    const other = new LocalStorage({ dataDir: dir, publicUrl: 'http://kiln.test', secret: 't'.repeat(32), now: () => clock })
    expect(other.verify(p)).toBeNull()
    clock += 61
    expect(store.verify(p)).toBeNull()
  })

  test('health writes a probe into the directory', async () => {
    expect(await store.health()).toMatchObject({ status: 'ok', kind: 'local' })
    const broken = new LocalStorage({ dataDir: '/proc/kiln-cannot-write', publicUrl: 'http://x', secret: 'x'.repeat(32) })
    expect((await broken.health()).status).toBe('down')
  })
})
