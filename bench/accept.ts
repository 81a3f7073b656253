/**
 * bench:accept — POST /api/v1/generations (auth, validation, rate limit, quota
 * reserve, insert, 202) from many users, Kiln on the local PostgreSQL with the
 * local provider in a fast mode, against a minimal Express 5 + pg + ioredis
 * baseline (validation, token-bucket Lua script, insert) measured in the same
 * run. Server on core 0, this load generator on core 1 (see package.json).
 */
import { type LoadResult, closedLoop, report } from './lib/load'
import { benchDatabase, benchUsers, startExpressBaseline, startKilnServer } from './lib/kiln-bench'

const USERS = Number(process.env.BENCH_USERS ?? 400)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64)
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 8000)
const MAX_REQUESTS = 200_000
const SPEED = process.env.BENCH_PROVIDER_SPEED ?? '0.01'

const body = (i: number) =>
  JSON.stringify({ prompt: `bench prompt ${i} a small glass house`, style: i % 2 ? 'minimal-icon' : 'modern', palette: 'ocean', aspectRatio: '1:1' })

async function run(url: string, headersFor: (i: number) => Record<string, string>, durationMs: number): Promise<LoadResult> {
  return closedLoop({
    concurrency: CONCURRENCY,
    durationMs,
    maxRequests: MAX_REQUESTS,
    ok: (s) => s === 202,
    make: (i) => ({
      url: `${url}/api/v1/generations`,
      init: { method: 'POST', headers: { 'content-type': 'application/json', ...headersFor(i) }, body: body(i) },
    }),
  })
}

const db = await benchDatabase('accept')
try {
  const kiln = await startKilnServer(db.url, { LOCAL_PROVIDER_SPEED: SPEED })
  let users: { id: string; token: string }[]
  let kilnResult: LoadResult
  try {
    users = await benchUsers(kiln.url, USERS, 'enterprise')
    await run(kiln.url, (i) => ({ authorization: `Bearer ${users[i % USERS]!.token}` }), 1000)
    kilnResult = await run(kiln.url, (i) => ({ authorization: `Bearer ${users[i % USERS]!.token}` }), DURATION_MS)
  } finally {
    await kiln.stop()
  }
  const express = await startExpressBaseline(db.url)
  let baseline: LoadResult
  try {
    await run(express.url, (i) => ({ 'x-user-id': users[i % USERS]!.id }), 1000)
    baseline = await run(express.url, (i) => ({ 'x-user-id': users[i % USERS]!.id }), DURATION_MS)
  } finally {
    await express.stop()
  }
  console.log(`bench:accept — ${USERS} enterprise users, ${CONCURRENCY} concurrent, ${DURATION_MS / 1000} s each, provider speed ${SPEED}`)
  console.log(report('kiln POST /generations (202)', kilnResult))
  console.log(report('express+pg+ioredis baseline', baseline))
  console.log(`ratio kiln/baseline: ${(kilnResult.okRps / baseline.okRps).toFixed(2)}×  (target ≥ 5000/s, p99 < 25 ms, ≥ 1.5×)`)
} finally {
  await db.drop()
}
