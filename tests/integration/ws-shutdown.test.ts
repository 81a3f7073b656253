/** SIGTERM on a real Kiln process closes every socket with 1012 (service restart) before the process exits. */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CLOSE } from '../../src/transport/ws/close-codes'
import { freshPostgresDatabase } from '../harness'
import { freePort, postgresReachable, postgresUrlForServerTests } from '../services'
import { connected } from './ws-support'

const root = resolve(import.meta.dir, '../..')
const dataDir = mkdtempSync(join(tmpdir(), 'kiln-ws-shutdown-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))


test('SIGTERM closes sockets with 1012 and the process exits 0', async () => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  // A cloned, already migrated PostgreSQL database starts in well under a second; a fresh PGlite takes several.
  const db = postgresReachable ? await freshPostgresDatabase(postgresUrlForServerTests) : undefined
  const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'error', NODE_NAME: 'ws-drain', ...(db ? { DATABASE_URL: db.url } : {}) },
    stdout: 'ignore',
    stderr: 'pipe',
  })
  try {
    const end = Date.now() + 30_000
    while (!(await fetch(`${base}/health/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > end) throw new Error('kiln never became ready')
      await Bun.sleep(50)
    }
    const signIn = await fetch(`${base}/api/v1/auth/dev`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'drain@example.com' }) })
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!
    const ws = `ws://127.0.0.1:${port}/api/v1/ws`
    const tabs = await Promise.all([connected(ws, { cookie }), connected(ws, { cookie })])
    proc.kill('SIGTERM')
    for (const t of tabs) expect((await t.closed).code).toBe(CLOSE.SERVICE_RESTART)
    expect(await proc.exited).toBe(0)
  } finally {
    proc.kill('SIGKILL')
    await proc.exited
    await db?.drop()
  }
}, 60_000)
