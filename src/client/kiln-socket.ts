/**
 * A small typed client of Kiln's socket protocol, for browsers and Bun (no
 * Node-only APIs): connects with a ticket, bearer token or cookie, reconnects
 * with exponential backoff and jitter, resumes from the last event it saw,
 * drops anything it has already seen, and turns `generate`/`cancel`/`ping`
 * into promises settled by the matching `ack`/`error`/`pong`.
 */
import { CLOSE, FINAL_CLOSE_CODES } from '../transport/ws/close-codes'
import type { AckData, ErrorData, HelloData, PongData, ServerEvents, ServerEventType, ServerMessage } from '../transport/ws/protocol'
import type { GenerationInput } from '../domain/generations/input'

export { CLOSE }
export type { AckData, ErrorData, HelloData, PongData, ServerEvents, ServerEventType, ServerMessage }

export interface KilnSocketOptions {
  /** `ws(s)://host/api/v1/ws` or the server's `http(s)://` base URL. */
  url: string
  /** Bearer access token or API key (Bun only: browsers cannot set socket headers). */
  token?: string | (() => string | Promise<string>)
  /** Fetches a fresh one-time ticket before every connect (browsers without a same-origin cookie). */
  ticket?: () => Promise<string>
  /** A `Cookie` header (Bun only; browsers send their own cookie). */
  cookie?: string
  /** Resume after this event id on the first connect. */
  lastEventId?: string
  reconnect?: { enabled?: boolean; baseDelayMs?: number; maxDelayMs?: number }
  /** Default wait for an `ack`/`pong`. */
  requestTimeoutMs?: number
}

export type SocketState = 'idle' | 'connecting' | 'open' | 'closed'

/** A request the server answered with an `error` (or that could not be sent). */
export class KilnSocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

type Handler<K extends string> = (data: K extends ServerEventType ? ServerEvents[K] : Record<string, unknown>, message: ServerMessage<K>) => void

const isLogId = (id: string) => /^\d{1,16}-\d{1,10}$/.test(id)
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am - bm || as - bs
}

interface Pending {
  resolve(v: unknown): void
  reject(e: Error): void
  timer: ReturnType<typeof setTimeout>
}

