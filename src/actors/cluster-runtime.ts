/**
 * Session actors across several nodes sharing Redis and PostgreSQL.
 *
 * - **Ownership**: a Redis lease per user, `kiln:lease:<user>` = node name,
 *   taken with SET NX PX and renewed by compare-and-set every third of its
 *   life. A node that cannot renew in time stops the actor before the lease
 *   can lapse; a node that finds its lease taken stops it at once.
 * - **Fencing**: each takeover bumps the user's epoch in PostgreSQL
 *   (`actor_epochs`), and the actor's job-state writes apply only while the
 *   epoch is still its own, so a stalled former owner cannot overwrite a
 *   newer one.
 * - **Forwarding**: a request for a user owned elsewhere becomes a message on
 *   the owner's Redis channel and waits for its reply (rate-limit decision,
 *   accepted job, cancel). An owner that no longer holds the lease answers
 *   "moved" and the caller looks again.
 * - **Failover**: every node reconciles now and then: users with unfinished
 *   jobs and no lease are taken over, and their jobs resume from PostgreSQL
 *   (a job the provider already has is watched, never resubmitted). A node
 *   that is gone (nobody listens on its channel) loses its leases at once.
 * - **Hand-off**: on SIGTERM a node stops its actors and releases its
 *   leases, so the others pick the jobs up on their next reconcile.
 */
import { sql } from 'drizzle-orm'
import type { RedisConnections } from '../adapters/coordination/redis'
import { actorEpochs } from '../adapters/db/schema'
import type { Tier } from '../adapters/db/schema/users'
import { AppError, type ErrorCode } from '../lib/errors'
import type { ActorContext } from './context'
import type { ActorMessage, ActorReplies } from './messages'
import { type ActorRuntime, LocalActorRuntime, type RuntimeStats } from './runtime'
import type { RateDecision } from './token-bucket'

export interface ClusterOptions {
  /** This node's name: the lease value and the name of its request channel. */
  node: string
  leaseMs: number
  /** How long a forwarded request waits for the owner's answer. */
  forwardTimeoutMs?: number
}

const leaseKey = (userId: string) => `kiln:lease:${userId}`
const requestChannel = (node: string) => `kiln:actors:requests:${node}`
const replyChannel = (node: string) => `kiln:actors:replies:${node}`
/** A node that hands its actors off says so here, and the others reconcile at once instead of on their next tick. */
const HANDOFF_CHANNEL = 'kiln:actors:handoff'

/** Takes a free lease; returns '' when taken now, else the current holder (possibly this node). */
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''`

/** Takes over the lease of a node that is gone, if it still holds it; same answer as ACQUIRE. */
const TAKE_FROM = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[3] then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''`

/** Renews every lease still held by this node: 1 per key renewed, 0 per key lost. */
const RENEW = `
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]); out[i] = 1 else out[i] = 0 end
end
return out`

const RELEASE = `
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 1`

type Op = { op: 'take' } | { op: 'send'; msg: ActorMessage }

interface ForwardedRequest {
  id: string
  from: string
  userId: string
  tier: Tier
  req: Op
}

type ForwardedReply =
  | { id: string; ok: true; value: unknown }
  | { id: string; ok: false; error: { errorCode: ErrorCode; message: string; details?: unknown; headers?: Record<string, string> } }
  | { id: string; moved: true }

interface Lease {
  epoch: number
  /** When Redis last confirmed it (Date.now()). */
  renewedAt: number
}

type Route = { local: Lease } | { remote: string }

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
/** Replies carry rows: their `…At` timestamps come back as Dates. */
const revive = (key: string, value: unknown) => (typeof value === 'string' && key.endsWith('At') && ISO_DATE.test(value) ? new Date(value) : value)

const unavailable = (message: string, retryAfterSeconds = 1) =>
  new AppError('SERVICE_UNAVAILABLE', message, undefined, { 'retry-after': String(retryAfterSeconds) })

