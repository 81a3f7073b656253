/**
 * Redis coordination against a real Redis: two "nodes" (two independent sets
 * of connections) share the per-user event log and the bus; trimmed streams
 * report gaps; readiness turns 503 when Redis cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createClient } from 'redis'
import type { KilnEvent } from '../../src/adapters/coordination/bus'
import { RedisBus, RedisConnections, RedisEventLog, openRedisCoordination } from '../../src/adapters/coordination/redis'
import { createLogger } from '../../src/lib/logger'
import { json, startKiln } from '../harness'
import { freePort, redisUrlForServerTests, skipWithout } from '../services'

const skip = skipWithout({ redis: true })
const log = createLogger('error')
const user = () => `usr_test_${Math.random().toString(36).slice(2, 10)}`

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, ms = 2000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error('timed out waiting')
    await Bun.sleep(5)
  }
}


describe.skipIf(skip)('redis coordination', () => {
  let a: RedisConnections
  let b: RedisConnections
  let logA: RedisEventLog
  let logB: RedisEventLog
  const admin = createClient({ url: redisUrlForServerTests })
  const users: string[] = []

  beforeAll(async () => {
    a = new RedisConnections(redisUrlForServerTests, log)
    b = new RedisConnections(redisUrlForServerTests, log)
    expect(await a.open()).toBe(true)
    expect(await b.open()).toBe(true)
    logA = new RedisEventLog(a, log)
    logB = new RedisEventLog(b, log, 1000)
    await admin.connect()
  })
  afterAll(async () => {
    if (users.length) await admin.del(users.map((u) => `kiln:events:${u}`))
    await admin.close()
    await a.close()
    await b.close()
  })

  test('events appended on one node arrive live on the other, in order', async () => {
    const u = user()
    users.push(u)
    const seenB: KilnEvent[] = []
    const seenA: KilnEvent[] = []
    const offB = logB.subscribe(u, (e) => seenB.push(e))
    const offA = logA.subscribe(u, (e) => seenA.push(e))
    await logB.settled()
    await logA.settled()
    const sent = []
    for (let i = 0; i < 20; i++) sent.push(await logA.append(u, 'generation.progress', { id: 'gen_1', progress: i * 5 }))
    await until(() => (seenB.length === 20 ? true : undefined))
    expect(seenB.map((e) => e.id)).toEqual(sent.map((e) => e.id))
    expect(seenB[3]).toEqual({ v: 1, id: sent[3]!.id, type: 'generation.progress', ts: sent[3]!.ts, data: { id: 'gen_1', progress: 15 } })
    // the appending node's own sockets hear it too
    await until(() => (seenA.length === 20 ? true : undefined))
    offA()
    offB()
  })

  test('a user not subscribed on a node gets nothing there; unsubscribe stops delivery', async () => {
    const u = user()
    const other = user()
    users.push(u, other)
    const seen: KilnEvent[] = []
    const off = logB.subscribe(u, (e) => seen.push(e))
    await logB.settled()
    await logA.append(other, 'quota.updated', {})
    await logA.append(u, 'quota.updated', { n: 1 })
    await until(() => (seen.length === 1 ? true : undefined))
    off()
    await logB.settled()
    await logA.append(u, 'quota.updated', { n: 2 })
    await Bun.sleep(50)
    expect(seen.map((e) => e.data.n)).toEqual([1])
  })

  test('readAfter on the other node replays strictly after the given id', async () => {
    const u = user()
    users.push(u)
    const ids = []
    for (let i = 0; i < 5; i++) ids.push((await logA.append(u, 'generation.progress', { i })).id)
    const r = await logB.readAfter(u, ids[1]!)
    expect(r.gap).toBe(false)
    expect(r.events.map((e) => e.data.i)).toEqual([2, 3, 4])
    expect((await logB.readAfter(u, ids[4]!)).events).toEqual([])
    expect((await logB.readAfter(u, ids[0]!, 2)).events.map((e) => e.data.i)).toEqual([1, 2])
    expect(await logB.latestId(u)).toBe(ids[4]!)
    expect(await logB.latestId(user())).toBeNull()
    // an id from before the stream began is no gap while nothing was trimmed
    expect((await logB.readAfter(u, '1-0')).events).toHaveLength(5)
    expect((await logB.readAfter(u, 'not-an-id')).gap).toBe(true)
  })

  test('the stream is capped; an id older than what it keeps reports a gap', async () => {
    const small = new RedisEventLog(a, log, 50)
    const u = user()
    users.push(u)
    const first = await small.append(u, 'generation.queued', { i: 0 })
    for (let i = 1; i < 400; i++) await small.append(u, 'generation.progress', { i })
    const len = await admin.xLen(`kiln:events:${u}`)
    expect(len).toBeGreaterThanOrEqual(50)
    expect(len).toBeLessThan(400)
    expect(await small.readAfter(u, first.id)).toEqual({ events: [], gap: true })
    const latest = (await small.latestId(u))!
    const recent = await small.readAfter(u, latest)
    expect(recent).toEqual({ events: [], gap: false })
    expect(await admin.pTTL(`kiln:events:${u}`)).toBeGreaterThan(0)
  })

  test('the bus carries messages between nodes', async () => {
    const busA = new RedisBus(a)
    const busB = new RedisBus(b)
    const got: string[] = []
    const off = await busB.subscribe('actors.forward', (m) => got.push(m))
    await busA.publish('actors.forward', 'hello')
    await busA.publish('actors.other', 'not for b')
    await until(() => (got.length === 1 ? true : undefined))
    expect(got).toEqual(['hello'])
    await off()
    expect((await busA.health()).status).toBe('ok')
  })

  test('a replay right after subscribing misses nothing: subscriptions settle before the range is read', async () => {
    const u = user()
    users.push(u)
    const first = await logA.append(u, 'generation.queued', { i: 0 })
    const live: KilnEvent[] = []
    const off = logB.subscribe(u, (e) => live.push(e))
    const replay = await logB.readAfter(u, first.id)
    const after = await logA.append(u, 'generation.started', { i: 1 })
    await until(() => (live.some((e) => e.id === after.id) ? true : undefined))
    expect(replay.events).toEqual([])
    off()
  })

  test('health is down at once when Redis is unreachable', async () => {
    const c = await openRedisCoordination(`redis://127.0.0.1:${await freePort()}`, log, { waitMs: 1000 })
    const h = await c.health()
    expect(h.status).toBe('down')
    expect(h.latencyMs).toBeLessThan(100)
    await c.close()
  })

  test('Kiln with REDIS_URL reports redis in readiness; a closed port makes it 503', async () => {
    const up = await startKiln({ env: { REDIS_URL: redisUrlForServerTests } })
    try {
      const r = await json(up.request('/health/ready'))
      expect(r.status).toBe(200)
      expect(r.body.checks.redis).toMatchObject({ status: 'ok', kind: 'redis' })
      expect(up.kiln.services.bus.kind).toBe('redis')
    } finally {
      await up.close()
    }
    const started = performance.now()
    const down = await startKiln({ env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } })
    try {
      expect(performance.now() - started).toBeLessThan(5000)
      const r = await json(down.request('/health/ready'))
      expect(r.status).toBe(503)
      expect(r.body.checks.redis.status).toBe('down')
      expect((await down.request('/health/live')).status).toBe(200)
    } finally {
      await down.close()
    }
  })
})

/** A private Redis that the test can stop and start again on the same port. */
describe.skipIf(skip || !Bun.which('redis-server'))('redis restarts', () => {
  let port = 0
  let server: Bun.Subprocess | undefined
  const startRedis = async () => {
    server = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdout: 'ignore',
      stderr: 'ignore',
    })
    const probe = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: (n) => (n > 100 ? false : 20) } })
    probe.on('error', () => {})
    await probe.connect()
    await probe.close()
  }
  const stopRedis = async () => {
    server?.kill('SIGKILL')
    await server?.exited
  }
  afterAll(stopRedis)

  test('after Redis comes back, subscribers are resubscribed and health recovers', async () => {
    port = await freePort()
    await startRedis()
    const url = `redis://127.0.0.1:${port}`
    const a = await openRedisCoordination(url, log, { commandTimeoutMs: 300 })
    const b = await openRedisCoordination(url, log, { commandTimeoutMs: 300 })
    try {
      const seen: KilnEvent[] = []
      b.eventLog.subscribe('usr_restart', (e) => seen.push(e))
      await (b.eventLog as RedisEventLog).settled()
      await a.eventLog.append('usr_restart', 'quota.updated', { n: 1 })
      await until(() => (seen.length === 1 ? true : undefined))

      await stopRedis()
      await until(() => (!a.conn.cmd.isReady ? true : undefined))
      expect((await a.health()).status).toBe('down')
      // while Redis is away, writes fail after the command timeout instead of hanging
      const t0 = performance.now()
      expect(await a.eventLog.append('usr_restart', 'quota.updated', { n: 0 }).then(() => 'ok', () => 'failed')).toBe('failed')
      expect(performance.now() - t0).toBeLessThan(2000)
      await startRedis()
      const ready = (c: typeof a) => c.conn.cmd.isReady && c.conn.sub.isReady
      await until(() => (ready(a) && ready(b) ? true : undefined), 5000)
      expect((await a.health()).status).toBe('ok')
      // the subscriber connection resubscribed by itself: live delivery resumes
      await until(async () => {
        await a.eventLog.append('usr_restart', 'quota.updated', { n: 2 })
        return seen.some((e) => e.data.n === 2) ? true : undefined
      }, 5000)
    } finally {
      await a.close()
      await b.close()
    }
  }, 20_000)
})
