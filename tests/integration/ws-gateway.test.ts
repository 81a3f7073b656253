import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'
import { CLOSE } from '../../src/transport/ws/close-codes'
import { connected, Recorder, type SignedIn, signIn, upgradeStatus, wsUrl } from './ws-support'

let k: TestKiln
let ada: SignedIn
let bob: SignedIn
beforeAll(async () => {
  k = await startKiln({ listen: true })
  ada = await signIn(k, 'ada@example.com')
  bob = await signIn(k, 'bob@example.com')
})
afterAll(() => k.close())

const append = (userId: string, type: string, data: Record<string, unknown>) => k.kiln.services.eventLog.append(userId, type, data)

describe('auth on upgrade', () => {
  test('session cookie, bearer access token, API key and a ticket each open a socket for their user', async () => {
    const key = await json(k.request('/api/v1/keys', { method: 'POST', headers: { cookie: ada.cookie }, json: { name: 'ws' } }))
    expect(key.status).toBe(201)
    const ticket = await json(k.request('/api/v1/ws/ticket', { method: 'POST', headers: { cookie: ada.cookie } }))
    const ways = [
      connected(wsUrl(k), { cookie: ada.cookie }),
      connected(wsUrl(k), { authorization: `Bearer ${ada.accessToken}` }),
      connected(wsUrl(k), { authorization: `Bearer ${key.body.data.key}` }),
      connected(wsUrl(k, `?ticket=${ticket.body.data.ticket}`)),
    ]
    for (const r of await Promise.all(ways)) {
      expect(r.first('hello').data.user.id).toBe(ada.id)
      r.close()
    }
  })

  test('none, garbage, a used or a late ticket, and a cross-site cookie are refused with 401 in the envelope', async () => {
    const ticket = await json(k.request('/api/v1/ws/ticket', { method: 'POST', headers: { authorization: `Bearer ${ada.accessToken}` } }))
    const t = ticket.body.data.ticket
    const first = await connected(wsUrl(k, `?ticket=${t}`))
    first.close()
    const refusals = [
      await upgradeStatus(k),
      await upgradeStatus(k, '', { authorization: 'Bearer not-a-token' }),
      await upgradeStatus(k, '', { authorization: 'Basic abc' }),
      await upgradeStatus(k, '', { cookie: 'kiln_session=forged' }),
      await upgradeStatus(k, '?ticket=kiln_wst_nope'),
      await upgradeStatus(k, `?ticket=${t}`), // already used
      await upgradeStatus(k, '', { cookie: ada.cookie, origin: 'https://evil.example' }),
    ]
    for (const r of refusals) {
      expect(r.status).toBe(401)
      expect(r.body.success).toBe(false)
      expect(['UNAUTHORIZED', 'INVALID_API_KEY']).toContain(r.body.error.code)
      expect(typeof r.body.error.requestId).toBe('string')
      expect(JSON.stringify(r.body)).not.toContain(ada.id)
    }
    // A ticket past its 30 s is refused too (aged in the database rather than by waiting).
    const late = await json(k.request('/api/v1/ws/ticket', { method: 'POST', headers: { cookie: ada.cookie } }))
    const { sql } = await import('drizzle-orm')
    await k.kiln.services.database.db.execute(sql`update ws_tickets set expires_at = now() - interval '1 second' where used_at is null`)
    expect((await upgradeStatus(k, `?ticket=${late.body.data.ticket}`)).status).toBe(401)
  })

  test('the same-origin browser cookie is accepted', async () => {
    const r = await connected(wsUrl(k), { cookie: ada.cookie, origin: k.url })
    expect(r.first('hello').data.user.id).toBe(ada.id)
    r.close()
  })
})

test('hello carries user, node, server time, latest event id and limits in the v1 envelope', async () => {
  const last = await append(ada.id, 'quota.updated', { remaining: 9 })
  const r = await connected(wsUrl(k), { cookie: ada.cookie })
  const hello = r.first('hello')
  expect(hello).toMatchObject({ v: 1, type: 'hello' })
  expect(typeof hello.id).toBe('string')
  expect(Date.parse(hello.ts)).toBeGreaterThan(0)
  expect(hello.data).toMatchObject({ user: { id: ada.id, email: 'ada@example.com', tier: 'pro' }, node: 'test-node', latestEventId: last.id, protocol: 1 })
  expect(hello.data.limits).toMatchObject({ maxMessageBytes: 65536, socketsPerUser: 10, sendBufferBytes: 1048576 })
  expect(Math.abs(Date.parse(hello.data.serverTime) - Date.now())).toBeLessThan(5000)
  expect(k.kiln.services.sockets.fanOut).toBe('publish')
  r.close()
})

