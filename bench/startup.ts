/**
 * Start-up time: spawn `bun run src/main.ts` (embedded PGlite) and time until
 * the first 200 from /health/ready, on a fresh DATA_DIR and then again on the
 * same, existing one (the case that matters for restarts and deploys).
 *
 *   bun run bench:startup [--runs 5]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort, kilnEnv, pinned, spawnUntilReady, summary } from './lib/process'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, cpus: { type: 'string', default: '0' } } })
const runs = Math.min(Math.max(Number(values.runs) || 5, 1), 20)
const TARGET_MS = 1500

async function once(dataDir: string): Promise<number> {
  const port = await freePort()
  const k = await spawnUntilReady(pinned(values.cpus, ['bun', 'run', 'src/main.ts']), {
    env: kilnEnv(port, dataDir),
    probeUrl: `http://127.0.0.1:${port}/health/ready`,
    timeoutMs: 60_000,
  })
  const code = await k.stop()
  if (code !== 0) throw new Error(`kiln exited ${code} on SIGTERM`)
  return k.readyMs
}

const fresh: number[] = []
const existing: number[] = []
for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-startup-'))
  try {
    fresh.push(await once(dataDir))
    existing.push(await once(dataDir))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const fmt = (xs: number[]) => {
  const s = summary(xs)
  return `median ${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`
}
const med = summary(existing).median
console.log(
  `kiln start-up to first 200 on /health/ready, ${runs} runs, server pinned to cpu ${values.cpus}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
)
console.log(`  fresh DATA_DIR:    ${fmt(fresh)}`)
console.log(`  existing DATA_DIR: ${fmt(existing)}  target < ${TARGET_MS} ms: ${med < TARGET_MS ? 'met' : 'MISSED'}`)
