/**
 * Fan-out benchmark (`bun run bench:ws`): 10,000 sockets across 2,500 users,
 * events appended to the users' logs at 20,000/s in total, then as fast as the
 * server can (overload). Kiln (bench node with a test-only event source that
 * appends to services.eventLog directly) next to Socket.IO 4 on Node doing the
 * same room broadcast, in the same run; server on core 0, load on core 1.
 */
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { benchDatabase } from './lib/kiln-bench'
import { ROOT, pinned } from './lib/process'
import { spawnLines } from './ws-proc'

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 10_000)
const USERS = Number(process.env.BENCH_USERS ?? 2500)
/** The target rate, and a lighter one to show latency when the server is not saturated. */
const RATES = (process.env.BENCH_RATES ?? '20000,5000,1000').split(',').map(Number)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const OVERLOAD_SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 5)

interface Window {
  rate: number
  emitted: number
  perSecond: number
  p50: number
  p99: number
  open: number
}

interface Result {
  name: string
  connectMs: number
  rssIdleMb: number
  rssConnectedMb: number
  rssMb: number
  steady: Window[]
  overload: Window
}

const mb = (line: string) => Math.round(Number(line.split(' ')[1]) / 1024 / 1024)

async function run(name: string, server: string[], env: Record<string, string>, kind: 'kiln' | 'socketio'): Promise<Result> {
  const srv = spawnLines(pinned('0', server), { ...env, BENCH_USERS: String(USERS) })
  const [, port, tokens] = (await srv.next('ready')).split(' ')
  srv.send('rss')
  const rssIdle = mb(await srv.next('rss'))
  const load = spawnLines(
    pinned('1', ['bun', join(ROOT, 'bench/ws-load.ts'), `--kind=${kind}`, `--port=${port}`, `--users=${USERS}`, `--sockets=${SOCKETS}`, `--tokens=${tokens}`]),
  )
  try {
    const connectMs = Number((await load.next('connected', 300_000)).split(' ')[2])
    await Bun.sleep(1500) // every socket past its resume grace, GC settled
    srv.send('rss')
    const rssConnected = mb(await srv.next('rss'))
    srv.send('emit 2000 1') // warm-up
    await srv.next('emitted')
    const measure = async (rate: number, seconds: number) => {
      load.send('reset')
      await load.next('reset')
      srv.send(`emit ${rate} ${seconds}`)
      const emitted = Number((await srv.next('emitted', seconds * 1000 + 60_000)).split(' ')[1])
      await Bun.sleep(250)
      load.send('report')
      const r = JSON.parse(await load.next('{'))
      return { ...r, rate, emitted } as Window
    }
    const steady: Window[] = []
    for (const rate of RATES) steady.push(await measure(rate, SECONDS))
    srv.send('rss')
    const rss = mb(await srv.next('rss'))
    const overload = await measure(0, OVERLOAD_SECONDS)
    return { name, connectMs, rssIdleMb: rssIdle, rssConnectedMb: rssConnected, rssMb: rss, steady, overload }
  } finally {
    await load.stop()
    await srv.stop()
  }
}

const db = await benchDatabase('ws')
try {
  console.log(`ws fan-out: ${SOCKETS} sockets, ${USERS} users, ${RATES.join(' and ')} events/s for ${SECONDS} s each, then overload ${OVERLOAD_SECONDS} s; server cpu 0, load cpu 1`)
  console.log(`machine load average at start (other work shares these cores): ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
  console.log('kiln: bench node (buildKiln, real gateway and auth, PostgreSQL) with a test-only event source appending to services.eventLog')
  const kiln = await run('kiln (bun, elysia .ws)', ['bun', join(ROOT, 'bench/ws-kiln-server.ts')], { DATABASE_URL: db.url }, 'kiln')
  const sio = await run('socket.io 4 (node 20)', ['/usr/bin/node', join(ROOT, 'bench/baselines/socketio-server.cjs')], {}, 'socketio')
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-')
  console.log('\n| server | window | offered events/s | achieved events/s | delivered msgs/s | p50 ms | p99 ms | sockets open |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const r of [kiln, sio])
    for (const [label, w, secs] of [...r.steady.map((w) => ['steady', w, SECONDS] as const), ['overload', r.overload, OVERLOAD_SECONDS] as const])
      console.log(
        `| ${r.name} | ${label} | ${w.rate || 'max'} | ${Math.round(w.emitted / secs)} | ${w.perSecond} | ${f(w.p50)} | ${f(w.p99)} | ${w.open} |`,
      )
  console.log('\n| server | connect all (ms) | RSS before sockets (MB) | RSS, sockets connected and idle (MB) | RSS after the steady windows (MB) |\n|---|---|---|---|---|')
  for (const r of [kiln, sio]) console.log(`| ${r.name} | ${r.connectMs} | ${r.rssIdleMb} | ${r.rssConnectedMb} | ${r.rssMb} |`)
  console.log(`\noverload ratio kiln / socket.io: ${(kiln.overload.perSecond / sio.overload.perSecond).toFixed(2)}x`)
  console.log(JSON.stringify({ kiln, socketio: sio }))
} finally {
  await db.drop()
}
