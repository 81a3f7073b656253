/**
 * Docker cannot run here, so the deploy files are kept honest by reading them:
 * fly.toml and the Dockerfile must agree with the config defaults, the app's
 * health routes and the shutdown bound in main.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'smol-toml'
import { loadConfig } from '../../src/config'
import { SHUTDOWN_BOUND_MS } from '../../src/main'
import { type TestKiln, startKiln } from '../harness'

const root = resolve(import.meta.dir, '../..')
const read = (name: string) => readFileSync(join(root, name), 'utf8')

// biome-ignore lint/suspicious/noExplicitAny: parsed TOML is walked with checks below
const fly = parse(read('fly.toml')) as any
const dockerfile = read('Dockerfile')
/** Dockerfile instructions, with line continuations joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))

const tmp = mkdtempSync(join(tmpdir(), 'kiln-deploy-'))
const defaults = loadConfig({ DATA_DIR: tmp })
let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(async () => {
  await k.close()
  rmSync(tmp, { recursive: true, force: true })
})

/** Fly durations: "30s", "2m", or a bare number of seconds. */
function durationMs(v: string | number): number {
  if (typeof v === 'number') return v * 1000
  const m = /^(\d+)(ms|s|m)$/.exec(v)
  if (!m) throw new Error(`unreadable duration ${v}`)
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']
}

describe('fly.toml', () => {
  test('serves the config default port', () => {
    expect(fly.app).toBe('kiln')
    expect(typeof fly.primary_region).toBe('string')
    expect(fly.http_service.internal_port).toBe(defaults.port)
    expect(fly.env.PORT).toBe(String(defaults.port))
    expect(fly.http_service.force_https).toBe(true)
  })

  test('health checks hit /health/ready, which the app serves', async () => {
    const checks = fly.http_service.checks as { path: string; method: string; timeout: string; interval: string }[]
    expect(checks.length).toBeGreaterThan(0)
    for (const c of checks) {
      expect(c.path).toBe('/health/ready')
      expect(c.method.toUpperCase()).toBe('GET')
      expect(durationMs(c.timeout)).toBeLessThan(durationMs(c.interval))
      expect((await k.request(c.path)).status).toBe(200)
    }
  })

  test('several machines always on, connection-based limits, rolling deploys', () => {
    expect(fly.http_service.auto_stop_machines).toBe('off')
    expect(fly.http_service.min_machines_running).toBeGreaterThanOrEqual(2)
    const c = fly.http_service.concurrency
    expect(c.type).toBe('connections')
    expect(c.soft_limit).toBeGreaterThan(0)
    expect(c.soft_limit).toBeLessThan(c.hard_limit)
    expect(fly.deploy.strategy).toBe('rolling')
  })

  test('kill_timeout leaves room for the graceful shutdown bound', () => {
    expect(fly.kill_signal).toBe('SIGTERM')
    expect(durationMs(fly.kill_timeout)).toBeGreaterThanOrEqual(SHUTDOWN_BOUND_MS)
    expect(durationMs(fly.kill_timeout)).toBeLessThanOrEqual(300_000) // Fly's maximum
  })

  test('production env in fly.toml carries no secrets', () => {
    expect(fly.env.NODE_ENV).toBe('production')
    for (const key of Object.keys(fly.env)) expect(key).not.toMatch(/SECRET|KEY|DATABASE_URL|REDIS_URL/)
  })
})

describe('Dockerfile', () => {
  const froms = instructions.filter((l) => /^FROM\s/i.test(l))

  test('every stage is the official Bun image, pinned to the Bun the tests run on', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2)
    for (const f of froms) expect(f).toMatch(/^FROM oven\/bun:/)
    const pinned = /ARG BUN_VERSION=(\S+)/.exec(dockerfile)?.[1]
    expect(pinned?.split('.').slice(0, 2)).toEqual(Bun.version.split('.').slice(0, 2))
  })

  test('installs production dependencies only, exactly as locked', () => {
    expect(dockerfile).toContain('bun install --production --frozen-lockfile')
    expect(instructions.some((l) => /^COPY --from=deps\b.*node_modules/.test(l))).toBe(true)
  })

  test('runs as a non-root user', () => {
    const users = instructions.filter((l) => /^USER\s/.test(l))
    const last = users.at(-1)?.split(/\s+/)[1]
    expect(last).toBeDefined()
    expect(['root', '0', '0:0']).not.toContain(last!)
  })

  test('exposes the config port, keeps data under /data and probes liveness', async () => {
    expect(instructions).toContain(`EXPOSE ${defaults.port}`)
    expect(dockerfile).toMatch(/DATA_DIR=\/data\b/)
    const health = instructions.find((l) => l.startsWith('HEALTHCHECK'))
    expect(health).toContain('/health/live')
    expect(health).toContain('bun')
    expect((await k.request('/health/live')).status).toBe(200)
    expect(instructions.at(-1)).toBe('CMD ["bun", "run", "src/main.ts"]')
  })

  test('copies what the service needs, and .dockerignore keeps the rest out', () => {
    for (const l of instructions.filter((l) => /^COPY\s/.test(l) && !l.includes('--from'))) {
      const parts = l.split(/\s+/).filter((p) => !p.startsWith('--'))
      for (const src of parts.slice(1, -1)) expect(existsSync(join(root, src))).toBe(true)
    }
    expect(dockerfile).toMatch(/COPY .*\bsrc\b/)
    expect(dockerfile).toMatch(/COPY .*\bdrizzle\b/)
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim())
    for (const p of ['node_modules', '.git', 'data', '.env']) expect(ignored).toContain(p)
  })
})
