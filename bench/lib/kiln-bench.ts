/** Shared setup of the generation benchmarks: a throwaway PostgreSQL database, Kiln and the Express baseline, pinned. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { openPostgres } from '../../src/adapters/db/client'
import { ROOT, type Started, freePort, pinned, spawnUntilReady } from './process'

export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
export const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0'

/** A new migrated database; `drop()` removes it. */
export async function benchDatabase(name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} })
  const db = `kiln_bench_${name}_${process.pid}`
  await admin.unsafe(`drop database if exists "${db}" with (force)`)
  await admin.unsafe(`create database "${db}"`)
  await admin.end()
  const u = new URL(PG_URL)
  u.pathname = `/${db}`
  const migrated = await openPostgres(u.toString(), { max: 1 })
  await migrated.close()
  return {
    url: u.toString(),
    async drop() {
      const a = postgres(PG_URL, { max: 1, onnotice: () => {} })
      await a.unsafe(`drop database if exists "${db}" with (force)`).catch(() => {})
      await a.end()
    },
  }
}

export interface BenchServer extends Started {
  url: string
}

/** Starts Kiln from src/main.ts on the server core. */
export async function startKilnServer(databaseUrl: string, env: Record<string, string> = {}): Promise<BenchServer & { dataDir: string }> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-'))
  const s = await spawnUntilReady(pinned(SERVER_CPU, ['bun', 'run', join(ROOT, 'src/main.ts')]), {
    env: { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, DATA_DIR: dataDir, LOG_LEVEL: 'error', NODE_NAME: 'bench', ...env },
    probeUrl: `http://127.0.0.1:${port}/health/live`,
  })
  return {
    ...s,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    async stop() {
      const code = await s.stop()
      rmSync(dataDir, { recursive: true, force: true })
      return code
    },
  }
}

/** Starts the Express + pg + ioredis baseline on the server core. */
export async function startExpressBaseline(databaseUrl: string): Promise<BenchServer> {
  const port = await freePort()
  const s = await spawnUntilReady(pinned(SERVER_CPU, ['bun', 'run', join(ROOT, 'bench/baselines/express-accept.ts')]), {
    env: { PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL },
    probeUrl: `http://127.0.0.1:${port}/health`,
  })
  return { ...s, url: `http://127.0.0.1:${port}` }
}

/** Signs `n` users in through dev sign-in; returns their ids and bearer tokens. */
export async function benchUsers(baseUrl: string, n: number, tier: 'free' | 'pro' | 'enterprise'): Promise<{ id: string; token: string }[]> {
  const out: { id: string; token: string }[] = []
  const batch = 20
  for (let i = 0; i < n; i += batch) {
    const got = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async (_, j) => {
        const res = await fetch(`${baseUrl}/api/v1/auth/dev`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: `bench${i + j}-${process.pid}@example.com`, tier }),
        })
        const body = (await res.json()) as { data: { user: { id: string }; accessToken: string } }
        return { id: body.data.user.id, token: body.data.accessToken }
      }),
    )
    out.push(...got)
  }
  return out
}
