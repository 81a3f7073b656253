/**
 * The session actor's message catalogue. Everything that changes a user's jobs
 * arrives as one of these and is handled in order, one at a time.
 */
import type { Tier } from '../adapters/db/schema/users'
import type { NormalizedInput } from '../domain/generations/input'
import type { Generation } from '../adapters/db/schema/generations'
import type { Accepted } from './session-actor'

/** A job asked for by REST, the socket gateway or a batch. */
export interface SubmitJob {
  type: 'submit'
  tier: Tier
  input: NormalizedInput
  idempotencyKey: string | null
  batchId: string | null
  requestId?: string
}

/** The owner asked to stop a job. */
export interface CancelJob {
  type: 'cancel'
  generationId: string
}

/** The owner deleted a job: stop it if it runs, then forget it. */
export interface ForgetJob {
  type: 'forget'
  generationId: string
}

/** A job's run ended (completed, failed, or stopped); frees its concurrency slot. */
export interface JobSettled {
  type: 'job.settled'
  generationId: string
}

export type ActorMessage = SubmitJob | CancelJob | ForgetJob | JobSettled

/** What each message answers. */
export interface ActorReplies {
  submit: Accepted
  cancel: Generation
  forget: undefined
  'job.settled': undefined
}
