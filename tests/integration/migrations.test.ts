/**
 * Migrations: several processes opening one fresh PostgreSQL database at once
 * apply each migration exactly once (advisory lock); PGlite's first start
 * creates DATA_DIR and migrates, the second reuses it and keeps the data.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { MIGRATIONS_DIR, openDatabase } from '../../src/adapters/db/client'
import { rowsOf } from '../../src/adapters/db/rows'
import { postgresUrlForServerTests, skipWithout } from '../services'

const journal = (await Bun.file(join(MIGRATIONS_DIR, 'meta/_journal.json')).json()) as { entries: { tag: string }[] }
const clientModule = resolve(import.meta.dir, '../../src/adapters/db/client.ts')

describe.skipIf(skipWithout({ postgres: true }))('PostgreSQL', () => {
  const name = `kiln_mig_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(postgresUrlForServerTests, { max: 1, onnotice: () => {} })
  const url = (() => {
    const u = new URL(postgresUrlForServerTests)
    u.pathname = `/${name}`
    return u.toString()
  })()
  afterAll(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end({ timeout: 5 })
  })

  test('four processes starting at once on an empty database migrate it exactly once', async () => {
    await admin.unsafe(`create database "${name}"`)
    // Each process opens the database the way a starting node does, then reports what it sees.
    const script = `
      import { openPostgres } from ${JSON.stringify(clientModule)}
      const db = await openPostgres(process.env.URL, { max: 1 })
      console.log(JSON.stringify({ migrated: await db.migrated() }))
      await db.close()`
    const procs = Array.from({ length: 4 }, () =>
      Bun.spawn(['bun', '-e', script], { env: { ...process.env, URL: url }, stdout: 'pipe', stderr: 'pipe' }),
    )
    const results = await Promise.all(
      procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text() })),
    )
    for (const r of results) {
      expect(r.err).toBe('')
      expect(r.code).toBe(0)
      expect(JSON.parse(r.out.trim())).toEqual({ migrated: true })
    }
    const db = postgres(url, { max: 1, onnotice: () => {} })
    try {
      const rows = await db`select hash from drizzle.__drizzle_migrations order by id`
      expect(rows.length).toBe(journal.entries.length)
      expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length)
      const [tables] = await db`select count(*)::int as n from information_schema.tables where table_schema = 'public'`
      expect(tables!.n).toBeGreaterThan(10)
    } finally {
      await db.end({ timeout: 5 })
    }
  }, 60_000)
})

describe('PGlite on disk', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'kiln-mig-')), 'data')
  afterAll(() => rmSync(resolve(dataDir, '..'), { recursive: true, force: true }))

  test('the first start creates DATA_DIR and migrates; the second reuses it and keeps the data', async () => {
    expect(existsSync(dataDir)).toBe(false)
    const first = await openDatabase({ dataDir })
    expect(first.kind).toBe('pglite')
    expect(await first.migrated()).toBe(true)
    await first.db.execute(sql`insert into users (id, email) values ('usr_keep', 'keep@example.com')`)
    await first.close()
    expect(existsSync(join(dataDir, 'pg', 'PG_VERSION'))).toBe(true)

    const second = await openDatabase({ dataDir })
    try {
      expect(await second.migrated()).toBe(true)
      const kept = rowsOf<{ email: string }>(await second.db.execute(sql`select email from users where id = 'usr_keep'`))
      expect(kept).toEqual([{ email: 'keep@example.com' }])
      const applied = rowsOf<{ n: number }>(await second.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`))
      expect(applied[0]!.n).toBe(journal.entries.length)
    } finally {
      await second.close()
    }
  }, 60_000)
})
