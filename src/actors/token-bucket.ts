/**
 * A token bucket: `capacity` requests at once, refilled continuously at
 * capacity per `windowMs`. Pure state + arithmetic, owned by one session actor.
 */
export interface RateDecision {
  allowed: boolean
  limit: number
  /** Whole tokens left after this request. */
  remaining: number
  /** Seconds until the bucket is full again. */
  resetSeconds: number
  /** Seconds until one token is available (only meaningful when denied). */
  retryAfterSeconds: number
  windowSeconds: number
}

export class TokenBucket {
  private tokens: number
  private updatedAt: number

  constructor(
    private capacity: number,
    private readonly windowMs = 60_000,
    now = Date.now(),
  ) {
    this.tokens = capacity
    this.updatedAt = now
  }

  private get ratePerMs() {
    return this.capacity / this.windowMs
  }

  private refill(now: number) {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.ratePerMs)
      this.updatedAt = now
    }
  }

  /** A tier change resizes the bucket, keeping the fraction already used. */
  resize(capacity: number, now = Date.now()) {
    if (capacity === this.capacity) return
    this.refill(now)
    this.tokens = (this.tokens / this.capacity) * capacity
    this.capacity = capacity
  }

  /** True when the bucket is full (nothing would be lost by forgetting it). */
  isFull(now = Date.now()): boolean {
    this.refill(now)
    return this.tokens >= this.capacity
  }

  /** Takes one token if there is one; either way reports the state for the response headers. */
  take(now = Date.now()): RateDecision {
    this.refill(now)
    // A tiny epsilon absorbs floating-point drift of the continuous refill.
    const allowed = this.tokens >= 1 - 1e-9
    if (allowed) this.tokens = Math.max(0, this.tokens - 1)
    const rate = this.ratePerMs
    return {
      allowed,
      limit: this.capacity,
      remaining: Math.floor(this.tokens + 1e-9),
      resetSeconds: Math.ceil((this.capacity - this.tokens) / rate / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / rate / 1000)),
      windowSeconds: Math.round(this.windowMs / 1000),
    }
  }
}
