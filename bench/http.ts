/**
 * HTTP throughput of Kiln's cheapest routes against a minimal Express 5 app,
 * measured in the same run. All servers are pinned to cpu 0 and the load
 * generator (wrk, else the Bun generator) to cpu 1, loopback only, bounded in
 * time. Runs are interleaved (kiln, express-node, express-bun, kiln, …) and the
 * median of the rounds is reported, so drifting load on a shared machine hits
 * every server alike.
 *
 * Kiln runs as it ships: `bun run src/main.ts`, embedded PGlite on a fresh
 * temporary DATA_DIR, LOG_LEVEL=warn. The Express baseline runs twice: on
 * Node (its usual runtime, bundled for Node by `bun build`) and on Bun.
 *
 *   bun run bench:http [--duration 4] [--rounds 3] [--connections 64] [--engine wrk|bun]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type HttpLoadResult, runHttpLoad } from './lib/http-load'
import { ROOT, type Started, cpuMicros, freePort, kilnEnv, pinned, spawnUntilReady, summary } from './lib/process'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    engine: { type: 'string' },
  },
})
const durationS = Math.min(Math.max(Number(values.duration) || 4, 1), 30)
const rounds = Math.min(Math.max(Number(values.rounds) || 3, 1), 9)
const connections = Math.min(Math.max(Number(values.connections) || 64, 1), 512)
const engine = values.engine === 'bun' || values.engine === 'wrk' ? values.engine : undefined
const SERVER_CPU = '0'
const LOAD_CPU = '1'

interface Case {
  name: string
  path: string
  headers?: Record<string, string>
  /** The Express baseline has no compression middleware: Kiln alone. */
  kilnOnly?: boolean
}
const CASES: Case[] = [
  { name: 'GET /api/v1/styles', path: '/api/v1/styles' },
  { name: 'GET /api/v1/styles (ar)', path: '/api/v1/styles', headers: { 'accept-language': 'ar' } },
  { name: 'GET /health', path: '/health' },
  { name: 'GET /api/v1/styles (br)', path: '/api/v1/styles', headers: { 'accept-encoding': 'br, gzip' }, kilnOnly: true },
]

interface Server {
  name: string
  base: string
  started: Started
}

const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-http-'))
const expressJs = join(dataDir, 'express-http.mjs')
const servers: Server[] = []
const results = new Map<string, (HttpLoadResult & { cpuUsPerReq: number })[]>()

async function start(name: string, cmd: string[], env: Record<string, string>, port: number, probe: string) {
  const started = await spawnUntilReady(pinned(SERVER_CPU, cmd), { env, probeUrl: `http://127.0.0.1:${port}${probe}` })
  servers.push({ name, base: `http://127.0.0.1:${port}`, started })
}

try {
  const built = Bun.spawnSync(['bun', 'build', 'bench/baselines/express-http.ts', '--target', 'node', '--outfile', expressJs], { cwd: ROOT })
  if (built.exitCode !== 0) throw new Error(`bundling the Express baseline failed: ${built.stderr}`)
  const kp = await freePort()
  await start('kiln', ['bun', 'run', 'src/main.ts'], kilnEnv(kp, join(dataDir, 'kiln')), kp, '/health/ready')
  const np = await freePort()
  if (Bun.which('node')) await start('express-node', ['node', expressJs], { PORT: String(np) }, np, '/health')
  const bp = await freePort()
  await start('express-bun', ['bun', 'run', 'bench/baselines/express-http.ts'], { PORT: String(bp) }, bp, '/health')

  for (const c of CASES) {
    const targets = servers.filter((s) => s.name === 'kiln' || !c.kilnOnly)
    // Warm up every server (JIT, caches) before the measured rounds.
    for (const s of targets) await runHttpLoad({ url: s.base + c.path, connections, durationS: 2, headers: c.headers, cpus: LOAD_CPU, engine })
    for (let r = 0; r < rounds; r++)
      for (const s of targets) {
        const cpu0 = cpuMicros(s.started.proc.pid)
        const load = await runHttpLoad({ url: s.base + c.path, connections, durationS, headers: c.headers, cpus: LOAD_CPU, engine })
        const res = { ...load, cpuUsPerReq: (cpuMicros(s.started.proc.pid) - cpu0) / load.requests }
        const key = `${s.name} ${c.name}`
        results.set(key, [...(results.get(key) ?? []), res])
      }
  }
} finally {
  for (const s of servers) await s.started.stop()
  rmSync(dataDir, { recursive: true, force: true })
}

