/**
 * bench:get — GET /api/v1/generations/:id (prepared statement, signed URLs)
 * against Express + pg reading the same rows, then a history page
 * (GET /api/v1/generations) at a fixed 1,000 req/s. Every REST read counts
 * against its user's per-minute limit, so the load is spread over many users,
 * each reading their own finished job. Server on core 0, load on core 1.
 */
import postgres from 'postgres'
import { type LoadResult, closedLoop, openLoop, report } from './lib/load'
import type { HttpLoadResult } from './lib/http-load'
import { benchDatabase, benchUsers, startExpressBaseline, startKilnServer } from './lib/kiln-bench'
import { runWrkRotating, wrkAvailable } from './lib/wrk-rotate'

const USERS = Number(process.env.BENCH_USERS ?? 1000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 6000)
const HISTORY_RATE = Number(process.env.BENCH_HISTORY_RATE ?? 1000)
const HISTORY_ROWS = 40

const db = await benchDatabase('get')
try {
  const kiln = await startKilnServer(db.url)
  let users: { id: string; token: string }[] = []
  const gens: string[] = []
  let kilnGet: LoadResult
  let kilnWrk: HttpLoadResult | undefined
  let baselineWrk: HttpLoadResult | undefined
  // wrk costs a few µs per request where the JS client costs ~100: with it the server, not the generator, is what saturates.
  const wrkRequests = (auth: (i: number) => Record<string, string>) =>
    Array.from({ length: USERS }, (_, i) => ({ path: `/api/v1/generations/${gens[i]}`, headers: auth(i) }))
  let history: LoadResult
  try {
    users = await benchUsers(kiln.url, USERS, 'enterprise')
    // Finished jobs written straight into the table: the benchmark is about reading them.
    const sql = postgres(db.url, { max: 2, onnotice: () => {} })
    for (const [i, u] of users.entries()) {
      const n = i === 0 ? HISTORY_ROWS : 1
      for (let j = 0; j < n; j++) {
        const id = `gen_bench${i.toString(36)}x${j.toString(36)}${'0'.repeat(8)}`
        if (j === 0) gens.push(id)
        await sql`insert into generations (id, user_id, status, progress, prompt, style, palette, aspect_ratio, size, seed, provider,
          image_key, thumbnail_key, width, height, bytes, started_at, completed_at, created_at)
          values (${id}, ${u.id}, 'completed', 100, ${`a finished bench job ${i} ${j}`}, 'modern', 'ocean', '1:1', '1K', ${i}, 'local',
          ${`users/${u.id}/generations/${id}/full.webp`}, ${`users/${u.id}/generations/${id}/thumb.webp`}, 1024, 1024, 50000,
          now(), now(), now() - ${`${j} seconds`}::interval)`
      }
    }
    await sql.end()
    const make = (i: number) => ({ url: `${kiln.url}/api/v1/generations/${gens[i % USERS]}`, init: { headers: { authorization: `Bearer ${users[i % USERS]!.token}` } } })
    await closedLoop({ concurrency: CONCURRENCY, durationMs: 1000, maxRequests: USERS * 20, make })
    kilnGet = await closedLoop({ concurrency: CONCURRENCY, durationMs: DURATION_MS, maxRequests: USERS * 120, make, ok: (s) => s === 200 })
    if (wrkAvailable()) {
      // Each enterprise user may make 300 requests a minute: 1,000 users allow ~70k requests in this window.
      kilnWrk = await runWrkRotating({ base: kiln.url, requests: wrkRequests((i) => ({ authorization: `Bearer ${users[i]!.token}` })), connections: CONCURRENCY, durationS: 4, cpus: '1' })
    }
    // History pages of 20, one user after another (one bucket per user); the first user has 40 rows.
    // Warm-up first, as for the GET above: the list route's first second (JIT, statement preparation) is not its steady state.
    const historyPage = (i: number) => ({ url: `${kiln.url}/api/v1/generations?limit=20`, init: { headers: { authorization: `Bearer ${users[i % USERS]!.token}` } } })
    await openLoop({ rate: HISTORY_RATE, durationMs: 2000, make: historyPage })
    history = await openLoop({
      rate: HISTORY_RATE,
      durationMs: 5000,
      make: historyPage,
      ok: (s) => s === 200,
    })
  } finally {
    await kiln.stop()
  }
  const express = await startExpressBaseline(db.url)
  let baseline: LoadResult
  try {
    const make = (i: number) => ({ url: `${express.url}/api/v1/generations/${gens[i % USERS]}`, init: { headers: { 'x-user-id': users[i % USERS]!.id } } })
    await closedLoop({ concurrency: CONCURRENCY, durationMs: 1000, maxRequests: 1e6, make })
    baseline = await closedLoop({ concurrency: CONCURRENCY, durationMs: DURATION_MS, maxRequests: 1e6, make, ok: (s) => s === 200 })
    if (wrkAvailable()) {
      baselineWrk = await runWrkRotating({ base: express.url, requests: wrkRequests((i) => ({ 'x-user-id': users[i]!.id })), connections: CONCURRENCY, durationS: 4, cpus: '1' })
    }
  } finally {
    await express.stop()
  }
  console.log(`bench:get — ${USERS} users, ${CONCURRENCY} concurrent, ${DURATION_MS / 1000} s each`)
  console.log(report('kiln GET /generations/:id', kilnGet))
  console.log(report('express+pg GET same rows', baseline))
  console.log(`ratio kiln/baseline: ${(kilnGet.okRps / baseline.okRps).toFixed(2)}×  (target ≥ 12000/s, p99 < 10 ms, ≥ 2×)`)
  if (kilnWrk && baselineWrk) {
    const w = (name: string, r: HttpLoadResult) => `${name.padEnd(34)} ${Math.round(r.rps).toString().padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2)}  p99 ${r.p99Ms.toFixed(2)} ms  (${r.requests} req, ${r.errors} non-2xx/errors)`
    console.log('with wrk as the load generator (closed loop, same users and rows):')
    console.log(w('kiln GET /generations/:id', kilnWrk))
    console.log(w('express+pg GET same rows', baselineWrk))
    console.log(`ratio kiln/baseline: ${(kilnWrk.rps / baselineWrk.rps).toFixed(2)}×`)
  }
  console.log(report(`kiln history page @ ${HISTORY_RATE}/s`, history))
  console.log('target: history p99 < 15 ms')
} finally {
  await db.drop()
}
