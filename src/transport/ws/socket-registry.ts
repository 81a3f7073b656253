/**
 * The per-user socket cap across a cluster. Each node's hub caps the sockets
 * it holds; with several nodes the user's sockets are also counted in Redis,
 * one sorted set per user whose members are this node's socket ids scored by
 * when their claim lapses. Open sockets are re-claimed every few seconds, so
 * the sockets of a node that died stop counting within `ttlMs`.
 *
 * Redis being unreachable never refuses a socket: the per-node cap still holds.
 */
import type { RedisConnections } from '../../adapters/coordination/redis'
import type { Logger } from '../../lib/logger'

export interface SocketRegistry {
  /** Counts a new socket of the user; false when the user already holds `cap` across the cluster. */
  claim(userId: string, socketId: string): Promise<boolean>
  release(userId: string, socketId: string): void
  close(): void
}

/** One node: the hub's own cap is the whole story. */
export const singleNodeSockets: SocketRegistry = {
  claim: async () => true,
  release: () => {},
  close: () => {},
}

const key = (userId: string) => `kiln:sockets:${userId}`

/** Drops lapsed claims, then adds this one if the user holds fewer than the cap. */
const CLAIM = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`

export class RedisSocketRegistry implements SocketRegistry {
  /** This node's claimed sockets, by user: what the heartbeat renews. */
  private readonly held = new Map<string, Set<string>>()
  private readonly timer: ReturnType<typeof setInterval>

  constructor(
    private readonly redis: RedisConnections,
    private readonly log: Logger,
    private readonly cap: number,
    private readonly ttlMs = 30_000,
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(1000, Math.floor(ttlMs / 3)))
    this.timer.unref?.()
  }

  async claim(userId: string, socketId: string): Promise<boolean> {
    const now = Date.now()
    let ok: number
    try {
      ok = (await this.redis.cmd.eval(CLAIM, {
        keys: [key(userId)],
        arguments: [socketId, String(now), String(now + this.ttlMs), String(this.cap), String(this.ttlMs)],
      })) as number
    } catch (err) {
      this.log.warn('socket cap could not be checked across nodes; the node cap applies', { userId, err: err as Error })
      return true
    }
    if (ok !== 1) return false
    let mine = this.held.get(userId)
    if (!mine) this.held.set(userId, (mine = new Set()))
    mine.add(socketId)
    return true
  }

  release(userId: string, socketId: string): void {
    const mine = this.held.get(userId)
    if (!mine?.delete(socketId)) return
    if (mine.size === 0) this.held.delete(userId)
    this.redis.cmd.zRem(key(userId), socketId).catch(() => {}) // a lapsed claim stops counting anyway
  }

  private async renew() {
    if (this.held.size === 0 || !this.redis.cmd.isReady) return
    const until = Date.now() + this.ttlMs
    const tx = this.redis.cmd.multi()
    for (const [userId, ids] of this.held) {
      tx.zAdd(
        key(userId),
        [...ids].map((value) => ({ score: until, value })),
      )
      tx.pExpire(key(userId), this.ttlMs)
    }
    await tx.exec().catch((err) => this.log.warn('renewing socket claims failed', { err: err as Error }))
  }

  close(): void {
    clearInterval(this.timer)
    const all = [...this.held]
    this.held.clear()
    if (!this.redis.cmd.isReady) return
    for (const [userId, ids] of all) this.redis.cmd.zRem(key(userId), [...ids]).catch(() => {})
  }
}
