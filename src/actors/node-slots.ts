/**
 * How many jobs this node runs at once, across all users. Per-tier concurrency
 * is fairness between one user's jobs; this is capacity: without it a burst of
 * accepted jobs from many users would start thousands of renders and provider
 * watches together and starve the API. Actors that find no free slot wait in
 * line and are woken one at a time, round robin across users.
 */
export class NodeSlots {
  private used = 0
  private readonly line: (() => void)[] = []

  constructor(readonly capacity: number) {}

  get inUse() {
    return this.used
  }

  /** Takes a slot if one is free. */
  tryTake(): boolean {
    if (this.used >= this.capacity) return false
    this.used++
    return true
  }

  /** Frees a slot and wakes the next actor in line. */
  release() {
    this.used = Math.max(0, this.used - 1)
    const next = this.line.shift()
    if (next) queueMicrotask(next)
  }

  /** Asks to be called back when a slot frees up (once per wait, however often asked). */
  waitTurn(wake: () => void) {
    if (!this.line.includes(wake)) this.line.push(wake)
  }

  /** Forgets a waiter (an actor that stopped). */
  leave(wake: () => void) {
    const i = this.line.indexOf(wake)
    if (i >= 0) this.line.splice(i, 1)
  }
}
