/**
 * bench:cluster — three Kiln nodes (processes pinned to core 0) sharing the
 * local PostgreSQL and Redis, load from core 1.
 *
 * 1. Forwarding: GET /api/v1/account for users whose actor lives on node A,
 *    sent to A (the baseline, in-memory rate-limit decision) and to B (the
 *    decision is forwarded to A over Redis and answered back).
 * 2. Failover: a running job's owner is killed (SIGKILL); time until a survivor
 *    answers for that user, and until the job completes there.
 * 3. Hand-off: the owner of a user with a running job gets SIGTERM; time until
 *    another node has taken the user over and the job completes.
 *
 *   bun run bench:cluster
 */
import { createClient } from 'redis'
import { closedLoop, openLoop, report } from './lib/load'
import { REDIS_URL, benchDatabase, benchUsers } from './lib/kiln-bench'
import { ROOT, type Started, freePort, pinned, spawnUntilReady } from './lib/process'

const USERS = Number(process.env.BENCH_USERS ?? 400)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16)
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000)
const LEASE_MS = Number(process.env.BENCH_LEASE_MS ?? 3000)

interface Node extends Started {
  name: string
  url: string
}

const tag = process.pid.toString(36)
const db = await benchDatabase('cluster')
const redis = createClient({ url: REDIS_URL })
await redis.connect()
const nodes: Node[] = []

async function startNode(name: string): Promise<Node> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const s = await spawnUntilReady(pinned('0', ['bun', 'run', `${ROOT}/src/main.ts`]), {
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      DATABASE_URL: db.url,
      REDIS_URL,
      NODE_NAME: `${name}-${tag}`,
      DATA_DIR: `/tmp/kiln-bench-cluster-${tag}-${name}`,
      JWT_SECRET: 'bench-cluster-jwt-secret-0123456789abcdef',
      SESSION_SECRET: 'bench-cluster-session-secret-0123456789abcdef',
      ACTOR_LEASE_MS: String(LEASE_MS),
      LOG_LEVEL: 'error',
    },
    probeUrl: `${url}/health/ready`,
  })
  const node = { ...s, name: `${name}-${tag}`, url }
  nodes.push(node)
  return node
}

const owner = (userId: string) => redis.get(`kiln:lease:${userId}`)

async function job(node: Node, token: string, prompt: string): Promise<string> {
  const r = await fetch(`${node.url}/api/v1/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, style: 'modern', palette: 'ocean', aspectRatio: '1:1', size: '1K' }),
  })
  if (r.status !== 202) throw new Error(`submit answered ${r.status}: ${await r.text()}`)
  return ((await r.json()) as { data: { id: string } }).data.id
}

async function timeUntil(probe: () => Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now()
  while (!(await probe().catch(() => false))) {
    if (performance.now() - t0 > limitMs) return Number.NaN
    await Bun.sleep(10)
  }
  return performance.now() - t0
}

const status = async (node: Node, token: string, id: string) =>
  ((await (await fetch(`${node.url}/api/v1/generations/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: { status: string } }).data
    .status

try {
  const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')] as [Node, Node, Node]
  const signedIn = await benchUsers(a.url, USERS + 2, 'enterprise')
  const users = signedIn.slice(0, USERS)
  const [killUser, handUser] = signedIn.slice(USERS) as [(typeof signedIn)[0], (typeof signedIn)[0]]
  // Every user's actor on A.
  for (const u of users) await fetch(`${a.url}/api/v1/account`, { headers: { authorization: `Bearer ${u.token}` } })
  const onA = (await Promise.all(users.map((u) => owner(u.id)))).filter((n) => n === a.name).length
  const make = (node: Node) => (i: number) => ({ url: `${node.url}/api/v1/account`, init: { headers: { authorization: `Bearer ${users[i % USERS]!.token}` } } })
  await closedLoop({ concurrency: CONCURRENCY, durationMs: 1000, maxRequests: USERS * 3, make: make(a) })
  const direct = await closedLoop({ concurrency: CONCURRENCY, durationMs: DURATION_MS, maxRequests: USERS * 100, make: make(a), ok: (s) => s === 200 })
  const forwarded = await closedLoop({ concurrency: CONCURRENCY, durationMs: DURATION_MS, maxRequests: USERS * 100, make: make(b), ok: (s) => s === 200 })
  // The same at a fixed 500 req/s, far from saturation: what one forward costs in latency.
  const directAt = await openLoop({ rate: 500, durationMs: 4000, make: make(a), ok: (s) => s === 200 })
  const forwardedAt = await openLoop({ rate: 500, durationMs: 4000, make: make(b), ok: (s) => s === 200 })

  // Failover after a kill: a 3 s job (local provider at its real pace) owned by C.
  await fetch(`${c.url}/api/v1/account`, { headers: { authorization: `Bearer ${killUser.token}` } })
  const killedJob = await job(c, killUser.token, 'failover bench')
  await timeUntil(async () => (await status(c, killUser.token, killedJob)) === 'generating', 10_000)
  c.proc.kill('SIGKILL')
  await c.proc.exited
  const t0 = performance.now()
  const firstAnswer = await timeUntil(async () => (await fetch(`${b.url}/api/v1/account`, { headers: { authorization: `Bearer ${killUser.token}` } })).status === 200, 30_000)
  const killedDone = await timeUntil(async () => (await status(b, killUser.token, killedJob)) === 'completed', 60_000)
  const killTotal = performance.now() - t0

  // Hand-off on SIGTERM: a job owned by B, the other survivor, A, takes it over.
  await fetch(`${b.url}/api/v1/account`, { headers: { authorization: `Bearer ${handUser.token}` } })
  const handJob = await job(b, handUser.token, 'hand-off bench')
  await timeUntil(async () => (await status(b, handUser.token, handJob)) === 'generating', 10_000)
  const t1 = performance.now()
  b.proc.kill('SIGTERM')
  await b.proc.exited
  const stopped = performance.now() - t1
  const takenOver = await timeUntil(async () => (await owner(handUser.id)) === a.name, 30_000)
  const handDone = await timeUntil(async () => (await status(a, handUser.token, handJob)) === 'completed', 60_000)
  const handTotal = performance.now() - t1

  console.log(`bench:cluster — 3 nodes on core 0, PostgreSQL + Redis, ${USERS} users (${onA} owned by node A), ${CONCURRENCY} concurrent, lease ${LEASE_MS} ms`)
  console.log(report('GET /account on the owner', direct))
  console.log(report('GET /account forwarded to it', forwarded))
  console.log(report('… on the owner @ 500/s', directAt))
  console.log(report('… forwarded @ 500/s', forwardedAt))
  console.log(`at 500/s forwarding adds p50 ${(forwardedAt.p50 - directAt.p50).toFixed(2)} ms, p99 ${(forwardedAt.p99 - directAt.p99).toFixed(2)} ms`)
  console.log(
    `kill -9 of a job's owner: first answer from a survivor after ${firstAnswer.toFixed(0)} ms; the job completed ${(killTotal / 1000).toFixed(2)} s after the kill (${killedDone.toFixed(0)} ms after that answer; the job restarts its 3 s render)`,
  )
  console.log(
    `SIGTERM of a job's owner: exited after ${stopped.toFixed(0)} ms; another node owned the user ${takenOver.toFixed(0)} ms later; the job completed ${(handTotal / 1000).toFixed(2)} s after the signal (${handDone.toFixed(0)} ms after the takeover)`,
  )
} finally {
  for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) await n.stop()
  await redis.quit().catch(() => {})
  await db.drop()
}
