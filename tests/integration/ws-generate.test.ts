import { afterAll, beforeAll, expect, test } from 'bun:test'
import { CLOSE, KilnSocket, KilnSocketError, type ServerMessage } from '../../src/client/kiln-socket'
import { type TestKiln, startKiln } from '../harness'
import { connected, signIn, wsUrl } from './ws-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln({ listen: true })
})
afterAll(() => k.close())

const input = (prompt = 'a lighthouse at dusk') => ({ prompt, style: 'minimal-icon', palette: 'ocean' })
const TERMINAL = ['generation.completed', 'generation.failed', 'generation.cancelled']

function client(token: string) {
  return new KilnSocket({ url: k.url, token, reconnect: { baseDelayMs: 5, maxDelayMs: 50 }, requestTimeoutMs: 10_000 })
}

/** Collects every message the client hands to handlers. */
function collect(c: KilnSocket) {
  const seen: ServerMessage[] = []
  c.on('*', (_d, m) => {
    if (m.id) seen.push(m)
  })
  return seen
}

async function until(pred: () => boolean, ms = 10_000) {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await Bun.sleep(5)
  }
}

test('generate over the socket: ack with the requestId, then the job events in order with monotone, throttled progress', async () => {
  const u = await signIn(k, 'gen@example.com', 'pro')
  const c = client(u.accessToken)
  const seen = collect(c)
  await c.connect()
  const ack = await c.generate(input(), { requestId: 'req-1' })
  expect(ack.requestId).toBe('req-1')
  expect(ack.id).toMatch(/^gen_/)
  await until(() => seen.some((m) => m.type === 'generation.completed' && (m.data as { id: string }).id === ack.id))
  const job = seen.filter((m) => (m.data as { id?: string }).id === ack.id && m.type.startsWith('generation.'))
  const types = job.map((m) => m.type)
  expect(types[0]).toBe('generation.queued')
  expect(types).toContain('generation.started')
  expect(types.at(-1)).toBe('generation.completed')
  const ids = job.map((m) => m.id)
  expect([...ids].sort((a, b) => (a.split('-').map(Number) as [number, number]).reduce((x, y, i) => x || y - Number(b.split('-')[i]), 0))).toEqual(ids)
  const progress = job.filter((m) => m.type === 'generation.progress').map((m) => m.data as { progress: number; stage: string })
  for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThanOrEqual(progress[i - 1]!.progress)
  // Throttle: two progress events of the same stage less than 200 ms apart only when the second is the final 100.
  const prog = job.filter((m) => m.type === 'generation.progress')
  for (let i = 1; i < prog.length; i++) {
    const gap = Number.parseInt(prog[i]!.id, 10) - Number.parseInt(prog[i - 1]!.id, 10)
    const d = prog[i]!.data as { progress: number; stage: string }
    if (gap < 200) expect(d.stage !== (prog[i - 1]!.data as { stage: string }).stage || d.progress === 100).toBe(true)
  }
  const completed = job.at(-1)!.data as { status: string; imageUrl: string | null }
  expect(completed.status).toBe('completed')
  expect(completed.imageUrl).toBeTruthy()
  expect(c.stats.duplicatesDropped).toBe(0)
  c.close()
})

test('generate errors carry the requestId: invalid input, unknown style, rate limit; the socket stays usable', async () => {
  const u = await signIn(k, 'limits@example.com', 'free')
  const c = client(u.accessToken)
  await c.connect()
  const bad = await c.generate({ prompt: '' } as never, { requestId: 'bad-1' }).catch((e) => e)
  expect(bad).toBeInstanceOf(KilnSocketError)
  expect(bad.code).toBe('VALIDATION_ERROR')
  const unknownStyle = await c.generate({ prompt: 'x', style: 'no-such-style' }, { requestId: 'bad-2' }).catch((e) => e)
  expect(unknownStyle.code).toBe('VALIDATION_ERROR')
  // Free tier: 10 requests a minute; socket generates count like REST requests.
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => c.generate(input(`p${i}`), { requestId: `r${i}` }).catch((e) => e)))
  const codes = results.map((r) => (r instanceof KilnSocketError ? r.code : 'ack'))
  expect(codes).toContain('RATE_LIMIT_EXCEEDED')
  expect((await c.ping()).serverTime).toBeTruthy()
  c.close()
})

