/** Socket test helpers: signed-in users and a recording WebSocket on a real port. */
import { expect } from 'bun:test'
import { type TestKiln, json } from '../harness'

export interface SignedIn {
  id: string
  cookie: string
  accessToken: string
}

export async function signIn(k: TestKiln, email: string, tier = 'pro'): Promise<SignedIn> {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email, tier } }))
  expect(r.status).toBe(200)
  return { id: r.body.data.user.id, cookie: r.headers.get('set-cookie')!.split(';')[0]!, accessToken: r.body.data.accessToken }
}

export const wsUrl = (k: TestKiln, query = '') => `${k.url.replace(/^http/, 'ws')}/api/v1/ws${query}`

/** A server message as the tests read it (data is whatever the event carries). */
// biome-ignore lint/suspicious/noExplicitAny: event data is free-form and the tests read it field by field
export type Msg = { v: number; id: string; type: string; ts: string; data: any }

/** A WebSocket that records every message and its close. */
export class Recorder {
  readonly messages: Msg[] = []
  readonly ws: WebSocket
  readonly closed: Promise<{ code: number; reason: string }>
  readonly opened: Promise<boolean>
  private waiters: (() => void)[] = []

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new (WebSocket as unknown as new (u: string, o: unknown) => WebSocket)(url, { headers })
    this.opened = new Promise((resolve) => {
      this.ws.onopen = () => resolve(true)
      this.ws.onerror = () => resolve(false)
    })
    this.closed = new Promise((resolve) => {
      this.ws.onclose = (e) => {
        resolve({ code: e.code, reason: e.reason })
        for (const w of this.waiters) w()
      }
    })
    this.ws.onmessage = (e) => {
      this.messages.push(JSON.parse(String(e.data)))
      for (const w of this.waiters) w()
    }
  }

  send(msg: unknown) {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  of(type: string) {
    return this.messages.filter((m) => m.type === type)
  }

  /** The first recorded message of a type (it must exist). */
  first(type: string): Msg {
    const m = this.messages.find((x) => x.type === type)
    if (!m) throw new Error(`no ${type} message`)
    return m
  }

  /** Resolves with the first recorded message matching `pred` (waiting up to `ms`). */
  async waitFor(pred: (m: Msg) => boolean, ms = 5000): Promise<Msg> {
    const deadline = Date.now() + ms
    for (;;) {
      const hit = this.messages.find(pred)
      if (hit) return hit
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.messages.map((m) => m.type))}`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
      this.waiters = []
    }
  }

  close() {
    this.ws.close()
  }
}

/** Opens a socket and waits for its hello. */
export async function connected(url: string, headers: Record<string, string> = {}): Promise<Recorder> {
  const r = new Recorder(url, headers)
  await r.waitFor((m) => m.type === 'hello')
  return r
}

/** The raw upgrade answer (status and body) for given credentials. */
export async function upgradeStatus(k: TestKiln, query = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${k.url}/api/v1/ws${query}`, {
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13', ...headers },
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}
