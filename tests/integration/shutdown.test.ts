/**
 * Graceful shutdown of a real process: on SIGTERM readiness turns 503 while the
 * node drains, an in-flight request is still answered, and the process exits 0
 * within the bound, having logged JSON lines only.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { SHUTDOWN_BOUND_MS } from '../../src/main'
import { freePort } from '../services'

const root = resolve(import.meta.dir, '../..')
const dataDir = mkdtempSync(join(tmpdir(), 'kiln-shutdown-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))


async function waitReady(base: string, ms: number) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const ok = await fetch(`${base}/health/ready`).then((r) => r.status === 200, () => false)
    if (ok) return
    await Bun.sleep(50)
  }
  throw new Error('kiln never became ready')
}

test('SIGTERM drains: readiness 503, in-flight request answered, exit 0 within the bound, JSON logs', async () => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', NODE_NAME: 'drain-test' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const stdout = new Response(proc.stdout).text()
  const stderr = new Response(proc.stderr).text()
  try {
    await waitReady(base, 30_000)

    // An in-flight request: a JSON body that trickles in, so the server is still reading it at SIGTERM.
    let feed!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) })
    const inFlight = fetch(`${base}/api/v1/auth/dev`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    feed.enqueue(new TextEncoder().encode('{"email":"drain@'))
    await Bun.sleep(100)

    const signalled = performance.now()
    proc.kill('SIGTERM')
    let sawDraining = false
    for (let i = 0; i < 40 && !sawDraining; i++) {
      const r = await fetch(`${base}/health/ready`).catch(() => undefined)
      if (r?.status === 503) sawDraining = (await r.json()).status === 'unavailable'
      else await Bun.sleep(10)
    }
    expect(sawDraining).toBe(true)
    expect((await fetch(`${base}/health/live`)).status).toBe(200)

    feed.enqueue(new TextEncoder().encode('example.com"}'))
    feed.close()
    const answered = await inFlight
    expect(answered.status).toBe(200)
    expect((await answered.json()).success).toBe(true)

    const code = await proc.exited
    const tookMs = performance.now() - signalled
    expect(code).toBe(0)
    expect(tookMs).toBeLessThan(SHUTDOWN_BOUND_MS)
    // once stopped, nothing listens any more
    expect(await fetch(`${base}/health/live`).then(() => 'answered', () => 'refused')).toBe('refused')

    const lines = (await stdout).trim().split('\n')
    const logs = lines.map((l) => JSON.parse(l) as { level: string; msg: string; node?: string })
    const msgs = logs.map((l) => l.msg)
    expect(msgs).toContain('listening')
    expect(msgs.indexOf('shutting down')).toBeLessThan(msgs.lastIndexOf('stopped'))
    expect(logs.every((l) => l.node === 'drain-test')).toBe(true)
    expect(await stderr).toBe('')
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL')
  }
}, 60_000)
