/**
 * Bench-only Kiln node for the socket benchmarks: the real app built by
 * `buildKiln` (real gateway, real auth, PostgreSQL), with a test-only event
 * source that appends straight to `services.eventLog` (no generations run).
 * Driven over stdin, one command a line; answers one line each.
 *   emit <eventsPerSecond|0 = as fast as possible> <seconds>  → "emitted <n>"
 *   append <userIndex> <n>                                    → "appended <lastId>"
 *   rss                                                       → "rss <bytes> sockets <n>"
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config'
import { createLogger } from '../src/lib/logger'
import { buildKiln } from '../src/main'

const users = Number(process.env.BENCH_USERS ?? 2500)
const tokensPath = process.env.BENCH_TOKENS ?? join(tmpdir(), `kiln-ws-tokens-${process.pid}.json`)
const config = loadConfig({ ...process.env, LOG_LEVEL: 'error', NODE_NAME: 'bench', DATA_DIR: process.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'kiln-wsb-')) })
const kiln = await buildKiln(config, createLogger('error'))
const { services } = kiln

const ids: string[] = []
const tokens: string[] = []
for (let i = 0; i < users; i += 100) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(100, users - i) }, (_, j) => services.users.upsertByEmail(`ws-bench-${i + j}@example.com`, { tier: 'pro' })),
  )
  for (const u of batch) {
    ids.push(u.id)
    tokens.push((await services.accessTokens.sign(u.id, 'pro', undefined, 3600)).token)
  }
}
await Bun.write(tokensPath, JSON.stringify(tokens))
kiln.app.listen({ port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' })
console.log(`ready ${kiln.app.server?.port} ${tokensPath}`)

const now = () => performance.timeOrigin + performance.now()
let seq = 0
/** 64 jobs per user, each well under the 5/s progress throttle even in overload, so the throttle never hides fan-out cost. */
function appendOne() {
  const n = seq++
  const u = n % users
  const job = Math.floor(n / users) % 64
  void services.eventLog.append(ids[u]!, 'generation.progress', {
    id: `gen_bench_${u}_${job}`,
    status: 'generating',
    stage: 'generating',
    progress: n % 100,
    etaSeconds: 1,
    sentAt: now(),
  })
}

async function emit(rate: number, seconds: number): Promise<number> {
  const start = performance.now()
  const end = start + seconds * 1000
  let sent = 0
  while (performance.now() < end) {
    // At most 1,000 a tick: a server that falls behind shows it as a lower achieved rate, not as a multi-second burst.
    const due = rate > 0 ? Math.min(1000, Math.floor(((performance.now() - start) / 1000) * rate) - sent) : 500
    for (let i = 0; i < due; i++) appendOne()
    sent += Math.max(0, due)
    // Timers fire late on a busy loop; setImmediate keeps the offered rate honest, a short sleep avoids spinning when idle.
    await (due > 0 ? new Promise((r) => setImmediate(r)) : Bun.sleep(1))
  }
  return sent
}

for await (const line of console) {
  const [cmd, a = '0', b = '0'] = line.trim().split(/\s+/)
  if (cmd === 'emit') console.log(`emitted ${await emit(Number(a), Number(b))}`)
  else if (cmd === 'append') {
    let last = ''
    for (let i = 0; i < Number(b); i++) last = (await services.eventLog.append(ids[Number(a)]!, 'quota.updated', { i, sentAt: now() })).id
    console.log(`appended ${last}`)
  } else if (cmd === 'rss') console.log(`rss ${process.memoryUsage.rss()} sockets ${services.sockets.size}`)
  else if (cmd === 'quit') break
}
services.sockets.closeAll()
await kiln.app.stop(true)
await kiln.stop()
process.exit(0)
