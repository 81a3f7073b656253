/** Shared steps of the generation tests: sign in, submit, and follow a job's events. */
import { expect } from 'bun:test'
import type { KilnEvent } from '../../src/adapters/coordination/bus'
import type { GenerationView } from '../../src/domain/generations/view'
import { type TestKiln, json } from '../harness'

export interface Signed {
  id: string
  tier: 'free' | 'pro' | 'enterprise'
  token: string
  headers: Record<string, string>
}

let n = 0
/** Signs a new user in through dev sign-in; returns bearer headers. */
export async function signIn(k: TestKiln, tier: 'free' | 'pro' | 'enterprise' = 'pro', email?: string): Promise<Signed> {
  const r = await json(k.request('/api/v1/auth/dev', { method: 'POST', json: { email: email ?? `user${++n}-${Date.now()}@example.com`, tier } }))
  expect(r.status).toBe(200)
  const token = r.body.data.accessToken as string
  return { id: r.body.data.user.id, tier, token, headers: { authorization: `Bearer ${token}` } }
}

export const basicInput = (prompt = 'a lighthouse at dusk') => ({ prompt, style: 'minimal-icon', palette: 'ocean' })

export function submit(k: TestKiln, u: Signed, input: unknown = basicInput(), headers: Record<string, string> = {}) {
  return json(k.request('/api/v1/generations', { method: 'POST', json: input, headers: { ...u.headers, ...headers } }))
}

/** Collects a user's events from the log as they are appended. */
export function recordEvents(k: TestKiln, userId: string) {
  const events: KilnEvent[] = []
  const stop = k.kiln.services.eventLog.subscribe(userId, (e) => events.push(e))
  return {
    events,
    stop,
    of: (id: string) => events.filter((e) => e.data.id === id),
    /** Resolves with the first event matching `pred` (already seen or future), or rejects after `ms`. */
    waitFor(pred: (e: KilnEvent) => boolean, ms = 10_000): Promise<KilnEvent> {
      const seen = events.find(pred)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off()
          reject(new Error(`event not seen within ${ms} ms; got ${events.map((e) => `${e.type}:${e.data.status ?? ''}`).join(', ')}`))
        }, ms)
        const off = k.kiln.services.eventLog.subscribe(userId, (e) => {
          if (!pred(e)) return
          clearTimeout(timer)
          off()
          resolve(e)
        })
      })
    },
  }
}

const TERMINAL = new Set(['generation.completed', 'generation.failed', 'generation.cancelled'])

/** Polls a job through the service (not HTTP, so the per-minute limit is untouched) until it is terminal. */
export async function untilTerminal(k: TestKiln, u: Signed, id: string, ms = 15_000): Promise<GenerationView> {
  const end = Date.now() + ms
  for (;;) {
    const g = await k.kiln.services.generations.get({ id: u.id, tier: 'enterprise' }, id)
    if (['completed', 'failed', 'cancelled'].includes(g.status)) return g
    if (Date.now() > end) throw new Error(`job ${id} still ${g.status} after ${ms} ms`)
    await Bun.sleep(20)
  }
}

export const isTerminalEvent = (e: KilnEvent) => TERMINAL.has(e.type)
