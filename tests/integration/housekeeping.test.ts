import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/adapters/db/rows'
import { sweepExpired } from '../../src/domain/housekeeping'
import { type TestKiln, json, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

test('expired Idempotency-Key records and long-expired socket tickets are swept; live ones stay', async () => {
  const db = k.kiln.services.database.db
  const u = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email: 'sweep@example.com' } }))
  const id = u.body.data.user.id
  await db.execute(sql`insert into idempotency_records (user_id, key, request_hash, expires_at) values
    (${id}, 'old', 'h', now() - interval '1 minute'), (${id}, 'fresh', 'h', now() + interval '1 day')`)
  await db.execute(sql`insert into ws_tickets (token_hash, user_id, expires_at) values
    ('t-old', ${id}, now() - interval '2 hours'), ('t-recent', ${id}, now() - interval '5 minutes')`)
  const swept = await sweepExpired(db)
  expect(swept.idempotency).toBeGreaterThanOrEqual(1)
  expect(swept.tickets).toBeGreaterThanOrEqual(1)
  const keys = rowsOf<{ key: string }>(await db.execute(sql`select key from idempotency_records where user_id = ${id}`)).map((r) => r.key)
  expect(keys).toEqual(['fresh'])
  const tickets = rowsOf<{ token_hash: string }>(await db.execute(sql`select token_hash from ws_tickets where user_id = ${id}`)).map((r) => r.token_hash)
  expect(tickets).toEqual(['t-recent'])
})
