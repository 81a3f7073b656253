/**
 * The generation lifecycle as a closed union:
 *
 *   queued → analyzing → generating → finalizing → completed
 *      └──────────┴───────────┴────────────┴──→ failed | cancelled
 *
 * Progress is 0–100 and never decreases; each status owns a band of it so the
 * bar moves forward across stages whatever the provider reports.
 */
import type { GenerationStatus } from '../../adapters/db/schema/generations'

export type { GenerationStatus }
export type TerminalStatus = 'completed' | 'failed' | 'cancelled'
export type ActiveStatus = Exclude<GenerationStatus, TerminalStatus>

export const ACTIVE_STATUSES: readonly ActiveStatus[] = ['queued', 'analyzing', 'generating', 'finalizing']

/** Raises a type error when a switch over a closed union misses a member. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${String(x)}`)
}

/** True for the three statuses a job never leaves. */
export function isTerminal(s: GenerationStatus): s is TerminalStatus {
  return s === 'completed' || s === 'failed' || s === 'cancelled'
}

/** Any non-terminal job may be cancelled. */
export function canCancel(s: GenerationStatus): s is ActiveStatus {
  return !isTerminal(s)
}

/** Quota goes back to the user when a job is cancelled before the model started on it. */
export function refundsOnCancel(s: ActiveStatus): boolean {
  switch (s) {
    case 'queued':
    case 'analyzing':
      return true
    case 'generating':
    case 'finalizing':
      return false
    default:
      return assertNever(s)
  }
}

/** The progress band of each status: [first, last] percent. */
export function progressBand(s: GenerationStatus): readonly [number, number] {
  switch (s) {
    case 'queued':
      return [0, 0]
    case 'analyzing':
      return [2, 8]
    case 'generating':
      return [10, 85]
    case 'finalizing':
      return [88, 98]
    case 'completed':
      return [100, 100]
    case 'failed':
    case 'cancelled':
      return [0, 100]
    default:
      return assertNever(s)
  }
}

/** Maps a provider's 0–100 inside `generating` onto the overall bar. */
export function overallProgress(s: GenerationStatus, within: number): number {
  const [lo, hi] = progressBand(s)
  const clamped = Math.min(100, Math.max(0, Number.isFinite(within) ? within : 0))
  return Math.round(lo + ((hi - lo) * clamped) / 100)
}

/** Legal next statuses; anything else is a bug in the actor. */
export function canMove(from: GenerationStatus, to: GenerationStatus): boolean {
  switch (from) {
    case 'queued':
      return to === 'analyzing' || to === 'failed' || to === 'cancelled'
    case 'analyzing':
      return to === 'generating' || to === 'failed' || to === 'cancelled'
    case 'generating':
      return to === 'finalizing' || to === 'failed' || to === 'cancelled'
    case 'finalizing':
      return to === 'completed' || to === 'failed' || to === 'cancelled'
    case 'completed':
    case 'failed':
    case 'cancelled':
      return false
    default:
      return assertNever(from)
  }
}
