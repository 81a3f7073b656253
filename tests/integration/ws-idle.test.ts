/**
 * Idle sockets are pinged and closed when dead: with the idle timeout cut to
 * 4 s (the socket layer's timer granularity; 30 s in production), a peer that
 * never answers pings is pinged after one timeout and closed after two, while
 * a normal client (which answers pings by itself) stays connected through the
 * same silence.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { type TestKiln, startKiln } from '../harness'
import { connected, signIn, wsUrl } from './ws-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln({ listen: true, given: { websocket: { idleTimeout: 4 } } })
})
afterAll(() => k.close())

test('a peer that never answers pings is closed; a live client stays through the same silence', async () => {
  const dead = await signIn(k, 'idle-dead@example.com')
  const live = await signIn(k, 'idle-live@example.com')
  const port = Number(new URL(k.url).port)
  const socket = connect({ host: '127.0.0.1', port })
  let received = Buffer.alloc(0)
  let ended = false
  socket.on('data', (d) => {
    received = Buffer.concat([received, d])
  })
  socket.on('close', () => {
    ended = true
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(
    `GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${dead.cookie}\r\n\r\n`,
  )
  const client = await connected(wsUrl(k), { cookie: live.cookie, origin: k.url })
  let clientClosed = false
  client.closed.then(() => {
    clientClosed = true
  })

  const started = Date.now()
  while (!ended && Date.now() < started + 14_000) await Bun.sleep(50)
  const tookMs = Date.now() - started
  expect(received.toString('latin1')).toContain('101 Switching Protocols')
  // The server pinged the silent peer (opcode 0x9) before giving up on it.
  const frames = received.subarray(received.indexOf('\r\n\r\n') + 4)
  expect(frames.includes(0x89)).toBe(true)
  expect(ended).toBe(true)
  expect(tookMs).toBeGreaterThan(3000) // not before it had been silent for a whole timeout
  expect(k.kiln.services.sockets.socketsOf(dead.id)).toBe(0)

  expect(clientClosed).toBe(false)
  expect(k.kiln.services.sockets.socketsOf(live.id)).toBe(1)
  client.send({ type: 'ping', requestId: 'still-here' })
  await client.waitFor((m) => m.type === 'pong' && m.data.requestId === 'still-here')
  client.close()
  socket.destroy()
}, 20_000)