export class KilnSocket {
  state: SocketState = 'idle'
  /** The last log event delivered to handlers; `resume` continues after it. */
  lastEventId: string | undefined
  hello: HelloData | undefined
  /** Counters for tests and diagnostics. */
  readonly stats = { connects: 0, reconnects: 0, duplicatesDropped: 0 }
  private ws: WebSocket | undefined
  private readonly handlers = new Map<string, Set<Handler<string>>>()
  private readonly pending = new Map<string, Pending>()
  private readonly openWaiters = new Set<() => void>()
  private attempt = 0
  private stopped = false
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly opts: KilnSocketOptions) {
    this.lastEventId = opts.lastEventId
  }

  /** Subscribes to one message type (or `*` for all); returns the unsubscribe function. */
  on<K extends ServerEventType | (string & {})>(type: K | '*', handler: Handler<K>): () => void {
    let set = this.handlers.get(type)
    if (!set) this.handlers.set(type, (set = new Set()))
    set.add(handler as Handler<string>)
    return () => set.delete(handler as Handler<string>)
  }

  /** Connects (and keeps reconnecting until `close()`); resolves with the first `hello`. */
  connect(): Promise<HelloData> {
    this.stopped = false
    const hello = new Promise<HelloData>((resolve, reject) => {
      const offHello = this.on('hello', (d) => {
        offHello()
        offClose()
        resolve(d)
      })
      const offClose = this.on('close', (d) => {
        offHello()
        offClose()
        reject(new KilnSocketError('CLOSED', `socket closed before hello (${String(d.code)})`, d))
      })
    })
    void this.open()
    return hello
  }

  private async open() {
    if (this.stopped) return
    this.state = 'connecting'
    const url = new URL(this.opts.url.replace(/^http/, 'ws'))
    if (!url.pathname.endsWith('/api/v1/ws')) url.pathname = `${url.pathname.replace(/\/$/, '')}/api/v1/ws`
    const headers: Record<string, string> = {}
    try {
      if (this.opts.ticket) url.searchParams.set('ticket', await this.opts.ticket())
      const token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token
      if (token) headers.authorization = `Bearer ${token}`
      if (this.opts.cookie) headers.cookie = this.opts.cookie
    } catch (err) {
      this.emit('close', { code: 0, reason: `credentials: ${(err as Error).message}` })
      return this.scheduleReconnect()
    }
    // Bun takes headers as a second argument; browsers have no such option.
    const Ctor = WebSocket as unknown as new (u: string, o?: unknown) => WebSocket
    const ws = Object.keys(headers).length > 0 ? new Ctor(url.toString(), { headers }) : new Ctor(url.toString())
    this.ws = ws
    this.stats.connects++
    ws.onmessage = (ev) => this.receive(typeof ev.data === 'string' ? ev.data : '')
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = undefined
      const wasOpen = this.state === 'open'
      this.state = 'closed'
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer)
        p.reject(new KilnSocketError('DISCONNECTED', 'socket closed before the answer arrived'))
        this.pending.delete(id)
      }
      this.emit('close', { code: ev.code, reason: ev.reason, wasOpen })
      if (!FINAL_CLOSE_CODES.has(ev.code)) this.scheduleReconnect()
    }
  }

  private scheduleReconnect() {
    const r = this.opts.reconnect ?? {}
    if (this.stopped || r.enabled === false) return
    const base = r.baseDelayMs ?? 250
    const max = r.maxDelayMs ?? 15_000
    // Exponential backoff with "equal jitter": half fixed, half random, so a node's clients do not return in lockstep.
    const ceiling = Math.min(max, base * 2 ** this.attempt++)
    const delay = ceiling / 2 + Math.random() * (ceiling / 2)
    this.timer = setTimeout(() => {
      this.stats.reconnects++
      void this.open()
    }, delay)
  }

  private receive(text: string) {
    let msg: ServerMessage
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    if (isLogId(msg.id)) {
      // Never hand a handler the same event twice, whatever the network did.
      if (this.lastEventId && isLogId(this.lastEventId) && compareIds(msg.id, this.lastEventId) <= 0) {
        this.stats.duplicatesDropped++
        return
      }
      this.lastEventId = msg.id
    }
    switch (msg.type) {
      case 'hello': {
        const hello = msg.data as HelloData
        this.hello = hello
        this.state = 'open'
        this.attempt = 0
        const from = this.lastEventId ?? hello.latestEventId ?? '0-0'
        this.send({ type: 'resume', lastEventId: from })
        if (!this.lastEventId) this.lastEventId = from
        for (const w of this.openWaiters) w()
        this.openWaiters.clear()
        break
      }
      case 'resync':
        this.lastEventId = (msg.data as { latestEventId: string | null }).latestEventId ?? '0-0'
        break
      case 'ack':
      case 'pong':
        this.settle((msg.data as { requestId?: string }).requestId, msg.data)
        break
      case 'error': {
        const e = msg.data as ErrorData
        if (e.requestId) this.settle(e.requestId, undefined, new KilnSocketError(e.code, e.message, e.details))
        break
      }
    }
    this.emit(msg.type, msg.data, msg)
  }

  private settle(requestId: string | undefined, value: unknown, error?: Error) {
    const p = requestId ? this.pending.get(requestId) : undefined
    if (!p || !requestId) return
    this.pending.delete(requestId)
    clearTimeout(p.timer)
    if (error) p.reject(error)
    else p.resolve(value)
  }

  private emit(type: string, data: unknown, message?: ServerMessage) {
    for (const key of [type, '*'])
      for (const h of this.handlers.get(key) ?? []) {
        try {
          h(data as never, (message ?? { v: 1, id: '', type, ts: new Date().toISOString(), data }) as never)
        } catch (err) {
          console.error('kiln socket handler failed', err)
        }
      }
  }

  /** Sends a raw protocol message (false when not connected). */
  send(message: { type: string } & Record<string, unknown>): boolean {
    if (this.ws?.readyState !== 1) return false
    this.ws?.send(JSON.stringify(message))
    return true
  }

  private async request<T>(message: { type: string } & Record<string, unknown>, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<T> {
    if (this.state !== 'open') await this.whenOpen(timeoutMs)
    const requestId = (message.requestId as string | undefined) ?? crypto.randomUUID()
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId)
        reject(new KilnSocketError('TIMEOUT', `no answer to ${message.type} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject, timer })
      if (!this.send({ ...message, requestId })) this.settle(requestId, undefined, new KilnSocketError('NOT_CONNECTED', 'socket is not open'))
    })
  }

  private whenOpen(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.openWaiters.delete(done)
        reject(new KilnSocketError('NOT_CONNECTED', 'socket did not open in time'))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      this.openWaiters.add(done)
    })
  }

  /** Asks for a generation; resolves with the `ack` (its `id` is the generation id). */
  generate(input: GenerationInput, opts: { requestId?: string; timeoutMs?: number } = {}): Promise<AckData> {
    return this.request<AckData>({ type: 'generate', input, ...(opts.requestId ? { requestId: opts.requestId } : {}) }, opts.timeoutMs)
  }

  /** Cancels a generation; resolves once the server accepted the cancel. */
  cancel(id: string, opts: { timeoutMs?: number } = {}): Promise<AckData> {
    return this.request<AckData>({ type: 'cancel', id }, opts.timeoutMs)
  }

  ping(opts: { timeoutMs?: number } = {}): Promise<PongData> {
    return this.request<PongData>({ type: 'ping' }, opts.timeoutMs)
  }

  /** Drops the connection without stopping (as a network failure would); it reconnects and resumes. */
  drop() {
    this.ws?.close(CLOSE.NORMAL, 'dropped')
  }

  /** Closes for good: no reconnect. */
  close() {
    this.stopped = true
    clearTimeout(this.timer)
    this.ws?.close(CLOSE.NORMAL, 'client closed')
  }
}
