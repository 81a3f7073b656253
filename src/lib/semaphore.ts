/**
 * A counting semaphore with a FIFO queue: caps how many CPU-heavy tasks
 * (sharp work) run at once so that they cannot starve the event loop's
 * share of the CPU. Waiters may give up through an AbortSignal.
 */
export class Semaphore {
  private active = 0
  private readonly waiters: Array<() => void> = []

  constructor(private limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`)
  }

  /** Tasks running now. */
  get running(): number {
    return this.active
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.waiters.length
  }

  get capacity(): number {
    return this.limit
  }

  /** Changes the cap; waiters start at once when it grows. */
  resize(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`)
    this.limit = limit
    this.drain()
  }

  /** Waits for a slot; the returned function releases it (calling it twice is harmless). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted()
    if (this.active < this.limit && this.waiters.length === 0) {
      this.active++
      return this.releaser()
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = () => {
        const i = this.waiters.indexOf(wake)
        if (i >= 0) this.waiters.splice(i, 1)
        reject(signal?.reason ?? new DOMException('aborted', 'AbortError'))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(wake)
    })
    return this.releaser()
  }

  /** Runs `task` inside a slot. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal)
    try {
      return await task()
    } finally {
      release()
    }
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.active--
      this.drain()
    }
  }

  // A woken waiter takes its slot here, before any later acquire() can, so the queue stays FIFO.
  private drain(): void {
    while (this.active < this.limit && this.waiters.length > 0) {
      this.active++
      this.waiters.shift()?.()
    }
  }
}
