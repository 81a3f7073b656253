/**
 * Opens the database Kiln runs on: PostgreSQL through postgres.js when a URL is
 * configured, PGlite (embedded PostgreSQL) otherwise. Both speak the same
 * drizzle schema and apply the same migrations from `drizzle/`.
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema'
import { rowsOf } from './rows'

export type Schema = typeof schema
export type Db = PgDatabase<PgQueryResultHKT, Schema>

export interface Database {
  db: Db
  kind: 'postgres' | 'pglite'
  /** Round-trip check for readiness probes. */
  ping(): Promise<void>
  /** True when every migration in `drizzle/` has been applied. */
  migrated(): Promise<boolean>
  close(): Promise<void>
}

export const MIGRATIONS_DIR = resolve(import.meta.dir, '../../../drizzle')
/** Arbitrary but fixed key of the advisory lock that serialises migrations across nodes. */
const MIGRATION_LOCK_KEY = 0x6b696c6e // "kiln"

async function expectedMigrations(): Promise<number> {
  const journal = await Bun.file(join(MIGRATIONS_DIR, 'meta/_journal.json')).json()
  return (journal.entries as unknown[]).length
}

/**
 * True when the newest applied migration is at least the journal's newest: the
 * check drizzle's migrator itself makes, without reading and hashing every
 * migration file (it saves ~50 ms of each PGlite start and the lock wait on PostgreSQL).
 */
async function upToDate(query: (text: string) => Promise<unknown>): Promise<boolean> {
  const journal = await Bun.file(join(MIGRATIONS_DIR, 'meta/_journal.json')).json()
  const newest = Math.max(0, ...(journal.entries as { when: number }[]).map((e) => e.when))
  try {
    const rows = rowsOf<{ at: string | null }>(await query('select max(created_at)::text as at from drizzle.__drizzle_migrations'))
    return Number(rows[0]?.at ?? 0) >= newest
  } catch {
    return false // no migrations table yet: a fresh database
  }
}

function migratedCheck(db: Db) {
  let done = false
  return async () => {
    if (done) return true
    const expected = await expectedMigrations()
    try {
      const rows = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`))
      done = Number(rows[0]?.n ?? 0) >= expected
    } catch {
      done = false
    }
    return done
  }
}

/** Connects to PostgreSQL and applies pending migrations under an advisory lock (one node at a time). */
export async function openPostgres(url: string, opts: { max?: number; migrate?: boolean } = {}): Promise<Database> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  if (opts.migrate !== false) {
    const { migrate } = await import('drizzle-orm/postgres-js/migrator')
    const lockClient = postgres(url, { max: 1, onnotice: () => {} })
    try {
      if (!(await upToDate((text) => lockClient.unsafe(text)))) {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`
        await migrate(drizzle(lockClient), { migrationsFolder: MIGRATIONS_DIR })
        await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`
      }
    } finally {
      await lockClient.end({ timeout: 5 })
    }
  }
  const client = postgres(url, { max: opts.max ?? 20, onnotice: () => {}, idle_timeout: 30 })
  const db = drizzle(client, { schema }) as unknown as Db
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await client`select 1`
    },
    migrated: migratedCheck(db),
    close: () => client.end({ timeout: 5 }),
  }
}

/** Opens PGlite on disk under `dir` (or from a data-dir dump, or in memory) and applies migrations. */
export async function openPglite(opts: { dir?: string; loadDataDir?: Blob; migrate?: boolean }): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  if (opts.dir) mkdirSync(opts.dir, { recursive: true })
  const client = await PGlite.create(opts.dir, opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {})
  const db = drizzle(client, { schema }) as unknown as Db
  if (opts.migrate !== false && !(await upToDate((text) => client.query(text)))) {
    const { migrate } = await import('drizzle-orm/pglite/migrator')
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR })
  }
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await client.query('select 1')
    },
    migrated: migratedCheck(db),
    close: () => client.close(),
    // exposed for the test harness' template dumps
    ...({ pglite: client } as object),
  }
}

/** Opens whichever database the configuration names. */
export function openDatabase(config: { databaseUrl?: string; dataDir: string }): Promise<Database> {
  return config.databaseUrl ? openPostgres(config.databaseUrl) : openPglite({ dir: join(config.dataDir, 'pg') })
}
