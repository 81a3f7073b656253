/**
 * bench:accept — POST /api/v1/generations (auth, validation, rate limit, quota
 * reserve, insert, 202) from many users, Kiln on the local PostgreSQL with the
 * local provider in a fast mode, against a minimal Express 5 + pg + ioredis
 * baseline (validation, token-bucket Lua script, insert) measured in the same
 * run. Server on core 0, this load generator on core 1 (see package.json).
 */
import type { HttpLoadResult } from './lib/http-load'
import { type LoadResult, closedLoop, report } from './lib/load'
import { benchDatabase, benchUsers, startExpressBaseline, startKilnServer } from './lib/kiln-bench'
import { runWrkRotating, wrkAvailable } from './lib/wrk-rotate'

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

/** The same load from wrk (a few µs a request instead of a JS client's ~100), when installed. */
function wrkRun(base: string, headersFor: (i: number) => Record<string, string>, durationS: number): Promise<HttpLoadResult> {
  const requests = Array.from({ length: USERS * 4 }, (_, i) => ({
    method: 'POST' as const,
    path: '/api/v1/generations',
    headers: { 'content-type': 'application/json', ...headersFor(i) },
    body: body(i),
  }))
  return runWrkRotating({ base, requests, connections: CONCURRENCY, durationS, cpus: '1' })
}

const db = await benchDatabase('accept')
try {
  const kiln = await startKilnServer(db.url, { LOCAL_PROVIDER_SPEED: SPEED })
  let users: { id: string; token: string }[]
  let kilnResult: LoadResult
  let kilnWrk: HttpLoadResult | undefined
  let baselineWrk: HttpLoadResult | undefined
  try {
    users = await benchUsers(kiln.url, USERS, 'enterprise')
    await run(kiln.url, (i) => ({ authorization: `Bearer ${users[i % USERS]!.token}` }), 1000)
    kilnResult = await run(kiln.url, (i) => ({ authorization: `Bearer ${users[i % USERS]!.token}` }), DURATION_MS)
    if (wrkAvailable()) kilnWrk = await wrkRun(kiln.url, (i) => ({ authorization: `Bearer ${users[i % USERS]!.token}` }), DURATION_MS / 1000)
  } finally {
    await kiln.stop()
  }
  const express = await startExpressBaseline(db.url)
  let baseline: LoadResult
  try {
    await run(express.url, (i) => ({ 'x-user-id': users[i % USERS]!.id }), 1000)
    baseline = await run(express.url, (i) => ({ 'x-user-id': users[i % USERS]!.id }), DURATION_MS)
    if (wrkAvailable()) baselineWrk = await wrkRun(express.url, (i) => ({ 'x-user-id': users[i % USERS]!.id }), DURATION_MS / 1000)
  } finally {
    await express.stop()
  }
  console.log(`bench:accept — ${USERS} enterprise users, ${CONCURRENCY} concurrent, ${DURATION_MS / 1000} s each, provider speed ${SPEED}`)
  console.log(report('kiln POST /generations (202)', kilnResult))
  console.log(report('express+pg+ioredis baseline', baseline))
  console.log(`ratio kiln/baseline: ${(kilnResult.okRps / baseline.okRps).toFixed(2)}×  (target ≥ 5000/s, p99 < 25 ms, ≥ 1.5×)`)
  if (kilnWrk && baselineWrk) {
    const w = (name: string, r: HttpLoadResult) =>
      `${name.padEnd(34)} ${Math.round(r.rps).toString().padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2)}  p99 ${r.p99Ms.toFixed(2)} ms  (${r.requests} req, ${r.errors} non-2xx/errors)`
    console.log('with wrk as the load generator (closed loop, same users and bodies):')
    console.log(w('kiln POST /generations', kilnWrk))
    console.log(w('express+pg+ioredis baseline', baselineWrk))
    console.log(`ratio kiln/baseline: ${(kilnWrk.rps / baselineWrk.rps).toFixed(2)}×`)
  }
} finally {
  await db.drop()
}
