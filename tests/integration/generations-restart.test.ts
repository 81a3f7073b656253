import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshPostgresDatabase, json, startKiln } from '../harness'
import { postgresUrlForServerTests, skipWithout } from '../services'
import { basicInput, recordEvents, signIn, submit, untilTerminal } from './generations-support'

const skip = skipWithout({ postgres: true })
const dataDir = mkdtempSync(join(tmpdir(), 'kiln-restart-'))
let drop: (() => Promise<void>) | undefined
afterAll(async () => {
  await drop?.()
  rmSync(dataDir, { recursive: true, force: true })
})

test.skipIf(skip)('restart mid-job: the new node resumes watching (no second submit), finishes, quota consistent', async () => {
  const fresh = await freshPostgresDatabase(postgresUrlForServerTests)
  drop = fresh.drop
  const first = await startKiln({ databaseUrl: fresh.url, dataDir, env: { LOCAL_PROVIDER_SPEED: '0.05' } })
  const u = await signIn(first, 'pro')
  const rec = recordEvents(first, u.id)
  const running = await submit(first, u, basicInput('restart while generating [slow]'))
  const waiting = await submit(first, u, { ...basicInput('queued behind'), style: 'modern' })
  const freeUser = await signIn(first, 'free')
  const a = await submit(first, freeUser, basicInput('free one [slow]'))
  const b = await submit(first, freeUser, basicInput('free two, waiting'))
  await rec.waitFor((e) => e.data.id === running.body.data.id && e.data.status === 'generating' && Number(e.data.progress) > 10)
  const before = await first.kiln.services.database.db.query.generations.findFirst({ where: (g, { eq }) => eq(g.id, running.body.data.id) })
  expect(before!.providerRequestId).toStartWith('local_')
  rec.stop()
  await first.close()

  const second = await startKiln({ databaseUrl: fresh.url, dataDir, env: { LOCAL_PROVIDER_SPEED: '0.01' } })
  try {
    for (const [user, id] of [
      [u, running.body.data.id],
      [u, waiting.body.data.id],
      [freeUser, a.body.data.id],
      [freeUser, b.body.data.id],
    ] as const) {
      const g = await untilTerminal(second, user, id, 30_000)
      expect(`${id} ${g.status}`).toBe(`${id} completed`)
    }
    const after = await second.kiln.services.database.db.query.generations.findFirst({ where: (g, { eq }) => eq(g.id, running.body.data.id) })
    expect(after!.providerRequestId).toBe(before!.providerRequestId)
    expect(after!.attempts).toBe(1)
    expect((await second.kiln.services.usage.quotaSnapshot(u.id, 'pro')).used).toBe(2)
    expect((await second.kiln.services.usage.quotaSnapshot(freeUser.id, 'free')).used).toBe(2)
    const img = await json(second.request(`/api/v1/generations/${running.body.data.id}`, { headers: u.headers }))
    expect(img.body.data.imageUrl).toBeString()
  } finally {
    await second.close()
  }
})
