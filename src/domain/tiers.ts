/** Fair-use limits per tier (DESIGN.md "Tiers"). `null` means unlimited. */
import type { Tier } from '../adapters/db/schema'

export interface TierLimits {
  requestsPerMinute: number
  generationsPerDay: number | null
  batchSize: number
  concurrentJobs: number
  /** Jobs that may wait in the actor's mailbox beyond those running; past it → 429. */
  mailboxLength: number
  /** Largest output size the tier may ask for. */
  maxSize: '1K' | '2K' | '4K'
  /** Uploads per minute. */
  uploadsPerMinute: number
}

export const TIER_LIMITS: Record<Tier, TierLimits> = {
  free: { requestsPerMinute: 10, generationsPerDay: 25, batchSize: 5, concurrentJobs: 1, mailboxLength: 10, maxSize: '1K', uploadsPerMinute: 10 },
  pro: { requestsPerMinute: 60, generationsPerDay: 500, batchSize: 50, concurrentJobs: 4, mailboxLength: 100, maxSize: '2K', uploadsPerMinute: 60 },
  enterprise: {
    requestsPerMinute: 300,
    generationsPerDay: null,
    batchSize: 500,
    concurrentJobs: 16,
    mailboxLength: 1000,
    maxSize: '4K',
    uploadsPerMinute: 300,
  },
}

export const limitsFor = (tier: Tier): TierLimits => TIER_LIMITS[tier]
