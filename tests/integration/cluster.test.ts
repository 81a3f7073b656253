/**
 * Several real Kiln processes on distinct loopback ports sharing PostgreSQL
 * and Redis: one owner per user actor (a Redis lease), requests forwarded to
 * it from any node, a fencing epoch per takeover, failover when the owner is
 * killed, and a paused owner that cannot overwrite its successor's work.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import postgres from 'postgres'
import { createClient } from 'redis'
import { CLOSE } from '../../src/transport/ws/close-codes'
import { LIMITS } from '../../src/transport/ws/protocol'
import { freshPostgresDatabase } from '../harness'
import { Recorder, connected } from './ws-support'
import { freePort, postgresUrlForServerTests, redisUrlForServerTests, skipWithout } from '../services'

const skip = skipWithout({ postgres: true, redis: true })
const root = resolve(import.meta.dir, '../..')
const LEASE_MS = 1500

interface Node {
  name: string
  base: string
  proc: ReturnType<typeof Bun.spawn>
  output: Promise<string>
}

let db: { url: string; drop: () => Promise<void> }
let sql: ReturnType<typeof postgres>
const redis = createClient({ url: redisUrlForServerTests })
const dataDir = mkdtempSync(join(tmpdir(), 'kiln-cluster-'))
const tag = Math.random().toString(36).slice(2, 8)
const nodes: Node[] = []

async function startNode(name: string, env: Record<string, string> = {}): Promise<Node> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrlForServerTests,
      NODE_NAME: `${name}-${tag}`,
      DATA_DIR: join(dataDir, name),
      JWT_SECRET: 'cluster-test-jwt-secret-0123456789abcdef',
      SESSION_SECRET: 'cluster-test-session-secret-0123456789abcdef',
      ACTOR_LEASE_MS: String(LEASE_MS),
      LOCAL_PROVIDER_SPEED: '0.1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]).then(([a, b]) => a + b)
  const end = Date.now() + 30_000
  for (;;) {
    if (await fetch(`${base}/health/ready`).then((r) => r.status === 200, () => false)) break
    if (Date.now() > end || proc.exitCode !== null) throw new Error(`${name} never became ready: ${await output}`)
    await Bun.sleep(50)
  }
  const node = { name: `${name}-${tag}`, base, proc, output }
  nodes.push(node)
  return node
}

async function call(node: Node, path: string, init: RequestInit & { json?: unknown } = {}) {
  const headers = new Headers(init.headers)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(init.json)
  }
  const res = await fetch(`${node.base}${path}`, { ...init, headers, body })
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked field by field
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}

async function signIn(node: Node, email: string, tier: string) {
  const r = await call(node, '/api/v1/auth/dev', { method: 'POST', json: { email, tier } })
  expect(r.status).toBe(200)
  return { id: r.body.data.user.id as string, auth: { authorization: `Bearer ${r.body.data.accessToken}` } }
}

const ownerOf = (userId: string) => redis.get(`kiln:lease:${userId}`)
const nodeNamed = (name: string | null) => nodes.find((n) => n.name === name)
const running = (n: Node) => n.proc.exitCode === null && n.proc.signalCode === null

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await probe().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`)
    await Bun.sleep(50)
  }
}

const input = (prompt: string) => ({ prompt, style: 'modern', palette: 'ocean', aspectRatio: '1:1', size: '1K' })

/** Waits until the job is generating, read straight from the database (no request budget spent). */
const untilGenerating = (id: string) =>
  until(async () => ((await sql`select status from generations where id = ${id}`)[0]?.status === 'generating' ? true : undefined), 10_000, 'generating')

/** Polls the job through `node` until it has completed; returns its view. */
const untilCompleted = (node: Node, auth: Record<string, string>, id: string, what: string) =>
  until(
    async () => {
      const g = await call(node, `/api/v1/generations/${id}`, { headers: auth })
      return g.body.data.status === 'completed' ? g.body.data : undefined
    },
    20_000,
    what,
  )

