/** One-time socket tickets, and secrets never reaching the logs (every log line of this file is captured). */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq, sql } from 'drizzle-orm'
import { wsTickets } from '../../src/adapters/db/schema'
import { sha256hex } from '../../src/domain/identity/crypto'
import { type TestKiln, json, startKiln } from '../harness'

const lines: string[] = []
let k: TestKiln
beforeAll(async () => {
  k = await startKiln({ env: { LOG_LEVEL: 'debug' }, logSink: (line) => lines.push(line) })
})
afterAll(() => k.close())

/** Every secret this file handles; none may appear in a log line. */
const secrets: string[] = []

/** Enterprise, so that the per-minute request limit never interferes with these tests. */
async function devUser(email: string) {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email, tier: 'enterprise' } }))
  const cookie = r.headers.get('set-cookie')!.split(';')[0]!
  secrets.push(decodeURIComponent(cookie.split('=')[1]!).split('.')[1]!, r.body.data.accessToken)
  return { id: r.body.data.user.id as string, cookie }
}

async function ticketFor(headers: Record<string, string>) {
  const r = await json(k.request('/api/v1/ws/ticket', { method: 'POST', headers }))
  if (r.status === 200) secrets.push(r.body.data.ticket)
  return r
}

test('a ticket is valid once, for 30 s, and is stored only as a hash', async () => {
  const u = await devUser('ticket@example.com')
  const r = await ticketFor({ cookie: u.cookie })
  expect(r.status).toBe(200)
  const { ticket, expiresAt } = r.body.data
  const ttl = new Date(expiresAt).getTime() - Date.now()
  expect(ttl).toBeGreaterThan(25_000)
  expect(ttl).toBeLessThanOrEqual(30_000)
  const rows = await k.kiln.services.database.db.select().from(wsTickets).where(eq(wsTickets.userId, u.id))
  expect(rows[0]!.tokenHash).toBe(sha256hex(ticket))
  expect(JSON.stringify(rows)).not.toContain(ticket)

  expect(await k.kiln.services.tickets.redeem(ticket)).toBe(u.id)
  expect(await k.kiln.services.tickets.redeem(ticket)).toBeUndefined()
})

test('a late ticket, an unknown one, and two racing redemptions', async () => {
  const u = await devUser('ticket-late@example.com')
  const late = (await ticketFor({ cookie: u.cookie })).body.data.ticket
  await k.kiln.services.database.db
    .update(wsTickets)
    .set({ expiresAt: sql`now() - interval '1 second'` })
    .where(eq(wsTickets.tokenHash, sha256hex(late)))
  expect(await k.kiln.services.tickets.redeem(late)).toBeUndefined()
  expect(await k.kiln.services.tickets.redeem('kiln_wst_unknown')).toBeUndefined()
  expect(await k.kiln.services.tickets.redeem('')).toBeUndefined()

  const raced = (await ticketFor({ cookie: u.cookie })).body.data.ticket
  const results = await Promise.all([1, 2, 3].map(() => k.kiln.services.tickets.redeem(raced)))
  expect(results.filter((x) => x === u.id)).toHaveLength(1)
})

test('tickets need credentials, of any kind', async () => {
  expect((await ticketFor({})).status).toBe(401)
  const u = await devUser('ticket-key@example.com')
  const key = (await json(k.request('/api/v1/keys', { method: 'POST', headers: { cookie: u.cookie }, json: { name: 'ws' } }))).body.data.key
  secrets.push(key)
  const viaKey = await ticketFor({ 'x-api-key': key })
  expect(viaKey.status).toBe(200)
  expect(await k.kiln.services.tickets.redeem(viaKey.body.data.ticket)).toBe(u.id)
})

test('secrets never appear in log lines, on success or failure paths', async () => {
  const u = await devUser('logs@example.com')
  const key = (await json(k.request('/api/v1/keys', { method: 'POST', headers: { cookie: u.cookie }, json: { name: 'logged?' } }))).body.data.key
  secrets.push(key)
  const pair = (await json(k.request('/api/v1/auth/token', { method: 'POST', headers: { 'x-api-key': key } }))).body.data
  const next = (await json(k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair.refreshToken } }))).body.data
  secrets.push(pair.accessToken, pair.refreshToken, next.accessToken, next.refreshToken)
  // failure paths: reuse (logged as a warning), a wrong key, a bad bearer
  await k.request('/api/v1/auth/refresh', { method: 'POST', json: { refreshToken: pair.refreshToken } })
  const wrong = `${key.slice(0, 18)}${'Z'.repeat(32)}`
  secrets.push(wrong)
  await k.request('/api/v1/auth/user', { headers: { 'x-api-key': wrong } })
  await k.request('/api/v1/auth/user', { headers: { authorization: `Bearer ${next.accessToken}x` } })
  await k.request(`/api/v1/auth/user?apiKey=${wrong}`, { headers: { cookie: u.cookie } })

  // access-log lines are written after the response, so let them land
  for (let i = 0; i < 50 && !lines.some((l) => l.includes('"path":"/api/v1/auth/user"')); i++) await Bun.sleep(10)
  expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThan(5)
  expect(lines.some((l) => l.includes('refresh token reused'))).toBe(true)
  expect(secrets.length).toBeGreaterThan(10)
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(20)
    const leaked = lines.find((l) => l.includes(secret))
    expect(leaked).toBeUndefined()
  }
})
