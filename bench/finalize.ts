/**
 * Finalizing must not starve the API. Kiln (PostgreSQL, local storage) runs
 * pinned to core 0; the load generator runs on core 1 (this process).
 *
 *   1. images/s of finalizeImage (1024² PNG from the local renderer → WebP q90
 *      + 400 px thumbnail) inside the Kiln process at the image-slot cap, no HTTP load;
 *   2. p50/p99 of GET /health and GET /api/v1/styles at a fixed rate with no
 *      image work (the baseline), then with finalizing saturating its slots,
 *      at the default cap and, for contrast, at a cap of 2.
 *
 *   bun run bench:finalize      (BENCH_SECONDS=6, BENCH_RATE=1000 req/s, BENCH_ROUNDS=2)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderImage } from '../src/adapters/models/local-render'
import { benchDatabase } from './lib/kiln-bench'
import { type LoadResult, openLoop, report } from './lib/load'
import { ROOT, freePort, pinned } from './lib/process'

const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 6), 60)
const RATE = Math.min(Number(process.env.BENCH_RATE ?? 1000), 20_000)
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0'
/** Rounds of the three scenarios, interleaved so that noise from the rest of the machine shows. */
const ROUNDS = Math.min(Number(process.env.BENCH_ROUNDS ?? 2), 5)

const sampleInput = () =>
  renderImage({ styleId: 'glass-morphism', colors: ['#ff7b00', '#ff0054', '#390099', '#90e0ef'], text: 'bench', seed: 11, width: 1024, height: 1024 })

// ── child: Kiln plus an optional finalizing loop, pinned to the server core ─────────
if (process.argv[2] === '--server') {
  const { loadConfig } = await import('../src/config')
  const { buildKiln } = await import('../src/main')
  const { finalizeImage, imageSlots, setImageConcurrency } = await import('../src/domain/generations/images')
  const cap = Number(process.env.BENCH_FINALIZE_CAP ?? 0)
  if (cap > 0) setImageConcurrency(cap)
  const config = loadConfig(process.env)
  const kiln = await buildKiln(config)
  kiln.app.listen({ port: config.port, hostname: '127.0.0.1' })
  let images = 0
  let started = 0
  let stopping = false
  if (process.env.BENCH_FINALIZE === '1') {
    const input = await sampleInput()
    started = performance.now()
    // Count from one second in: the first images pay for libvips' and the JIT's warm-up.
    setTimeout(() => {
      images = 0
      started = performance.now()
    }, 1000)
    // More callers than slots, so the semaphore is always saturated: the full rate sharp allows.
    for (let w = 0; w < imageSlots.capacity + 2; w++)
      void (async () => {
        while (!stopping) {
          await finalizeImage(input)
          images++
        }
      })()
  }
  process.on('SIGTERM', () => {
    stopping = true
    const seconds = started ? (performance.now() - started) / 1000 : 0
    console.log(JSON.stringify({ images, seconds, cap: imageSlots.capacity, cores: availableParallelism() }))
    process.exit(0)
  })
} else {
  await main()
}

interface ServerRun {
  url: string
  /** Stops the server and returns its finalizing count. */
  stop(): Promise<{ images: number; seconds: number; cap: number; cores: number }>
}

async function startServer(databaseUrl: string, finalize: boolean, cap?: number): Promise<ServerRun> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-fin-'))
  const proc = Bun.spawn(pinned(SERVER_CPU, ['bun', 'run', join(ROOT, 'bench/finalize.ts'), '--server']), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      NODE_NAME: 'bench',
      BENCH_FINALIZE: finalize ? '1' : '0',
      BENCH_FINALIZE_CAP: String(cap ?? 0),
    },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const out = new Response(proc.stdout).text()
  const url = `http://127.0.0.1:${port}`
  const deadline = performance.now() + 60_000
  while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) {
    if (proc.exitCode !== null || performance.now() > deadline) throw new Error(`bench server did not start: ${await out}`)
    await Bun.sleep(20)
  }
  return {
    url,
    async stop() {
      proc.kill('SIGTERM')
      await proc.exited
      rmSync(dataDir, { recursive: true, force: true })
      const last = (await out).trim().split('\n').at(-1) ?? '{}'
      return JSON.parse(last)
    },
  }
}

async function measure(url: string): Promise<{ health: LoadResult; styles: LoadResult }> {
  const run = (path: string) => openLoop({ rate: RATE, durationMs: SECONDS * 1000, make: () => ({ url: `${url}${path}` }) })
  // warm-up: JIT, the catalogue cache, keep-alive connections
  await openLoop({ rate: 500, durationMs: 1000, make: (i) => ({ url: `${url}${i % 2 ? '/health' : '/api/v1/styles'}` }) })
  return { health: await run('/health'), styles: await run('/api/v1/styles') }
}

async function main() {
  console.log(`finalize bench: server on cpu ${SERVER_CPU}, load on this process; ${RATE} req/s for ${SECONDS} s per endpoint`)
  const db = await benchDatabase('finalize')
  try {
    // 1. images/s at the cap, nothing else running
    const quiet = await startServer(db.url, true)
    await Bun.sleep(1000 + SECONDS * 1000)
    const alone = await quiet.stop()
    console.log(
      `finalizeImage alone (1024² → WebP q90 + 400 px): ${(alone.images / alone.seconds).toFixed(1)} images/s at cap ${alone.cap} (${alone.cores} core(s) visible to the server)`,
    )

    // 2. API latency without and with image work
    const rows: Array<[string, { health: LoadResult; styles: LoadResult }, string]> = []
    for (let round = 1; round <= ROUNDS; round++) {
      const idle = await startServer(db.url, false)
      rows.push([`round ${round}, no finalizing (baseline)`, await measure(idle.url), ''])
      await idle.stop()
      for (const cap of [undefined, 2]) {
        const busy = await startServer(db.url, true, cap)
        const m = await measure(busy.url)
        const s = await busy.stop()
        const name = `round ${round}, finalizing at cap ${s.cap}${cap === undefined ? ' (default)' : ''}`
        rows.push([name, m, `${(s.images / s.seconds).toFixed(1)} images/s meanwhile`])
      }
    }
    for (const [name, m, note] of rows) {
      console.log(`\n${name}${note ? `: ${note}` : ''}`)
      console.log(report('  GET /health', m.health))
      console.log(report('  GET /api/v1/styles', m.styles))
    }
  } finally {
    await db.drop()
  }
}
