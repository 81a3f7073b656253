/**
 * Starts Kiln in-process for a test file: a fresh database (PGlite from a
 * migrated template, or a new PostgreSQL database cloned from a migrated
 * template), a temporary DATA_DIR, quiet logs and a fast local provider.
 * Requests go through `app.handle` unless the test asks for a real socket.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { type Database, MIGRATIONS_DIR, openPglite, openPostgres } from '../src/adapters/db/client'
import { type Config, loadConfig } from '../src/config'
import { type Kiln, buildKiln } from '../src/main'
import { createLogger } from '../src/lib/logger'
import { MAX_BODY_BYTES } from '../src/transport/http/request-context'
import { testDatabaseUrl, testRedisUrl } from './services'

let pgliteTemplate: Promise<Blob> | undefined

async function freshPglite(): Promise<Database> {
  pgliteTemplate ??= (async () => {
    const db = await openPglite({})
    const blob = await (db as unknown as { pglite: { dumpDataDir(c?: string): Promise<Blob> } }).pglite.dumpDataDir('none')
    await db.close()
    return blob
  })()
  return openPglite({ loadDataDir: await pgliteTemplate, migrate: false })
}

let pgTemplate: Promise<string> | undefined

/** A new PostgreSQL database cloned from a migrated template; dropped by `drop`. */
export async function freshPostgresDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} })
  try {
    pgTemplate ??= (async () => {
      const journal = await Bun.file(join(MIGRATIONS_DIR, 'meta/_journal.json')).text()
      const sqlFiles = await Array.fromAsync(new Bun.Glob('*.sql').scan(MIGRATIONS_DIR))
      let text = journal
      for (const f of sqlFiles.sort()) text += await Bun.file(join(MIGRATIONS_DIR, f)).text()
      const name = `kiln_tpl_${Bun.hash(text).toString(36)}`
      const exists = await admin`select 1 from pg_database where datname = ${name}`
      if (exists.length === 0) {
        const building = `${name}_b${process.pid}`
        await admin.unsafe(`drop database if exists "${building}"`)
        await admin.unsafe(`create database "${building}"`)
        const u = new URL(baseUrl)
        u.pathname = `/${building}`
        const db = await openPostgres(u.toString(), { max: 1 })
        await db.close()
        try {
          await admin.unsafe(`alter database "${building}" rename to "${name}"`)
        } catch {
          // another process built the same template first
          await admin.unsafe(`drop database if exists "${building}"`)
        }
      }
      return name
    })()
    const template = await pgTemplate
    const name = `kiln_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`)
        break
      } catch (err) {
        // "source database is being accessed by other users": another test process is cloning it
        if (attempt > 50) throw err
        await Bun.sleep(50 + Math.random() * 100)
      }
    }
    const u = new URL(baseUrl)
    u.pathname = `/${name}`
    return {
      url: u.toString(),
      drop: async () => {
        const a = postgres(baseUrl, { max: 1, onnotice: () => {} })
        await a.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {})
        await a.end({ timeout: 5 })
      },
    }
  } finally {
    await admin.end({ timeout: 5 })
  }
}

export interface TestKiln {
  kiln: Kiln
  config: Config
  /** Base URL when started with `listen: true`. */
  url: string
  /** Sends a request through the app (in-process, or over the socket when listening). */
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
  close(): Promise<void>
}

export interface StartOptions {
  env?: Record<string, string>
  listen?: boolean
  /** Keep the DATA_DIR (for restart tests); the caller removes it. */
  dataDir?: string
  /** Reuse an existing database URL instead of a fresh one (restart tests). */
  databaseUrl?: string
  /** Receives every log line (JSON), e.g. to check that secrets never reach the logs. */
  logSink?: (line: string) => void
  /** Extra adapters handed to `buildKiln` (e.g. `googleEndpoints` of a fake Google). */
  given?: Omit<NonNullable<Parameters<typeof buildKiln>[2]>, 'database'>
}

/** Starts a Kiln for tests; call `close()` in afterAll. */
export async function startKiln(opts: StartOptions = {}): Promise<TestKiln> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'kiln-test-'))
  let database: Database
  let dropDb: (() => Promise<void>) | undefined
  if (opts.databaseUrl) {
    database = await openPostgres(opts.databaseUrl, { max: 10 })
  } else if (testDatabaseUrl) {
    const fresh = await freshPostgresDatabase(testDatabaseUrl)
    dropDb = fresh.drop
    database = await openPostgres(fresh.url, { max: 10, migrate: false })
  } else {
    database = await freshPglite()
  }
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.KILN_TEST_LOG_LEVEL ?? 'error',
    LOCAL_PROVIDER_SPEED: '0.01',
    NODE_NAME: 'test-node',
    PORT: '0',
    // a Redis run (CI's second pass) coordinates through Redis like production does
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl } : {}),
    ...opts.env,
  }
  const config = loadConfig(env)
  const log = createLogger(config.logLevel, { node: config.nodeName }, opts.logSink)
  const kiln = await buildKiln(config, log, { ...opts.given, database })
  let url = 'http://kiln.test'
  let server: { stop(force?: boolean): unknown; port?: number } | undefined
  if (opts.listen) {
    kiln.app.listen({ port: 0, hostname: '127.0.0.1', maxRequestBodySize: MAX_BODY_BYTES })
    server = kiln.app.server ?? undefined
    url = `http://127.0.0.1:${server?.port}`
  }
  return {
    kiln,
    config,
    url,
    request(path, init = {}) {
      const { json, ...rest } = init
      const headers = new Headers(rest.headers)
      let body = rest.body
      if (json !== undefined) {
        headers.set('content-type', 'application/json')
        body = JSON.stringify(json)
      }
      const req = new Request(`${url}${path}`, { ...rest, headers, body })
      return opts.listen ? fetch(req) : kiln.app.handle(req)
    },
    async close() {
      await server?.stop(true)
      await kiln.stop()
      await dropDb?.()
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Reads a JSON response body with its status, for terse assertions. */
export async function json<T = any>(res: Response | Promise<Response>): Promise<{ status: number; body: T; headers: Headers }> {
  const r = await res
  const text = await r.text()
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T, headers: r.headers }
}

/** Polls `check` until it returns true (for effects Kiln makes after answering), failing after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`)
    await Bun.sleep(10)
  }
}
