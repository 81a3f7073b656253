/**
 * A batch whose accepting node died while queuing its items would stay
 * `pending` forever: housekeeping takes it over once it is old enough, counts
 * the items never queued as failed, and lets it end with the rest. One sweep
 * takes a batch once; a fresh pending batch is left alone.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { type TestKiln, startKiln } from '../harness'
import { recordEvents, signIn, submit, untilTerminal } from './generations-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

test('a batch left pending by a dead node is taken over by housekeeping and ends with the items that were queued', async () => {
  const u = await signIn(k, 'pro')
  const events = recordEvents(k, u.id)
  const made = await submit(k, u)
  const done = await untilTerminal(k, u, made.body.data.id)
  expect(done.status).toBe('completed')
  const db = k.kiln.services.database.db
  // What a node leaves behind when it dies after queuing the first of three items.
  const input = JSON.stringify({ prompt: 'x', style: 'modern' })
  await db.execute(sql`insert into batches (id, user_id, status, total, created_at) values
    ('bat_stalled1', ${u.id}, 'pending', 3, now() - interval '1 hour'), ('bat_fresh1', ${u.id}, 'pending', 1, now())`)
  await db.execute(sql`insert into batch_items (id, batch_id, position, input, generation_id, attempts) values
    ('bit_s1', 'bat_stalled1', 0, ${input}::jsonb, ${done.id}, 1),
    ('bit_s2', 'bat_stalled1', 1, ${input}::jsonb, null, 0),
    ('bit_s3', 'bat_stalled1', 2, ${input}::jsonb, null, 0),
    ('bit_f1', 'bat_fresh1', 0, ${input}::jsonb, null, 0)`)

  expect(await k.kiln.services.batches.sweepStalled()).toBe(1)
  expect(await k.kiln.services.batches.sweepStalled()).toBe(0)
  const user = { id: u.id, tier: u.tier }
  const stalled = await k.kiln.services.batches.get(user, 'bat_stalled1')
  expect(stalled).toMatchObject({ status: 'completed', total: 3, counts: { completed: 1, failed: 2 }, progress: 100 })
  expect((await k.kiln.services.batches.get(user, 'bat_fresh1')).status).toBe('pending')
  await events.waitFor((e) => e.type === 'batch.completed' && e.data.id === 'bat_stalled1', 3000)
  const types = events.of('bat_stalled1').map((e) => e.type)
  expect(types[0]).toBe('batch.started')
  expect(types.at(-1)).toBe('batch.completed')
  events.stop()
})
