/**
 * Service time of one authenticated request, in process: Kiln built with
 * `buildKiln` (no sockets, no load generator), requests sent one at a time
 * through `app.handle`, credential kinds interleaved over several rounds so
 * that background noise spreads evenly; the median round is reported.
 *
 * CLI: bun bench/lib/auth-service-time.ts [--database-url postgres://…]  → JSON on stdout
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../src/lib/logger'
import { buildKiln } from '../../src/main'

export const KINDS = ['none', 'cookie', 'access-token', 'x-api-key', 'bearer-key'] as const
export type ServiceTimes = Record<(typeof KINDS)[number], number>

const ROUNDS = 7
const PER_ROUND = 200
const USERS = 40

if (import.meta.main) {
  const { values } = parseArgs({ options: { 'database-url': { type: 'string' } } })
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-auth-inproc-'))
  const env: Record<string, string> = { DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_NAME: 'bench' }
  if (values['database-url']) env.DATABASE_URL = values['database-url']
  const config = loadConfig(env)
  const kiln = await buildKiln(config, createLogger('warn', {}, () => {}))
  try {
    const send = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const headers = new Headers(init.headers)
      if (init.json !== undefined) headers.set('content-type', 'application/json')
      const body = init.json === undefined ? undefined : JSON.stringify(init.json)
      return kiln.app.handle(new Request(`http://kiln.bench${path}`, { ...init, headers, body }))
    }
    const sets: Record<string, Record<string, string>[]> = { none: [{}], cookie: [], 'access-token': [], 'x-api-key': [], 'bearer-key': [] }
    for (let i = 0; i < USERS; i++) {
      const dev = await send('/api/v1/auth/dev', { method: 'POST', json: { email: `inproc-${i}@example.com`, tier: 'enterprise' } })
      const cookie = dev.headers.get('set-cookie')!.split(';')[0]!
      const token = ((await dev.json()) as { data: { accessToken: string } }).data.accessToken
      const made = await send('/api/v1/keys', { method: 'POST', headers: { cookie }, json: { name: 'bench' } })
      const key = ((await made.json()) as { data: { key: string } }).data.key
      sets.cookie!.push({ cookie })
      sets['access-token']!.push({ authorization: `Bearer ${token}` })
      sets['x-api-key']!.push({ 'x-api-key': key })
      sets['bearer-key']!.push({ authorization: `Bearer ${key}` })
    }
    const rounds: Record<string, number[]> = {}
    for (let round = 0; round <= ROUNDS; round++) {
      for (const kind of KINDS) {
        const path = kind === 'none' ? '/health/live' : '/api/v1/auth/user'
        const list = sets[kind]!
        const t0 = performance.now()
        for (let i = 0; i < PER_ROUND; i++) {
          const res = await send(path, { headers: list[i % list.length] })
          if (res.status !== 200) throw new Error(`${kind}: ${res.status} ${await res.text()}`)
          await res.arrayBuffer()
        }
        // round 0 warms up (JIT, prepared statements, actors)
        if (round > 0) (rounds[kind] ??= []).push((performance.now() - t0) / PER_ROUND)
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    console.log(JSON.stringify(Object.fromEntries(KINDS.map((k) => [k, median(rounds[k]!)]))))
  } finally {
    await kiln.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