export class ClusterActorRuntime implements ActorRuntime {
  private readonly local: LocalActorRuntime
  private readonly held = new Map<string, Lease>()
  private readonly acquiring = new Map<string, Promise<Route>>()
  private readonly waiting = new Map<string, { resolve(r: ForwardedReply): void; timer: ReturnType<typeof setTimeout> }>()
  private readonly timers: ReturnType<typeof setInterval>[] = []
  private readonly unsubscribes: (() => Promise<void>)[] = []
  private readonly forwardTimeoutMs: number
  private seq = 0
  private stopping = false
  private reconciling = false

  constructor(
    readonly ctx: ActorContext,
    private readonly redis: RedisConnections,
    private readonly opts: ClusterOptions,
  ) {
    this.local = new LocalActorRuntime(ctx, { onPassivated: (userId) => void this.release([userId]) })
    this.forwardTimeoutMs = opts.forwardTimeoutMs ?? Math.min(5000, opts.leaseMs)
  }

  get node(): string {
    return this.opts.node
  }

  /** Users whose actors this node owns right now. */
  owned(): string[] {
    return [...this.held.keys()]
  }

  peek(userId: string) {
    return this.local.peek(userId)
  }

  passivateIdle(now = Date.now()) {
    this.local.passivateIdle(now)
  }

  takeRequest(userId: string, tier: Tier): RateDecision | Promise<RateDecision> {
    const lease = this.liveLease(userId)
    // The hot path: this node owns the user, so the decision is a plain in-memory one.
    if (lease) return this.local.actorFor(userId, tier, lease.epoch).takeRequest(tier)
    return this.dispatch(userId, tier, { op: 'take' }) as Promise<RateDecision>
  }

  send<M extends ActorMessage>(userId: string, tier: Tier, msg: M): Promise<ActorReplies[M['type']]> {
    return this.dispatch(userId, tier, { op: 'send', msg }) as Promise<ActorReplies[M['type']]>
  }

  positionOf(userId: string, generationId: string): number | null {
    return this.local.positionOf(userId, generationId)
  }

  stats(): RuntimeStats {
    return { ...this.local.stats(), leases: this.held.size }
  }

  async ownerElsewhere(userId: string): Promise<string | null> {
    const route = await this.route(userId)
    return 'local' in route ? null : route.remote
  }

