/**
 * Where session actors live. `ActorRuntime` is the directory the rest of Kiln
 * talks to: it takes the user's id and finds the actor, wherever it is.
 * `LocalActorRuntime` keeps every actor on this node (embedded mode, and the
 * actors a cluster node owns); `ClusterActorRuntime` (cluster-runtime.ts) adds
 * Redis leases, fencing epochs and forwarding to the owner node, behind the
 * same interface, so callers do not change.
 */
import type { Tier } from '../adapters/db/schema/users'
import { AppError } from '../lib/errors'
import type { ActorContext } from './context'
import type { ActorMessage, ActorReplies } from './messages'
import { SessionActor } from './session-actor'
import type { RateDecision } from './token-bucket'

export interface ActorRuntime {
  /** Counts one request against the user's per-minute limit (a plain value when the actor is here). */
  takeRequest(userId: string, tier: Tier): RateDecision | Promise<RateDecision>
  /** Sends a message to the user's actor, activating it on demand; resolves with its reply. */
  send<M extends ActorMessage>(userId: string, tier: Tier, msg: M): Promise<ActorReplies[M['type']]>
  /** Queue place of a waiting job when its actor is active on this node; null otherwise. */
  positionOf(userId: string, generationId: string): number | null
  /** Activates the actors of users whose jobs were left unfinished; returns how many. */
  recover(): Promise<number>
  /** Stops every actor; unfinished jobs stay in PostgreSQL for the next owner. */
  stop(): Promise<void>
  /**
   * Where the user's actor lives: null when here (taking it if nobody owns it),
   * else the owner node's name. Only a cluster has other nodes.
   */
  ownerElsewhere?(userId: string): Promise<string | null>
  /** What this node holds right now, for metrics. */
  stats(): RuntimeStats
}

export interface RuntimeStats {
  /** Session actors active on this node. */
  actors: number
  /** Jobs running on this node (provider calls and image work in flight). */
  runningJobs: number
  /** User leases this node holds (cluster only). */
  leases?: number
}

export interface LocalRuntimeHooks {
  /** Called when an idle actor is forgotten (a cluster node releases the user's lease). */
  onPassivated?(userId: string): void
}

export class LocalActorRuntime implements ActorRuntime {
  private readonly actors = new Map<string, SessionActor>()
  private readonly sweeper: ReturnType<typeof setInterval>
  private stopped = false

  constructor(
    private readonly ctx: ActorContext,
    private readonly hooks: LocalRuntimeHooks = {},
  ) {
    this.sweeper = setInterval(() => this.passivateIdle(), Math.max(1000, ctx.options.idleMs / 2))
    this.sweeper.unref?.()
  }

  get size() {
    return this.actors.size
  }

  /**
   * The user's actor, activated on demand. `epoch` (cluster mode) fences the
   * job-state writes of a newly activated actor with the ownership epoch.
   */
  actorFor(userId: string, tier: Tier, epoch?: number): SessionActor {
    let actor = this.actors.get(userId)
    if (!actor) {
      // A node that is shutting down activates nothing new; the client retries on another node.
      if (this.stopped) throw new AppError('SERVICE_UNAVAILABLE', 'this node is shutting down; retry shortly', undefined, { 'retry-after': '1' })
      // Object.create keeps the context's getters (provider, storage) live instead of copying their values.
      const ctx = epoch === undefined ? this.ctx : (Object.assign(Object.create(this.ctx), { repo: this.ctx.repo.withFence(userId, epoch) }) as ActorContext)
      actor = new SessionActor(userId, tier, ctx)
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

  takeRequest(userId: string, tier: Tier): RateDecision {
    return this.actorFor(userId, tier).takeRequest(tier)
  }

  send<M extends ActorMessage>(userId: string, tier: Tier, msg: M): Promise<ActorReplies[M['type']]> {
    return this.actorFor(userId, tier).send(msg)
  }

  positionOf(userId: string, generationId: string): number | null {
    return this.actors.get(userId)?.positionOf(generationId) ?? null
  }

  stats(): RuntimeStats {
    return { actors: this.actors.size, runningJobs: this.ctx.slots.inUse }
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
    for (const [userId, actor] of this.actors)
      if (actor.isIdle(now, this.ctx.options.idleMs)) {
        this.actors.delete(userId)
        this.hooks.onPassivated?.(userId)
      }
  }

  /** Stops one user's actor without ending its jobs (its lease was lost); the new owner resumes them. */
  async evict(userId: string): Promise<void> {
    const actor = this.actors.get(userId)
    if (!actor) return
    this.actors.delete(userId)
    await actor.stop()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.sweeper)
    await Promise.all([...this.actors.values()].map((a) => a.stop()))
    this.actors.clear()
  }
}
