/**
 * Where session actors live. `ActorRuntime` is the directory the rest of Kiln
 * talks to; `LocalActorRuntime` keeps every actor on this node (embedded
 * mode). The cluster runtime will implement the same interface with Redis
 * leases and forwarding, so callers do not change.
 */
import type { Tier } from '../adapters/db/schema/users'
import { AppError } from '../lib/errors'
import type { ActorContext } from './context'
import { SessionActor } from './session-actor'

export interface ActorRuntime {
  /** The user's actor, activated on demand. */
  actorFor(userId: string, tier: Tier): SessionActor
  /** The actor if it is active here, without activating it. */
  peek(userId: string): SessionActor | undefined
  /** Activates the actors of users whose jobs were left unfinished; returns how many. */
  recover(): Promise<number>
  /** Stops every actor; unfinished jobs stay in PostgreSQL for the next start. */
  stop(): Promise<void>
}

export class LocalActorRuntime implements ActorRuntime {
  private readonly actors = new Map<string, SessionActor>()
  private readonly sweeper: ReturnType<typeof setInterval>
  private stopped = false

  constructor(private readonly ctx: ActorContext) {
    this.sweeper = setInterval(() => this.passivateIdle(), Math.max(1000, ctx.options.idleMs / 2))
    this.sweeper.unref?.()
  }

  get size() {
    return this.actors.size
  }

  actorFor(userId: string, tier: Tier): SessionActor {
    let actor = this.actors.get(userId)
    if (!actor) {
      // A node that is shutting down activates nothing new; the client retries on another node.
      if (this.stopped) throw new AppError('SERVICE_UNAVAILABLE', 'this node is shutting down; retry shortly', undefined, { 'retry-after': '1' })
      actor = new SessionActor(userId, tier, this.ctx)
      this.actors.set(userId, actor)
      actor.ready.catch((err) => {
        this.ctx.log.error('actor activation failed', { userId, err: err as Error })
        if (this.actors.get(userId) === actor) this.actors.delete(userId)
      })
    }
    return actor
  }

  peek(userId: string): SessionActor | undefined {
    return this.actors.get(userId)
  }

  async recover(): Promise<number> {
    const userIds = await this.ctx.repo.usersWithActiveJobs()
    const users = await this.ctx.repo.tiersOf(userIds)
    for (const u of users) if (!this.stopped) this.actorFor(u.id, u.tier)
    await Promise.all(users.map((u) => this.actors.get(u.id)?.ready.catch(() => {})))
    if (users.length > 0) this.ctx.log.info('recovered unfinished jobs', { users: users.length })
    return users.length
  }

  /** Forgets actors with nothing to do; the next request activates a fresh one. */
  passivateIdle(now = Date.now()) {
    for (const [userId, actor] of this.actors) if (actor.isIdle(now, this.ctx.options.idleMs)) this.actors.delete(userId)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.sweeper)
    await Promise.all([...this.actors.values()].map((a) => a.stop()))
    this.actors.clear()
  }
}