test('ping → pong; live events arrive in order after the client says where it is', async () => {
  const r = await connected(wsUrl(k), { cookie: ada.cookie })
  r.send({ type: 'resume', lastEventId: r.first('hello').data.latestEventId })
  r.send({ type: 'ping', requestId: 'p1' })
  expect((await r.waitFor((m) => m.type === 'pong')).data.requestId).toBe('p1')
  const sent: string[] = []
  for (let i = 0; i < 20; i++) sent.push((await append(ada.id, 'quota.updated', { i })).id)
  await r.waitFor((m) => m.id === sent[19])
  expect(r.of('quota.updated').map((m) => m.id)).toEqual(sent)
  r.close()
})

test('a socket that sends nothing goes live on its own after the grace period', async () => {
  const r = await connected(wsUrl(k), { cookie: ada.cookie })
  const e = await append(ada.id, 'quota.updated', { silent: true })
  expect((await r.waitFor((m) => m.id === e.id, 3000)).data.silent).toBe(true)
  r.close()
})

test('resume replays exactly the missed events, then live; an id older than the log gets resync', async () => {
  const before = await append(ada.id, 'quota.updated', { n: 0 })
  const missed: string[] = []
  for (let i = 1; i <= 5; i++) missed.push((await append(ada.id, 'quota.updated', { n: i })).id)
  const r = await connected(wsUrl(k), { cookie: ada.cookie })
  r.send({ type: 'resume', lastEventId: before.id })
  await r.waitFor((m) => m.id === missed[4])
  const live = await append(ada.id, 'quota.updated', { n: 6 })
  await r.waitFor((m) => m.id === live.id)
  expect(r.of('quota.updated').map((m) => m.id)).toEqual([...missed, live.id])

  r.send({ type: 'resume', lastEventId: '1-0' }) // older than anything the ring still holds once it has wrapped
  const cap = 1000
  for (let i = 0; i < cap + 5; i++) await append(bob.id, 'quota.updated', { i })
  const b = await connected(wsUrl(k), { cookie: bob.cookie })
  b.send({ type: 'resume', lastEventId: '1-0' })
  const resync = await b.waitFor((m) => m.type === 'resync')
  expect(resync.data).toMatchObject({ lastEventId: '1-0', latestEventId: await k.kiln.services.eventLog.latestId(bob.id) })
  expect(b.of('quota.updated')).toHaveLength(0)
  // An id from the future (a log lost in a restart) is a resync too.
  b.send({ type: 'resume', lastEventId: `${Date.now() + 86_400_000}-0` })
  await b.waitFor((m) => m.type === 'resync' && m.data.lastEventId !== '1-0')
  r.close()
  b.close()
})

test("two users are isolated: every socket of a user gets the user's events, never another's", async () => {
  const tabs = await Promise.all([1, 2, 3].map(() => connected(wsUrl(k), { cookie: ada.cookie })))
  const other = await connected(wsUrl(k), { cookie: bob.cookie })
  for (const s of [...tabs, other]) s.send({ type: 'ping' })
  await Promise.all([...tabs, other].map((s) => s.waitFor((m) => m.type === 'pong')))
  const e = await append(ada.id, 'generation.queued', { id: 'gen_secret' })
  const mine = await append(bob.id, 'quota.updated', { bob: true })
  for (const t of tabs) await t.waitFor((m) => m.id === e.id)
  await other.waitFor((m) => m.id === mine.id)
  expect(JSON.stringify(other.messages)).not.toContain('gen_secret')
  for (const t of tabs) expect(JSON.stringify(t.messages)).not.toContain('"bob":true')
  for (const s of [...tabs, other]) s.close()
})