describe.skipIf(skip)('a cluster of real nodes', () => {
  let a: Node
  let b: Node
  let c: Node

  beforeAll(async () => {
    db = await freshPostgresDatabase(postgresUrlForServerTests)
    sql = postgres(db.url, { max: 2, onnotice: () => {} })
    await redis.connect()
    ;[a, b, c] = await Promise.all([startNode('a'), startNode('b'), startNode('c')])
  }, 60_000)

  afterAll(async () => {
    for (const n of nodes) {
      n.proc.kill('SIGCONT')
      n.proc.kill('SIGKILL')
    }
    await Promise.all(nodes.map((n) => n.proc.exited))
    await sql?.end({ timeout: 5 })
    await db?.drop()
    await redis.quit().catch(() => {})
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('one owner per user: the per-minute limit holds across nodes, and every node answers', async () => {
    const u = await signIn(a, `limit-${tag}@example.com`, 'free')
    const spread = [a, b, c]
    const statuses: number[] = []
    // The free tier allows 10 requests a minute in all, whichever nodes they reach.
    for (let i = 0; i < 12; i++) statuses.push((await call(spread[i % 3]!, '/api/v1/account/quota', { headers: u.auth })).status)
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200))
    expect(statuses.slice(10)).toEqual([429, 429])
    const owner = await ownerOf(u.id)
    expect(nodes.map((n) => n.name)).toContain(owner!)
    const [epoch] = await sql`select epoch, node from actor_epochs where user_id = ${u.id}`
    expect({ epoch: Number(epoch!.epoch), node: epoch!.node }).toEqual({ epoch: 1, node: owner! })
  })

  test('the per-user socket cap holds across nodes, and a closed socket frees its place', async () => {
    const u = await signIn(a, `sockets-${tag}@example.com`, 'pro')
    const ws = (n: Node) => `${n.base.replace(/^http/, 'ws')}/api/v1/ws`
    const open: Recorder[] = []
    for (let i = 0; i < LIMITS.socketsPerUser; i++) open.push(await connected(ws(i % 2 ? b : c), u.auth))
    // Neither node holds the cap by itself, yet the next socket, on a third node, is one too many.
    const extra = new Recorder(ws(a), u.auth)
    expect((await extra.closed).code).toBe(CLOSE.TOO_MANY_SOCKETS)
    open.pop()!.close()
    await until(
      async () => {
        const again = new Recorder(ws(a), u.auth)
        const first = await Promise.race([again.waitFor((m) => m.type === 'hello').then(() => 'hello' as const), again.closed.then(() => 'closed' as const)])
        if (first === 'hello') {
          open.push(again)
          return true
        }
        return undefined
      },
      5000,
      'a freed place',
    )
    for (const r of open) r.close()
  })

  test('a job submitted through a non-owner runs on the owner and completes; cancel is forwarded too', async () => {
    const u = await signIn(a, `forward-${tag}@example.com`, 'pro')
    await call(a, '/api/v1/account', { headers: u.auth }) // the first request makes a the owner
    expect(await ownerOf(u.id)).toBe(a.name)
    const made = await call(b, '/api/v1/generations', { method: 'POST', headers: u.auth, json: input('forwarded job') })
    expect(made.status).toBe(202)
    expect(made.body.data).toMatchObject({ status: 'queued', position: expect.any(Number) })
    const done = await untilCompleted(c, u.auth, made.body.data.id, 'completion')
    expect(done.width).toBeGreaterThan(0)
    const slow = await call(c, '/api/v1/generations', { method: 'POST', headers: u.auth, json: input('to be cancelled [slow]') })
    expect(slow.status).toBe(202)
    const cancelled = await call(b, `/api/v1/generations/${slow.body.data.id}/cancel`, { method: 'POST', headers: u.auth })
    expect(cancelled.status).toBe(200)
    expect(cancelled.body.data.status).toBe('cancelled')
    expect((await call(c, `/api/v1/generations/${slow.body.data.id}/cancel`, { method: 'POST', headers: u.auth })).status).toBe(409)
  })

  test('the owner is killed mid-job: another node takes the user over and finishes the job', async () => {
    const u = await signIn(b, `failover-${tag}@example.com`, 'pro')
    const made = await call(b, '/api/v1/generations', { method: 'POST', headers: u.auth, json: input('survives its node [slow]') })
    expect(made.status).toBe(202)
    const owner = nodeNamed(await ownerOf(u.id))!
    expect(owner).toBeDefined()
    await untilGenerating(made.body.data.id)
    owner.proc.kill('SIGKILL')
    await owner.proc.exited
    const survivor = [a, b, c].find((n) => n !== owner && running(n))!
    // Requests keep working from the first one after the kill: nobody listens for the dead node, so its lease is taken over.
    expect((await call(survivor, '/api/v1/account', { headers: u.auth })).status).toBe(200)
    const done = await untilCompleted(survivor, u.auth, made.body.data.id, 'completion after failover')
    expect(done.progress).toBe(100)
    const newOwner = await ownerOf(u.id)
    expect(newOwner).not.toBe(owner.name)
    const [e] = await sql`select epoch, node from actor_epochs where user_id = ${u.id}`
    expect({ epoch: Number(e!.epoch), node: e!.node }).toEqual({ epoch: 2, node: newOwner! })
    const [q] = await sql`select generations - refunded as used from usage_counters where user_id = ${u.id}`
    expect(q?.used).toBe(1)
  }, 40_000)

  test('a paused owner loses its lease, its successor finishes the job, and the old one stands down when it wakes', async () => {
    const alive = nodes.filter(running)
    expect(alive.length).toBeGreaterThanOrEqual(2)
    const [first, second] = alive as [Node, Node]
    const u = await signIn(first, `paused-${tag}@example.com`, 'pro')
    await call(first, '/api/v1/account', { headers: u.auth })
    expect(await ownerOf(u.id)).toBe(first.name)
    const made = await call(first, '/api/v1/generations', { method: 'POST', headers: u.auth, json: input('outlives a pause [slow]') })
    expect(made.status).toBe(202)
    await untilGenerating(made.body.data.id)

    first.proc.kill('SIGSTOP')
    try {
      // While the paused owner still holds the lease, forwarded requests time out with 503; once it lapses, the other node takes over.
      const taken = await until(
        async () => {
          const r = await call(second, '/api/v1/account', { headers: u.auth })
          return r.status === 200 ? r : undefined
        },
        LEASE_MS * 6,
        'takeover',
      )
      expect(taken.status).toBe(200)
      expect(await ownerOf(u.id)).toBe(second.name)
      const done = await untilCompleted(second, u.auth, made.body.data.id, 'completion by the successor')
      expect(done.progress).toBe(100)
    } finally {
      first.proc.kill('SIGCONT')
    }
    // Awake again, the old owner finds its lease gone and stops its actor; its late writes are fenced off.
    const [e] = await sql`select epoch, node from actor_epochs where user_id = ${u.id}`
    expect({ epoch: Number(e!.epoch), node: e!.node }).toEqual({ epoch: 2, node: second.name })
    await Bun.sleep(LEASE_MS)
    const [row] = await sql`select status, progress, completed_at from generations where id = ${made.body.data.id}`
    expect(row).toMatchObject({ status: 'completed', progress: 100 })
    expect(await ownerOf(u.id)).toBe(second.name)
    // And the old owner serves the user again by forwarding to the new one.
    expect((await call(first, '/api/v1/account', { headers: u.auth })).status).toBe(200)
    first.proc.kill('SIGTERM')
    await first.proc.exited
    expect(await first.output).toContain('actor lease lost')
  }, 60_000)

  test('SIGTERM hands the actors off: leases are released and another node resumes the job at once', async () => {
    const leaving = nodes.filter(running)[0]!
    const staying = await startNode('d')
    const u = await signIn(leaving, `handoff-${tag}@example.com`, 'pro')
    const made = await call(leaving, '/api/v1/generations', { method: 'POST', headers: u.auth, json: input('handed off [slow]') })
    expect(made.status).toBe(202)
    expect(await ownerOf(u.id)).toBe(leaving.name)
    await untilGenerating(made.body.data.id)
    leaving.proc.kill('SIGTERM')
    expect(await leaving.proc.exited).toBe(0)
    const exitedAt = Date.now()
    // Told of the hand-off, the other node takes the user over without waiting for its next reconcile.
    await until(async () => ((await ownerOf(u.id)) === staying.name ? true : undefined), LEASE_MS, 'takeover')
    expect(Date.now() - exitedAt).toBeLessThan(LEASE_MS)
    const done = await untilCompleted(staying, u.auth, made.body.data.id, 'completion after hand-off')
    expect(done.progress).toBe(100)
  }, 40_000)

  test("on Fly, a request for a user owned by another machine is replayed there by the proxy's fly-replay", async () => {
    // Two machines whose node names are their Fly machine ids, behind a small fake of Fly's proxy.
    const [e, f] = await Promise.all([startNode('e', { FLY_MACHINE_ID: `e-${tag}` }), startNode('f', { FLY_MACHINE_ID: `f-${tag}` })])
    const replays: string[] = []
    const proxy = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      async fetch(req) {
        const url = new URL(req.url)
        const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer()
        const send = (to: Node, extra: Record<string, string> = {}) => {
          const headers = new Headers(req.headers)
          for (const [k, v] of Object.entries(extra)) headers.set(k, v)
          return fetch(`${to.base}${url.pathname}${url.search}`, { method: req.method, headers, body })
        }
        const first = await send(e) // the proxy picked machine e
        const replay = first.headers.get('fly-replay')
        if (!replay) return first
        const target = nodeNamed(replay.replace(/^instance=/, ''))
        replays.push(replay)
        if (!target) return new Response('no such machine', { status: 502 })
        return send(target, { 'fly-replay-src': `instance=${e.name};state=` })
      },
    })
    try {
      const via = { base: `http://127.0.0.1:${proxy.port}` } as Node
      const u = await signIn(f, `replay-${tag}@example.com`, 'free')
      await call(f, '/api/v1/account', { headers: u.auth }) // f owns the user now
      expect(await ownerOf(u.id)).toBe(f.name)
      const made = await call(via, '/api/v1/generations', { method: 'POST', headers: u.auth, json: input('replayed on its owner') })
      expect(made.status).toBe(202)
      expect(replays).toEqual([`instance=${f.name}`])
      // Served on f: the per-minute budget was counted once per request (2 of the free tier's 10).
      expect(made.headers.get('x-ratelimit-remaining')).toBe('8')
      // A user nobody owns yet is simply served (and taken) by the machine the proxy picked.
      const v = await signIn(e, `replay-free-${tag}@example.com`, 'pro')
      expect((await call(via, '/api/v1/account', { headers: v.auth })).status).toBe(200)
      expect(await ownerOf(v.id)).toBe(e.name)
      expect(replays.length).toBe(1)
    } finally {
      proxy.stop(true)
    }
  }, 40_000)

  test('nodes started without JWT_SECRET and SESSION_SECRET agree on generated ones through the database', async () => {
    const noSecrets = { JWT_SECRET: '', SESSION_SECRET: '' }
    const [g, h] = await Promise.all([startNode('g', noSecrets), startNode('h', noSecrets)])
    const u = await signIn(g, `secrets-${tag}@example.com`, 'pro')
    // A token minted by g is good on h, although each node has its own DATA_DIR.
    expect((await call(h, '/api/v1/auth/user', { headers: u.auth })).status).toBe(200)
    const rows = await sql`select name from shared_secrets order by name`
    expect(rows.map((r) => r.name)).toEqual(['JWT_SECRET', 'SESSION_SECRET'])
  }, 40_000)
})
