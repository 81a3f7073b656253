import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'
import { basicInput, recordEvents, signIn, submit, untilTerminal } from './generations-support'

let k: TestKiln
beforeAll(async () => {
  // Slower than the default test pace so each stage lasts long enough to be caught.
  k = await startKiln({ env: { LOCAL_PROVIDER_SPEED: '0.05' } })
})
afterAll(() => k.close())

const row = (id: string) => k.kiln.services.database.db.query.generations.findFirst({ where: (g, { eq }) => eq(g.id, id) })

test('cancel while queued (behind a running job): cancelled at once, quota refunded', async () => {
  const u = await signIn(k, 'free')
  const first = await submit(k, u, basicInput('long first [slow]'))
  const second = await submit(k, u, basicInput('waiting second'))
  expect(second.body.data.status).toBe('queued')
  const c = await json(k.request(`/api/v1/generations/${second.body.data.id}/cancel`, { method: 'POST', headers: u.headers }))
  expect(c.status).toBe(200)
  expect(c.body.data.status).toBe('cancelled')
  const r = await row(second.body.data.id)
  expect(r!.quotaRefunded).toBe(true)
  expect(r!.providerRequestId).toBeNull()
  await k.kiln.services.generations.cancel(u, first.body.data.id)
})

for (const stage of ['analyzing', 'generating', 'finalizing'] as const) {
  test(`cancel while ${stage}: the job stops for real and nothing is stored afterwards`, async () => {
    const u = await signIn(k, 'pro')
    const rec = recordEvents(k, u.id)
    const r = await submit(k, u, basicInput(`cancel me during ${stage} [slow]`))
    const id = r.body.data.id
    await rec.waitFor((e) => e.data.id === id && e.data.status === stage)
    const c = await json(k.request(`/api/v1/generations/${id}/cancel`, { method: 'POST', headers: u.headers }))
    // A stage can finish between the event and the request; then the job is already done.
    if (c.status === 409) {
      expect(stage).toBe('finalizing')
      rec.stop()
      return
    }
    expect(c.status).toBe(200)
    expect(c.body.data.status).toBe('cancelled')
    await Bun.sleep(300)
    const after = await row(id)
    expect(after!.status).toBe('cancelled')
    expect(after!.imageKey).toBeNull()
    const storage = k.kiln.services.storage
    expect(await storage.get(`users/${u.id}/generations/${id}/full.webp`)).toBeNull()
    expect(await storage.get(`users/${u.id}/generations/${id}/thumb.webp`)).toBeNull()
    // Refund exactly when cancelled before the model started; never twice.
    const startedGenerating = rec.of(id).some((e) => e.data.status === 'generating')
    expect(after!.quotaRefunded).toBe(!startedGenerating)
    expect(rec.of(id).filter((e) => e.type === 'generation.cancelled')).toHaveLength(1)
    expect(rec.of(id).some((e) => e.type === 'generation.completed')).toBe(false)
    const again = await json(k.request(`/api/v1/generations/${id}/cancel`, { method: 'POST', headers: u.headers }))
    expect(again.status).toBe(409)
    rec.stop()
  })
}

test('deleting a running job stops it and removes the row', async () => {
  const u = await signIn(k, 'pro')
  const rec = recordEvents(k, u.id)
  const r = await submit(k, u, basicInput('delete while running [slow]'))
  const id = r.body.data.id
  await rec.waitFor((e) => e.data.id === id && e.data.status === 'generating')
  const d = await json(k.request(`/api/v1/generations/${id}`, { method: 'DELETE', headers: u.headers }))
  expect(d.status).toBe(200)
  expect(await row(id)).toBeUndefined()
  await Bun.sleep(200)
  expect(await k.kiln.services.storage.get(`users/${u.id}/generations/${id}/full.webp`)).toBeNull()
  rec.stop()
})

test('a job past its deadline fails with TIMEOUT and gets its quota back', async () => {
  const u = await signIn(k, 'pro')
  const runtime = k.kiln.services.actors as unknown as { ctx: { options: { jobDeadlineMs: number } } }
  const saved = runtime.ctx.options.jobDeadlineMs
  runtime.ctx.options.jobDeadlineMs = 50
  try {
    const r = await submit(k, u, basicInput('too slow [slow]'))
    const g = await untilTerminal(k, u, r.body.data.id)
    expect(g.status).toBe('failed')
    expect(g.error?.code).toBe('TIMEOUT')
    expect((await row(g.id))!.quotaRefunded).toBe(true)
  } finally {
    runtime.ctx.options.jobDeadlineMs = saved
  }
})
