/**
 * The added cost of authentication per request: `GET /api/v1/auth/user` with
 * each credential kind (session cookie, access token, API key as X-API-Key and
 * as Bearer) against the unauthenticated `GET /health`, measured in the same
 * run. Kiln on cpu 0 as it ships (`bun run src/main.ts`, embedded PGlite on a
 * fresh DATA_DIR unless --database-url is given), load on cpu 1, loopback only,
 * bounded in time.
 *
 * Two views:
 *  1. latency at a fixed rate (open loop, --rate req/s), rotating over enough
 *     users that none passes its per-minute limit: every answer is a 200;
 *  2. saturation throughput (closed loop, wrk or the Bun generator) with one
 *     user per case: past 300 requests a minute the limiter answers 429 after
 *     authenticating, so that row is the cost of "authenticate + refuse";
 *  3. service time in process, one request at a time, kinds interleaved over
 *     rounds (least sensitive to other work on the machine).
 *
 *   bun run bench:auth [--duration 8] [--rate 1000] [--connections 32] [--database-url postgres://…]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runHttpLoad } from './lib/http-load'
import { freePort, kilnEnv, pinned, spawnUntilReady } from './lib/process'
import { runRotatingLoad } from './lib/rotating-load'
import { KINDS, type ServiceTimes } from './lib/auth-service-time'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    rate: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '32' },
    engine: { type: 'string' },
    'database-url': { type: 'string' },
  },
})
const durationS = Math.min(Math.max(Number(values.duration) || 8, 1), 30)
const rate = Math.min(Math.max(Number(values.rate) || 1000, 10), 5000)
const connections = Math.min(Math.max(Number(values.connections) || 32, 1), 512)
const engine = values.engine === 'bun' || values.engine === 'wrk' ? values.engine : undefined
const databaseUrl = values['database-url']
const SERVER_CPU = '0'
const LOAD_CPU = '1'
const WARMUP_S = 2
/** Requests one enterprise user may make in a minute, with a margin. */
const PER_USER_BUDGET = 250

type Kind = 'none' | 'cookie' | 'access' | 'x-api-key' | 'bearer-key'
const CASES: { name: string; path: string; kind: Kind }[] = [
  { name: 'GET /health (no auth)', path: '/health', kind: 'none' },
  { name: 'auth/user, session cookie', path: '/api/v1/auth/user', kind: 'cookie' },
  { name: 'auth/user, access token', path: '/api/v1/auth/user', kind: 'access' },
  { name: 'auth/user, X-API-Key', path: '/api/v1/auth/user', kind: 'x-api-key' },
  { name: 'auth/user, Bearer API key', path: '/api/v1/auth/user', kind: 'bearer-key' },
]

/** A fresh enterprise user's credential of `kind`, as request headers. */
async function credential(base: string, kind: Kind, n: number): Promise<Record<string, string>> {
  if (kind === 'none') return {}
  const dev = await fetch(`${base}/api/v1/auth/dev`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${kind}-${n}@example.com`, tier: 'enterprise' }),
  })
  if (dev.status !== 200) throw new Error(`dev sign-in failed: ${dev.status} ${await dev.text()}`)
  const cookie = dev.headers.get('set-cookie')!.split(';')[0]!
  const { data } = (await dev.json()) as { data: { accessToken: string } }
  if (kind === 'cookie') return { cookie }
  if (kind === 'access') return { authorization: `Bearer ${data.accessToken}` }
  const res = await fetch(`${base}/api/v1/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ name: 'bench' }),
  })
  const key = ((await res.json()) as { data: { key: string } }).data.key
  return kind === 'x-api-key' ? { 'x-api-key': key } : { authorization: `Bearer ${key}` }
}

async function pool(base: string, kind: Kind, size: number): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = []
  for (let i = 0; i < size; i++) out.push(await credential(base, kind, i))
  return out
}