/** Median of the rounds for one server and case. */
function median(server: string, c: Case) {
  const rs = results.get(`${server} ${c.name}`)
  if (!rs) return undefined
  return {
    rps: summary(rs.map((r) => r.rps)).median,
    p50: summary(rs.map((r) => r.p50Ms)).median,
    p99: summary(rs.map((r) => r.p99Ms)).median,
    cpu: summary(rs.map((r) => r.cpuUsPerReq)).median,
    errors: rs.reduce((a, r) => a + r.errors, 0),
  }
}

const nodeVersion = Bun.which('node') ? Bun.spawnSync(['node', '--version']).stdout.toString().trim() : 'absent'
const gen = [...results.values()][0]?.[0]?.engine
console.log(
  `bench:http — ${connections} connections, ${rounds} interleaved rounds × ${durationS} s per case and server (median shown); ` +
    `servers on cpu ${SERVER_CPU}, load (${gen}) on cpu ${LOAD_CPU}; Bun ${Bun.version}, Node ${nodeVersion}; ` +
    `machine load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ` +
    'latencies in ms; cpu = server CPU µs per request (steady when the machine is shared, unlike req/s)',
)
const cols = ['kiln', 'express-node', 'express-bun'].filter((n) => servers.some((s) => s.name === n) || results.size === 0)
console.log(`${'case'.padEnd(26)} ${cols.map((n) => `${n.padStart(12)} req/s    p50    p99   cpu`).join(' │ ')} │ req/s kiln ÷ node, ÷ bun │ cpu node ÷ kiln, bun ÷ kiln`)
for (const c of CASES) {
  const cells = cols.map((n) => {
    const m = median(n, c)
    return m
      ? `${m.rps.toFixed(0).padStart(18)} ${m.p50.toFixed(2).padStart(6)} ${m.p99.toFixed(2).padStart(6)} ${m.cpu.toFixed(0).padStart(5)}`
      : `${'n/a'.padStart(18)} ${''.padStart(19)}`
  })
  const k = median('kiln', c)!
  const ratio = (n: string) => {
    const m = median(n, c)
    return m ? `${(k.rps / m.rps).toFixed(1)}×` : '—'
  }
  const cpuRatio = (n: string) => {
    const m = median(n, c)
    return m ? `${(m.cpu / k.cpu).toFixed(1)}×` : '—'
  }
  const errs = cols.map((n) => median(n, c)?.errors ?? 0).some((e) => e > 0) ? `  errors: ${cols.map((n) => `${n} ${median(n, c)?.errors ?? 0}`).join(', ')}` : ''
  console.log(
    `${c.name.padEnd(26)} ${cells.join(' │ ')} │ ${`${ratio('express-node')}, ${ratio('express-bun')}`.padEnd(23)} │ ${cpuRatio('express-node')}, ${cpuRatio('express-bun')}${errs}`,
  )
}
const styles = CASES[0]!
const vsNode = median('express-node', styles)
const vsBun = median('express-bun', styles)
const k = median('kiln', styles)!
const verdict = (x: number) => `${x.toFixed(1)}× (${x >= 5 ? 'met' : 'MISSED'})`
console.log(
  `target GET /api/v1/styles ≥ 5× Express, by req/s: vs Express on Node ${vsNode ? verdict(k.rps / vsNode.rps) : 'n/a'}, ` +
    `vs Express on Bun ${vsBun ? verdict(k.rps / vsBun.rps) : 'n/a'}; by CPU per request: ` +
    `vs Node ${vsNode ? verdict(vsNode.cpu / k.cpu) : 'n/a'}, vs Bun ${vsBun ? verdict(vsBun.cpu / k.cpu) : 'n/a'}`,
)
