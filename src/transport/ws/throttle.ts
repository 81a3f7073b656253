/**
 * Per-job throttle of `generation.progress` at the gateway (the log keeps
 * every event). Decisions use the event's own time (from its `<ms>-<seq>` id),
 * not the wall clock, so a replay from the log thins out the same way.
 */
import type { KilnEvent } from '../../adapters/coordination/bus'

const TERMINAL = new Set(['generation.completed', 'generation.failed', 'generation.cancelled'])
/** Jobs remembered at most; a user rarely has more than a handful running. */
const MAX_JOBS = 256

export class ProgressThrottle {
  private readonly last = new Map<string, { at: number; stage: unknown }>()
  private readonly minGapMs: number

  constructor(perSecond: number) {
    this.minGapMs = 1000 / perSecond
  }

  /** Whether the event should be delivered. Everything but progress always is. */
  admit(event: KilnEvent): boolean {
    const job = event.data.id
    if (typeof job !== 'string') return true
    if (TERMINAL.has(event.type)) {
      this.last.delete(job)
      return true
    }
    if (event.type !== 'generation.progress') return true
    const at = Number.parseInt(event.id, 10)
    const { stage, progress } = event.data
    const prev = this.last.get(job)
    if (prev && prev.stage === stage && progress !== 100 && at - prev.at < this.minGapMs) return false
    if (!prev && this.last.size >= MAX_JOBS) this.last.delete(this.last.keys().next().value as string)
    this.last.set(job, { at, stage })
    return true
  }
}