test("cancel over the socket; another user's generation is NOT_FOUND; a finished one is CONFLICT", async () => {
  const u = await signIn(k, 'cancel@example.com', 'pro')
  const other = await signIn(k, 'other@example.com', 'pro')
  const c = client(u.accessToken)
  const seen = collect(c)
  await c.connect()
  const o = client(other.accessToken)
  await o.connect()
  const ack = await c.generate(input())
  const stolen = await o.cancel(ack.id).catch((e) => e)
  expect(stolen.code).toBe('NOT_FOUND')
  const cancelled = await c.cancel(ack.id).catch((e) => e)
  if (cancelled instanceof KilnSocketError) expect(cancelled.code).toBe('CONFLICT') // it may have finished first
  else await until(() => seen.some((m) => m.type === 'generation.cancelled' && (m.data as { id: string }).id === ack.id))
  await until(() => seen.some((m) => TERMINAL.includes(m.type) && (m.data as { id: string }).id === ack.id))
  const again = await c.cancel(ack.id).catch((e) => e)
  expect(again.code).toBe('CONFLICT')
  expect(JSON.stringify(await Promise.resolve(o.stats))).toBeTruthy()
  c.close()
  o.close()
})

test('resume after a forced disconnect mid-job loses and repeats nothing (50 runs)', async () => {
  const lanes = 10
  const perLane = 5
  const users = await Promise.all(Array.from({ length: lanes }, (_, i) => signIn(k, `lane${i}@example.com`, 'enterprise')))
  const failures: string[] = []
  await Promise.all(
    users.map(async (u, lane) => {
      const c = client(u.accessToken)
      const seen = collect(c)
      await c.connect()
      for (let run = 0; run < perLane; run++) {
        const ack = await c.generate(input(`lane ${lane} run ${run}`))
        // Drop mid-job: from the client (clean close) or the server (as a dying node does), at a random moment.
        await Bun.sleep(Math.random() * 40)
        if ((lane + run) % 2 === 0) c.drop()
        else k.kiln.services.sockets.closeUser(u.id, CLOSE.SERVICE_RESTART, 'node going away')
        await until(() => seen.some((m) => TERMINAL.includes(m.type) && (m.data as { id: string }).id === ack.id))
        const logged = (await k.kiln.services.eventLog.readAfter(u.id, '0-0', 1000)).events.filter((e) => e.data.id === ack.id)
        const got = seen.filter((m) => (m.data as { id?: string }).id === ack.id && m.type.startsWith('generation.'))
        const ids = got.map((m) => m.id)
        if (new Set(ids).size !== ids.length) failures.push(`lane ${lane} run ${run}: duplicate`)
        const must = logged.filter((e) => e.type !== 'generation.progress').map((e) => e.id)
        for (const id of must) if (!ids.includes(id)) failures.push(`lane ${lane} run ${run}: lost ${id}`)
        for (const id of ids) if (!logged.some((e) => e.id === id)) failures.push(`lane ${lane} run ${run}: unknown ${id}`)
        const order = logged.map((e) => e.id).filter((id) => ids.includes(id))
        if (order.join() !== ids.join()) failures.push(`lane ${lane} run ${run}: out of order`)
      }
      expect(c.stats.duplicatesDropped).toBe(0)
      expect(c.stats.reconnects).toBeGreaterThanOrEqual(perLane)
      c.close()
    }),
  )
  expect(failures).toEqual([])
}, 60_000)

test('several tabs of one user all see the job; a raw socket sees the same events as the typed client', async () => {
  const u = await signIn(k, 'tabs@example.com', 'pro')
  const tabs = await Promise.all([1, 2].map(() => connected(wsUrl(k), { authorization: `Bearer ${u.accessToken}` })))
  for (const t of tabs) t.send({ type: 'resume', lastEventId: t.first('hello').data.latestEventId ?? '0-0' })
  tabs[0]!.send({ type: 'generate', requestId: 'tab-1', input: input() })
  const ack = await tabs[0]!.waitFor((m) => m.type === 'ack')
  expect(ack.data.requestId).toBe('tab-1')
  for (const t of tabs) await t.waitFor((m) => m.type === 'generation.completed' && m.data.id === ack.data.id, 10_000)
  const idsOf = (t: (typeof tabs)[number]) => t.messages.filter((m) => m.data?.id === ack.data.id && m.type.startsWith('generation.')).map((m) => m.id)
  expect(idsOf(tabs[0]!)).toEqual(idsOf(tabs[1]!))
  expect(tabs[1]!.of('ack')).toHaveLength(0)
  for (const t of tabs) t.close()
})