test('bad messages get an error event with a code and the socket stays usable', async () => {
  const r = await connected(wsUrl(k), { cookie: ada.cookie })
  const corpus: [unknown, string][] = [
    ['not json', 'VALIDATION_ERROR'],
    ['{"type":', 'VALIDATION_ERROR'],
    ['42', 'VALIDATION_ERROR'],
    ['null', 'VALIDATION_ERROR'],
    ['[1,2]', 'VALIDATION_ERROR'],
    [{ nope: 1 }, 'VALIDATION_ERROR'],
    [{ type: 'launch-missiles' }, 'VALIDATION_ERROR'],
    [{ type: 'resume' }, 'VALIDATION_ERROR'],
    [{ type: 'resume', lastEventId: 'yesterday' }, 'VALIDATION_ERROR'],
    [{ type: 'generate', requestId: 'g1' }, 'VALIDATION_ERROR'],
    [{ type: 'generate', requestId: 'g2', input: { prompt: 'x'.repeat(2001) } }, 'VALIDATION_ERROR'],
    [{ type: 'cancel', id: 42 }, 'VALIDATION_ERROR'],
    [{ type: 'ping', extra: true }, 'VALIDATION_ERROR'],
    [{ type: 'ping', pad: 'x'.repeat(70_000) }, 'PAYLOAD_TOO_LARGE'],
  ]
  for (const [msg] of corpus) r.send(msg)
  r.ws.send(new Uint8Array([1, 2, 3]))
  r.send({ type: 'ping', requestId: 'still-alive' })
  await r.waitFor((m) => m.type === 'pong' && m.data.requestId === 'still-alive')
  const errors = r.of('error')
  expect(errors.map((e) => e.data.code)).toEqual([...corpus.map(([, c]) => c), 'UNSUPPORTED_MEDIA_TYPE'])
  expect(errors.find((e) => e.data.requestId === 'g2')!.data.details.issues[0].field).toContain('input')
  expect(r.ws.readyState).toBe(WebSocket.OPEN)
  r.close()
})

test('a frame past the hard limit closes with 1009', async () => {
  const r = await connected(wsUrl(k), { cookie: ada.cookie })
  r.send('x'.repeat(2 * 1024 * 1024))
  expect((await r.closed).code).toBe(CLOSE.MESSAGE_TOO_BIG)
})

test('per-user socket cap: the 11th socket closes with 4008; others are unaffected', async () => {
  const carol = await signIn(k, 'carol@example.com')
  const ten = await Promise.all(Array.from({ length: 10 }, () => connected(wsUrl(k), { cookie: carol.cookie })))
  const eleventh = new Recorder(wsUrl(k), { cookie: carol.cookie })
  expect((await eleventh.closed).code).toBe(CLOSE.TOO_MANY_SOCKETS)
  const other = await connected(wsUrl(k), { cookie: bob.cookie })
  other.close()
  ten[0]!.close()
  await ten[0]!.closed
  const again = await connected(wsUrl(k), { cookie: carol.cookie })
  for (const s of [...ten.slice(1), again]) s.close()
})

test('the OpenAPI document hides the socket route and describes the protocol in the realtime tag', async () => {
  const doc = await json(k.request('/docs/json'))
  expect(doc.status).toBe(200)
  expect(Object.keys(doc.body.paths)).not.toContain('/api/v1/ws')
  expect(JSON.stringify(doc.body.paths)).not.toContain('"ws"')
  const tag = doc.body.tags.find((t: { name: string }) => t.name === 'realtime')
  expect(tag.description).toContain('GET /api/v1/ws')
  expect(tag.description).toContain('4009')
})

test('resuming from exactly the newest id the log dropped replays all 1,000 kept events (no needless resync)', async () => {
  const dan = await signIn(k, 'dan@example.com')
  const first = await append(dan.id, 'quota.updated', { n: 0 })
  let last = first
  for (let i = 1; i <= 1000; i++) last = await append(dan.id, 'quota.updated', { n: i })
  const r = await connected(wsUrl(k), { cookie: dan.cookie })
  r.send({ type: 'resume', lastEventId: first.id })
  await r.waitFor((m) => m.id === last.id)
  expect(r.of('resync')).toHaveLength(0)
  expect(r.of('quota.updated')).toHaveLength(1000)
  r.close()
})
