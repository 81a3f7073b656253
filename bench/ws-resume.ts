/**
 * Resume benchmark (`bun run bench:ws-resume`): time from reconnecting to
 * having received 1,000 events missed while away (connect, hello, `resume`,
 * replay), against two baselines from the same run: a bare reconnect
 * (connect, hello, resume with nothing missed, pong) and the same 1,000 events
 * delivered live on an open socket. Kiln is the bench node (buildKiln, real
 * gateway) with a test-only event source appending to services.eventLog;
 * server on core 0, this client on core 1.
 */
import { join } from 'node:path'
import { benchDatabase } from './lib/kiln-bench'
import { ROOT, pinned } from './lib/process'
import { spawnLines } from './ws-proc'

const RUNS = Number(process.env.BENCH_RUNS ?? 20)
const MISSED = 1000

if (!process.env.BENCH_PINNED && Bun.which('taskset')) {
  const p = Bun.spawn(['taskset', '-c', '1', 'bun', import.meta.path], { env: { ...process.env, BENCH_PINNED: '1' }, stdout: 'inherit', stderr: 'inherit' })
  process.exit(await p.exited)
}

const db = await benchDatabase('wsresume')
const srv = spawnLines(pinned('0', ['bun', join(ROOT, 'bench/ws-kiln-server.ts')]), { DATABASE_URL: db.url, BENCH_USERS: '1' })

type Msg = { id: string; type: string; data: Record<string, unknown> }
function open(port: number, token: string, onMsg: (m: Msg) => void): Promise<{ ws: WebSocket; hello: Msg }> {
  return new Promise((resolve, reject) => {
    const ws = new (WebSocket as unknown as new (u: string, o: unknown) => WebSocket)(`ws://127.0.0.1:${port}/api/v1/ws`, {
      headers: { authorization: `Bearer ${token}` },
    })
    let hello: Msg | undefined
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data as string) as Msg
      if (!hello && m.type === 'hello') {
        hello = m
        return resolve({ ws, hello })
      }
      onMsg(m)
    }
    ws.onerror = () => reject(new Error('socket failed'))
  })
}
function closeWs(ws: WebSocket): Promise<void> {
  return new Promise((r) => {
    ws.onclose = () => r()
    ws.close()
  })
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!

try {
  const [, portText, tokensPath] = (await srv.next('ready')).split(' ')
  const port = Number(portText)
  const [token] = (await Bun.file(tokensPath!).json()) as string[]
  const replay: number[] = []
  const bare: number[] = []
  const live: number[] = []
  let last = '0-0'
  for (let run = 0; run < RUNS; run++) {
    // Missed while away: append 1,000, then reconnect and resume.
    srv.send(`append 0 ${MISSED}`)
    const newest = (await srv.next('appended')).split(' ')[1]!
    let got = 0
    let done!: () => void
    const all = new Promise<void>((r) => (done = r))
    const t0 = performance.now()
    const { ws } = await open(port, token!, (m) => {
      if (m.type === 'quota.updated' && ++got === MISSED) done()
    })
    ws.send(JSON.stringify({ type: 'resume', lastEventId: last }))
    await all
    replay.push(performance.now() - t0)
    last = newest
    // Live baseline on the same open socket: 1,000 appended now, timed from the first to the last arrival.
    let first = 0
    let n = 0
    const liveDone = new Promise<void>((r) => (done = r))
    ws.onmessage = (e) => {
      if (n++ === 0) first = performance.now()
      last = JSON.parse(e.data as string).id
      if (n === MISSED) done()
    }
    srv.send(`append 0 ${MISSED}`)
    await liveDone
    live.push(performance.now() - first)
    await srv.next('appended')
    await closeWs(ws)
    // Bare reconnect: nothing missed.
    const t1 = performance.now()
    let pong!: () => void
    const ponged = new Promise<void>((r) => (pong = r))
    const b = await open(port, token!, (m) => m.type === 'pong' && pong())
    b.ws.send(JSON.stringify({ type: 'resume', lastEventId: last }))
    b.ws.send(JSON.stringify({ type: 'ping' }))
    await ponged
    bare.push(performance.now() - t1)
    await closeWs(b.ws)
  }
  const f = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms`
  console.log(`ws resume: ${RUNS} runs, ${MISSED} missed events each; server cpu 0, client cpu 1`)
  console.log('kiln: bench node (buildKiln, real gateway and auth) with a test-only event source appending to services.eventLog')
  console.log(`reconnect + replay ${MISSED} missed events: ${f(replay)}`)
  console.log(`baseline, bare reconnect (connect, hello, resume, pong): ${f(bare)}`)
  console.log(`baseline, ${MISSED} events delivered live (first to last): ${f(live)}`)
} finally {
  await srv.stop()
  await db.drop()
}
