import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { type TestKiln, startKiln } from '../harness'
import { CLOSE } from '../../src/transport/ws/close-codes'
import { connected, type SignedIn, signIn, wsUrl } from './ws-support'

let k: TestKiln
let slow: SignedIn
let fast: SignedIn
beforeAll(async () => {
  k = await startKiln({ listen: true })
  slow = await signIn(k, 'slow@example.com')
  fast = await signIn(k, 'fast@example.com')
})
afterAll(() => k.close())

/** A raw WebSocket over TCP that can stop reading, which no WebSocket API allows. */
async function rawSocket(cookie: string): Promise<{ socket: Socket; received: () => Buffer }> {
  const port = Number(new URL(k.url).port)
  const socket = connect({ host: '127.0.0.1', port })
  let buf = Buffer.alloc(0)
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d])
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(
    `GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${cookie}\r\n\r\n`,
  )
  const deadline = Date.now() + 5000
  while (!buf.includes('"hello"') && Date.now() < deadline) await Bun.sleep(10)
  socket.write(maskedText('{"type":"ping"}')) // goes live at once instead of after the grace period
  return { socket, received: () => buf }
}

/** A client → server text frame (clients must mask). */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text)
  const mask = Buffer.from([1, 2, 3, 4])
  const head = Buffer.from([0x81, 0x80 | payload.length])
  return Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))])
}

/** The close code in the server's frames after the HTTP handshake, if any. */
function closeCodeIn(buf: Buffer): number | undefined {
  let i = buf.indexOf('\r\n\r\n') + 4
  while (i + 2 <= buf.length) {
    const opcode = buf[i]! & 0x0f
    let len = buf[i + 1]! & 0x7f
    let at = i + 2
    if (len === 126) {
      len = buf.readUInt16BE(at)
      at += 2
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(at))
      at += 8
    }
    if (at + len > buf.length) return undefined
    if (opcode === 0x8) return buf.readUInt16BE(at)
    i = at + len
  }
  return undefined
}

test('a client that stops reading is closed with 4009 once its buffer passes 1 MiB, without slowing another user', async () => {
  const reader = await rawSocket(slow.cookie)
  reader.socket.pause()
  const other = await connected(wsUrl(k), { cookie: fast.cookie })
  other.send({ type: 'ping' })
  await other.waitFor((m) => m.type === 'pong')
  const log = k.kiln.services.eventLog
  const blob = 'x'.repeat(16 * 1024)
  const latencies: number[] = []
  // Enough to fill the kernel's loopback buffers and then the server's 1 MiB; bounded in count and time.
  const deadline = Date.now() + 10_000
  for (let i = 0; i < 1000 && Date.now() < deadline && k.kiln.services.sockets.socketsOf(slow.id) > 0; i++) {
    await log.append(slow.id, 'quota.updated', { i, blob })
    if (i % 50 === 0) {
      const t0 = performance.now()
      const e = await log.append(fast.id, 'quota.updated', { i })
      await other.waitFor((m) => m.id === e.id)
      latencies.push(performance.now() - t0)
    }
    if (i % 20 === 0) await Bun.sleep(1)
  }
  expect(k.kiln.services.sockets.socketsOf(slow.id)).toBe(0)
  // Every delivery to the other user stays quick; the single slowest sample is left out, so one
  // scheduling hiccup of a loaded CI machine does not decide the outcome.
  expect(latencies.sort((x, y) => x - y).at(-2) ?? 0).toBeLessThan(250)
  reader.socket.resume()
  const until = Date.now() + 3000
  while (closeCodeIn(reader.received()) === undefined && Date.now() < until) await Bun.sleep(10)
  expect(closeCodeIn(reader.received())).toBe(CLOSE.SLOW_CONSUMER)
  reader.socket.destroy()
  other.send({ type: 'ping', requestId: 'after' })
  await other.waitFor((m) => m.type === 'pong' && m.data.requestId === 'after')
  other.close()
})

test('shutdown closes every socket with 1012 and refuses new upgrades with 503', async () => {
  const tabs = await Promise.all([1, 2, 3].map(() => connected(wsUrl(k), { cookie: fast.cookie })))
  // What main.ts does on SIGTERM before stopping the server.
  k.kiln.services.draining.value = true
  expect(k.kiln.services.sockets.closeAll()).toBeGreaterThanOrEqual(3)
  for (const t of tabs) expect((await t.closed).code).toBe(CLOSE.SERVICE_RESTART)
  const res = await fetch(`${k.url}/api/v1/ws`, {
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13', cookie: fast.cookie },
  })
  expect(res.status).toBe(503)
  expect((await res.json()).error.code).toBe('SERVICE_UNAVAILABLE')
})
