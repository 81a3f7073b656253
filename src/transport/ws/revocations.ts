/**
 * Revoked credentials end the sockets that rest on them, on every node: the
 * node that revokes announces it on the bus, and each node's hub closes its
 * matching sockets with 4401 (the client does not reconnect with them).
 */
import type { Bus } from '../../adapters/coordination/bus'
import type { SocketHub } from './hub'

export const REVOCATIONS_TOPIC = 'credentials-revoked'

interface Revocation {
  userId: string
  ids: string[]
}

/** Tells every node (this one included) that these credentials of the user are revoked. */
export async function announceRevoked(bus: Bus, userId: string, ids: (string | undefined)[]): Promise<void> {
  const live = ids.filter((id): id is string => Boolean(id))
  if (live.length === 0) return
  await bus.publish(REVOCATIONS_TOPIC, JSON.stringify({ userId, ids: live } satisfies Revocation))
}

/** Subscribes the hub to revocations; returns the unsubscribe. */
export function closeSocketsOnRevocation(bus: Bus, hub: SocketHub) {
  return bus.subscribe(REVOCATIONS_TOPIC, (message) => {
    const r = JSON.parse(message) as Revocation
    if (typeof r.userId === 'string' && Array.isArray(r.ids)) hub.closeRevoked(r.userId, r.ids)
  })
}
