/**
 * Socket load generator (run pinned to its own core): opens `--sockets`
 * connections spread over `--users` users to Kiln (bearer tokens) or to the
 * Socket.IO baseline, then counts delivered events and their end-to-end
 * latency from the `sentAt` in each payload. Driven over stdin:
 *   reset → "reset"; report → one JSON line; quit.
 */
import { io, type Socket } from 'socket.io-client'

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')) as [string, string][])
const kind = args.kind as 'kiln' | 'socketio'
const port = Number(args.port)
const users = Number(args.users ?? 2500)
const total = Number(args.sockets ?? 10_000)
const tokens: string[] = kind === 'kiln' ? await Bun.file(args.tokens!).json() : []
const BATCH = 250

let received = 0
let latencies: number[] = []
let windowStart = performance.now()
const now = () => performance.timeOrigin + performance.now()

function record(sentAt: number) {
  received++
  // Keep a bounded sample: every event up to 200k, then every 10th.
  if (latencies.length < 200_000 || received % 10 === 0) latencies.push(now() - sentAt)
}

function sentAtOf(text: string): number {
  const at = text.lastIndexOf('"sentAt":')
  return at < 0 ? Number.NaN : Number.parseFloat(text.slice(at + 9))
}

const kilnSockets: WebSocket[] = []
const sioSockets: Socket[] = []

function openKiln(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new (WebSocket as unknown as new (u: string, o: unknown) => WebSocket)(`ws://127.0.0.1:${port}/api/v1/ws`, {
      headers: { authorization: `Bearer ${tokens[i % users]}` },
    })
    let hello = false
    ws.onmessage = (ev) => {
      const text = ev.data as string
      if (!hello) {
        hello = true
        const latest = JSON.parse(text).data.latestEventId ?? '0-0'
        ws.send(JSON.stringify({ type: 'resume', lastEventId: latest }))
        return resolve()
      }
      if (text.charCodeAt(text.length - 1) === 125) {
        const t = sentAtOf(text)
        if (!Number.isNaN(t)) record(t)
      }
    }
    ws.onerror = () => reject(new Error(`socket ${i} failed`))
    kilnSockets.push(ws)
  })
}

function openSocketIo(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], query: { u: String(i % users) }, reconnection: false, forceNew: true })
    s.on('connect', () => resolve())
    s.on('connect_error', (e) => reject(e))
    s.on('event', (msg: { data: { sentAt: number } }) => record(msg.data.sentAt))
    sioSockets.push(s)
  })
}

const t0 = performance.now()
for (let i = 0; i < total; i += BATCH) {
  const batch = []
  for (let j = i; j < Math.min(total, i + BATCH); j++) batch.push(kind === 'kiln' ? openKiln(j) : openSocketIo(j))
  await Promise.all(batch)
}
console.log(`connected ${total} ${Math.round(performance.now() - t0)}`)

function pct(sorted: number[], p: number) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN
}

for await (const line of console) {
  const cmd = line.trim()
  if (cmd === 'reset') {
    received = 0
    latencies = []
    windowStart = performance.now()
    console.log('reset')
  } else if (cmd === 'report') {
    const seconds = (performance.now() - windowStart) / 1000
    const sorted = latencies.sort((a, b) => a - b)
    const open = kind === 'kiln' ? kilnSockets.filter((w) => w.readyState === 1).length : sioSockets.filter((s) => s.connected).length
    console.log(JSON.stringify({ received, perSecond: Math.round(received / seconds), p50: pct(sorted, 50), p99: pct(sorted, 99), open }))
  } else if (cmd === 'quit') break
}
for (const w of kilnSockets) w.close()
for (const s of sioSockets) s.close()
process.exit(0)