  /** Subscribes to this node's channels and starts renewing and reconciling; takes over orphaned jobs now. */
  async recover(): Promise<number> {
    const subs = this.redis.subscriptions
    this.unsubscribes.push(subs.add(requestChannel(this.node), (m) => void this.answer(m)))
    this.unsubscribes.push(subs.add(replyChannel(this.node), (m) => this.settle(m)))
    const upkeepFailed = (err: unknown) => this.ctx.log.warn('cluster upkeep failed', { err: err as Error })
    this.unsubscribes.push(
      subs.add(HANDOFF_CHANNEL, (from) => {
        if (from !== this.node) void this.reconcile().catch(upkeepFailed)
      }),
    )
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch(upkeepFailed), ms)
      t.unref?.()
      this.timers.push(t)
    }
    every(Math.max(100, Math.floor(this.opts.leaseMs / 3)), () => this.renew())
    every(Math.max(250, Math.floor(this.opts.leaseMs / 2)), () => this.reconcile())
    // A node whose Redis is down still starts (readiness says so); the timers take over once it is back.
    if (!this.redis.cmd.isReady) return 0
    await Promise.race([subs.settled(), Bun.sleep(this.opts.leaseMs)])
    return this.reconcile().catch((err) => {
      upkeepFailed(err)
      return 0
    })
  }

  async stop(): Promise<void> {
    this.stopping = true
    for (const t of this.timers) clearInterval(t)
    const users = this.owned()
    // Runs stop without ending their jobs; releasing the leases lets another node resume them right away.
    await this.local.stop()
    this.held.clear()
    try {
      await this.release(users)
      if (users.length > 0) await this.redis.cmd.publish(HANDOFF_CHANNEL, this.node)
    } catch (err) {
      this.ctx.log.warn('handing actors off failed', { err: err as Error })
    }
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer)
      w.resolve({ id, ok: false, error: { errorCode: 'SERVICE_UNAVAILABLE', message: 'this node is shutting down; retry shortly', headers: { 'retry-after': '1' } } })
    }
    // Bounded: with Redis away an UNSUBSCRIBE waits in the offline queue, and the connection closes next anyway.
    await Promise.race([Promise.allSettled(this.unsubscribes.map((u) => u())), Bun.sleep(1000)])
  }

  /** Runs `req` on the user's actor: here when this node owns it (taking the lease if free), else on the owner. */
  private async dispatch(userId: string, tier: Tier, req: Op): Promise<unknown> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const route = await this.route(userId)
      if ('local' in route) {
        const actor = this.local.actorFor(userId, tier, route.local.epoch)
        return req.op === 'take' ? actor.takeRequest(tier) : actor.send(req.msg)
      }
      const reply = await this.forward(route.remote, { id: '', from: this.node, userId, tier, req })
      if ('moved' in reply) continue
      if (reply.ok) return reply.value
      throw new AppError(reply.error.errorCode, reply.error.message, reply.error.details, reply.error.headers)
    }
    throw unavailable("the user's actor is moving between nodes; retry shortly")
  }

  /** A lease this node holds and may still act on (confirmed by Redis within its life). */
  private liveLease(userId: string): Lease | undefined {
    const lease = this.held.get(userId)
    if (!lease) return undefined
    if (Date.now() - lease.renewedAt < this.opts.leaseMs) return lease
    // Not confirmed for a whole lease (the process was paused, or Redis is away): another node may own it now.
    this.lose(userId, 'lease not renewed in time')
    return undefined
  }

  private route(userId: string): Promise<Route> {
    const lease = this.liveLease(userId)
    if (lease) return Promise.resolve({ local: lease })
    let pending = this.acquiring.get(userId)
    if (!pending) {
      pending = this.acquire(userId, ACQUIRE).finally(() => this.acquiring.delete(userId))
      this.acquiring.set(userId, pending)
    }
    return pending
  }

  private async acquire(userId: string, script: string, from?: string): Promise<Route> {
    if (this.stopping) throw unavailable('this node is shutting down; retry shortly')
    const holder = (await this.redis.cmd.eval(script, {
      keys: [leaseKey(userId)],
      arguments: [this.node, String(this.opts.leaseMs), ...(from ? [from] : [])],
    })) as string
    // A lease under this node's own name that it does not know of was left by its previous life: adopt it.
    if (holder !== '' && holder !== this.node) return { remote: holder }
    const renewedAt = Date.now()
    const [row] = await this.ctx.db
      .insert(actorEpochs)
      .values({ userId, epoch: 1, node: this.node })
      .onConflictDoUpdate({ target: actorEpochs.userId, set: { epoch: sql`${actorEpochs.epoch} + 1`, node: this.node, updatedAt: new Date() } })
      .returning({ epoch: actorEpochs.epoch })
    const lease: Lease = { epoch: row!.epoch, renewedAt }
    await this.local.evict(userId) // an actor left from an earlier lease of this node holds an old epoch
    this.held.set(userId, lease)
    this.ctx.log.debug('actor lease taken', { userId, epoch: lease.epoch })
    return { local: lease }
  }

  /** Sends a request to the owner and waits for its answer; an owner nobody listens for has its lease taken over. */
  private async forward(owner: string, request: ForwardedRequest): Promise<ForwardedReply> {
    const id = `${this.node}#${++this.seq}`
    const reply = new Promise<ForwardedReply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        resolve({ id, ok: false, error: { errorCode: 'SERVICE_UNAVAILABLE', message: `node ${owner} did not answer; retry shortly`, headers: { 'retry-after': '1' } } })
      }, this.forwardTimeoutMs)
      this.waiting.set(id, { resolve, timer })
    })
    const listeners = await this.redis.cmd.publish(requestChannel(owner), JSON.stringify({ ...request, id }))
    if (listeners === 0) {
      // Nobody listens on the owner's channel: the node is gone. Take its lease (the epoch bump fences it).
      const w = this.waiting.get(id)
      if (w) clearTimeout(w.timer)
      this.waiting.delete(id)
      this.ctx.log.warn('owner node unreachable; taking the actor over', { userId: request.userId, owner })
      await this.acquire(request.userId, TAKE_FROM, owner)
      return { id, moved: true }
    }
    return reply
  }

  /** Answers a request forwarded to this node. */
  private async answer(raw: string): Promise<void> {
    let request: ForwardedRequest
    try {
      request = JSON.parse(raw, revive) as ForwardedRequest
    } catch {
      return
    }
    let reply: ForwardedReply
    const lease = this.stopping ? undefined : this.liveLease(request.userId)
    if (!lease) reply = { id: request.id, moved: true }
    else {
      try {
        const actor = this.local.actorFor(request.userId, request.tier, lease.epoch)
        const value = request.req.op === 'take' ? actor.takeRequest(request.tier) : await actor.send(request.req.msg)
        reply = { id: request.id, ok: true, value }
      } catch (err) {
        const e = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', 'the owner node failed to handle the request')
        if (!(err instanceof AppError)) this.ctx.log.error('forwarded request failed', { userId: request.userId, err: err as Error })
        reply = { id: request.id, ok: false, error: { errorCode: e.errorCode, message: e.message, details: e.details, headers: e.headers } }
      }
    }
    await this.redis.cmd.publish(replyChannel(request.from), JSON.stringify(reply)).catch((err) => {
      this.ctx.log.warn('forwarded reply could not be sent', { to: request.from, err: err as Error })
    })
  }

  private settle(raw: string) {
    let reply: ForwardedReply
    try {
      reply = JSON.parse(raw, revive) as ForwardedReply
    } catch {
      return
    }
    const w = this.waiting.get(reply.id)
    if (!w) return
    clearTimeout(w.timer)
    this.waiting.delete(reply.id)
    w.resolve(reply)
  }

  private async renew(): Promise<void> {
    const users = this.owned()
    if (users.length === 0) return
    const asked = Date.now()
    let result: number[]
    try {
      result = (await this.redis.cmd.eval(RENEW, { keys: users.map(leaseKey), arguments: [this.node, String(this.opts.leaseMs)] })) as number[]
    } catch (err) {
      // Redis cannot confirm: stop every actor whose lease could lapse before the next try.
      const renewEvery = this.opts.leaseMs / 3
      for (const u of users) {
        const lease = this.held.get(u)
        if (lease && asked - lease.renewedAt > this.opts.leaseMs - 2 * renewEvery) this.lose(u, 'lease could not be renewed')
      }
      throw err
    }
    users.forEach((u, i) => {
      const lease = this.held.get(u)
      if (!lease) return
      if (result[i] === 1) lease.renewedAt = asked
      else this.lose(u, 'lease taken by another node')
    })
  }

  /** Takes over users that have unfinished jobs and no owner; returns how many this node took. */
  private async reconcile(): Promise<number> {
    if (this.reconciling || this.stopping) return 0
    this.reconciling = true
    try {
      const orphans = (await this.ctx.repo.usersWithActiveJobs()).filter((u) => !this.held.has(u))
      if (orphans.length === 0) return 0
      const holders = await this.redis.cmd.mGet(orphans.map(leaseKey))
      const free = orphans.filter((_, i) => holders[i] === null)
      let taken = 0
      for (const u of await this.ctx.repo.tiersOf(free)) {
        const route = await this.route(u.id)
        if (!('local' in route) || this.stopping) continue
        await this.local.actorFor(u.id, u.tier, route.local.epoch).ready.catch(() => {})
        taken++
      }
      if (taken > 0) this.ctx.log.info('took over unfinished jobs', { users: taken })
      return taken
    } finally {
      this.reconciling = false
    }
  }

  private lose(userId: string, reason: string) {
    if (!this.held.delete(userId)) return
    this.ctx.log.warn('actor lease lost; stopping the actor', { userId, reason })
    void this.local.evict(userId)
    // If the key still names this node (it merely went unconfirmed), free it so others need not wait for it to lapse.
    void this.release([userId]).catch(() => {})
  }

  private async release(userIds: string[]): Promise<void> {
    for (const u of userIds) this.held.delete(u)
    if (userIds.length === 0) return
    await this.redis.cmd.eval(RELEASE, { keys: userIds.map(leaseKey), arguments: [this.node] })
  }
}
