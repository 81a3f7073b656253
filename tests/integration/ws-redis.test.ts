/**
 * The gateway over the Redis event log (cluster mode), where live events reach
 * a node through pub/sub a little after they are in the stream: resuming
 * while events keep arriving must still lose and repeat nothing.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { KilnSocket } from '../../src/client/kiln-socket'
import { type TestKiln, startKiln } from '../harness'
import { redisUrlForServerTests, skipWithout } from '../services'
import { signIn } from './ws-support'

const skip = skipWithout({ redis: true })
let k: TestKiln
beforeAll(async () => {
  if (!skip) k = await startKiln({ listen: true, env: { REDIS_URL: redisUrlForServerTests } })
})
afterAll(() => k?.close())

test.skipIf(skip)('50 reconnects while events stream in: every event once, in order', async () => {
  const u = await signIn(k, `redis-ws-${Date.now()}@example.com`)
  const log = k.kiln.services.eventLog
  const c = new KilnSocket({ url: k.url, token: u.accessToken, reconnect: { baseDelayMs: 2, maxDelayMs: 20 } })
  const got: string[] = []
  c.on('quota.updated', (_d, m) => got.push(m.id))
  await c.connect()
  const appended: string[] = []
  let writing = true
  const writer = (async () => {
    for (let i = 0; writing && i < 20_000; i++) {
      appended.push((await log.append(u.id, 'quota.updated', { i })).id)
      if (i % 4 === 0) await Bun.sleep(1)
    }
  })()
  for (let run = 0; run < 50; run++) {
    await Bun.sleep(5 + Math.random() * 15)
    const before = c.stats.connects
    c.drop()
    const end = Date.now() + 5000
    while ((c.stats.connects === before || c.state !== 'open') && Date.now() < end) await Bun.sleep(2)
  }
  writing = false
  await writer
  const last = appended.at(-1)!
  const end = Date.now() + 5000
  while (got.at(-1) !== last && Date.now() < end) await Bun.sleep(10)
  expect(c.stats.duplicatesDropped).toBe(0)
  expect(got).toEqual(appended)
  c.close()
}, 60_000)
