import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { TokenBucket } from '../../src/actors/token-bucket'

/**
 * Reference model: the same policy in exact integer arithmetic. One token is
 * `windowMs` units; the bucket holds `capacity * windowMs` units and gains
 * `capacity` units per millisecond.
 */
class ExactBucket {
  private units: number
  private at: number
  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
    now: number,
  ) {
    this.units = capacity * windowMs
    this.at = now
  }
  take(now: number): boolean {
    if (now > this.at) {
      this.units = Math.min(this.capacity * this.windowMs, this.units + (now - this.at) * this.capacity)
      this.at = now
    }
    if (this.units >= this.windowMs) {
      this.units -= this.windowMs
      return true
    }
    return false
  }
}

const arrivals = fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 300 })

test('decisions match the exact reference model for any arrival pattern', () => {
  fc.assert(
    fc.property(fc.constantFrom(10, 60, 300), arrivals, (capacity, gaps) => {
      const real = new TokenBucket(capacity, 60_000, 0)
      const model = new ExactBucket(capacity, 60_000, 0)
      let now = 0
      for (const gap of gaps) {
        now += gap
        const d = real.take(now)
        expect(d.allowed).toBe(model.take(now))
        expect(d.remaining).toBeGreaterThanOrEqual(0)
        expect(d.remaining).toBeLessThanOrEqual(capacity)
        if (!d.allowed) expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1)
      }
    }),
    { numRuns: 300 },
  )
})

test('never admits more than capacity plus the refill of the window', () => {
  fc.assert(
    fc.property(arrivals, (gaps) => {
      const capacity = 10
      const b = new TokenBucket(capacity, 60_000, 0)
      const admitted: number[] = []
      let now = 0
      for (const gap of gaps) {
        now += gap % 3000
        if (b.take(now).allowed) admitted.push(now)
      }
      // In any span of T ms at most capacity + T·capacity/60000 requests get through.
      for (let i = 0; i < admitted.length; i++)
        for (let j = i; j < admitted.length; j++) {
          const span = admitted[j]! - admitted[i]!
          expect(j - i + 1).toBeLessThanOrEqual(capacity + Math.floor((span * capacity) / 60_000) + 1)
        }
    }),
    { numRuns: 100 },
  )
})

test('free tier: 10 at once, the 11th waits about six seconds', () => {
  const b = new TokenBucket(10, 60_000, 0)
  for (let i = 0; i < 10; i++) expect(b.take(0).allowed).toBe(true)
  const denied = b.take(0)
  expect(denied).toMatchObject({ allowed: false, remaining: 0, limit: 10, retryAfterSeconds: 6, resetSeconds: 60 })
  expect(b.take(5_999).allowed).toBe(false)
  expect(b.take(6_000).allowed).toBe(true)
})

test('a tier upgrade resizes the bucket keeping the used share', () => {
  const b = new TokenBucket(10, 60_000, 0)
  for (let i = 0; i < 5; i++) b.take(0)
  b.resize(60, 0)
  expect(b.take(0).remaining).toBe(29)
})