interface Row {
  name: string
  fixed: { p50: number; p99: number; okRps: number; statuses: Record<number, number> }
  saturated: { rps: number; p50Ms: number; p99Ms: number; errors: number; engine: string }
}

/** View 3, in its own process pinned to the server's core. */
async function serviceTimes(): Promise<ServiceTimes> {
  const cmd = ['bun', 'bench/lib/auth-service-time.ts', ...(databaseUrl ? ['--database-url', databaseUrl] : [])]
  const proc = Bun.spawn(pinned(SERVER_CPU, cmd), { stdout: 'pipe', stderr: 'pipe' })
  const timer = setTimeout(() => proc.kill('SIGKILL'), 180_000)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  if (code !== 0) throw new Error(`service-time run exited ${code}: ${err}`)
  return JSON.parse(out.trim().split('\n').at(-1)!) as ServiceTimes
}

const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-auth-'))
const rows: Row[] = []
try {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const k = await spawnUntilReady(pinned(SERVER_CPU, ['bun', 'run', 'src/main.ts']), {
    env: kilnEnv(port, dataDir, databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    probeUrl: `${base}/health/ready`,
  })
  try {
    const usersPerCase = Math.ceil((rate * (durationS + WARMUP_S)) / PER_USER_BUDGET)
    for (const c of CASES) {
      const headerSets = await pool(base, c.kind, c.kind === 'none' ? 1 : usersPerCase)
      const url = base + c.path
      await runRotatingLoad({ url, rate, durationS: WARMUP_S, headerSets, cpus: LOAD_CPU })
      const fixed = await runRotatingLoad({ url, rate, durationS, headerSets, cpus: LOAD_CPU })
      const one = c.kind === 'none' ? {} : await credential(base, c.kind, 10_000)
      const saturated = await runHttpLoad({ url, connections, durationS, headers: one, cpus: LOAD_CPU, engine })
      rows.push({ name: c.name, fixed, saturated })
    }
  } finally {
    await k.stop()
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
const inProcess = await serviceTimes()

const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '—')
const b = rows[0]!
console.log(
  `bench:auth — ${databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}, ${durationS} s per case, server on cpu ${SERVER_CPU}, load on cpu ${LOAD_CPU}`,
)
console.log(`\n1. fixed rate ${rate} req/s (Bun open loop, users rotated so that every answer is 200)`)
console.log(`${'case'.padEnd(30)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'+p50'.padStart(7)} ${'+p99'.padStart(7)}  statuses`)
for (const r of rows) {
  const added = r === b ? ['', ''] : [`+${f(r.fixed.p50 - b.fixed.p50)}`, `+${f(r.fixed.p99 - b.fixed.p99)}`]
  const st = Object.entries(r.fixed.statuses)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ')
  console.log(`${r.name.padEnd(30)} ${f(r.fixed.p50).padStart(7)} ${f(r.fixed.p99).padStart(7)} ${added[0]!.padStart(7)} ${added[1]!.padStart(7)}  ${st}`)
}
console.log(`\n2. saturation, ${connections} connections (${b.saturated.engine}), one user per case: past 300/min the answers are 429 after authenticating`)
console.log(`${'case'.padEnd(30)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non-2xx'.padStart(8)}`)
for (const r of rows) {
  const s = r.saturated
  console.log(`${r.name.padEnd(30)} ${f(s.rps, 0).padStart(8)} ${f(s.p50Ms).padStart(7)} ${f(s.p99Ms).padStart(7)} ${String(s.errors).padStart(8)}`)
}
console.log('\n3. service time in process (app.handle, one at a time, median of 7 interleaved rounds of 200)')
for (const kind of KINDS) {
  const added = kind === 'none' ? '' : `  +${f(inProcess[kind] - inProcess.none, 3)} ms over /health/live`
  console.log(`${kind.padEnd(30)} ${f(inProcess[kind], 3).padStart(7)} ms${added}`)
}
