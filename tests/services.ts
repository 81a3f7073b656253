/**
 * Which real servers the suite runs against. `KILN_TEST_DATABASE_URL` (or
 * `DATABASE_URL`) selects PostgreSQL, `KILN_TEST_REDIS_URL` (or `REDIS_URL`)
 * selects Redis; unset means PGlite and the in-process bus. Tests that need a
 * server skip, saying why, only when it is unreachable and CI is not set.
 */
import { connect } from 'node:net'

export const testDatabaseUrl = process.env.KILN_TEST_DATABASE_URL || process.env.DATABASE_URL || undefined
export const testRedisUrl = process.env.KILN_TEST_REDIS_URL || process.env.REDIS_URL || undefined
export const inCI = Boolean(process.env.CI)

/** The PostgreSQL used by tests that always need one (cluster, migrations race), even in a PGlite run. */
export const postgresUrlForServerTests = testDatabaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test'
export const redisUrlForServerTests = testRedisUrl ?? 'redis://127.0.0.1:6379'

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url)
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || defaultPort) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export const postgresReachable = await reachable(postgresUrlForServerTests, 5432)
export const redisReachable = await reachable(redisUrlForServerTests, 6379)

/**
 * Whether a test needing PostgreSQL/Redis should be skipped. In CI a missing
 * server is a failure, so this returns false there and the test fails loudly.
 */
export function skipWithout(needs: { postgres?: boolean; redis?: boolean }): boolean {
  const missing = [needs.postgres && !postgresReachable && 'PostgreSQL', needs.redis && !redisReachable && 'Redis'].filter(Boolean)
  if (missing.length === 0) return false
  if (inCI) throw new Error(`${missing.join(' and ')} unreachable, and CI requires it`)
  console.warn(`skipping: ${missing.join(' and ')} unreachable (set up the local servers to run these tests)`)
  return true
}

/** A loopback TCP port that was free a moment ago (also: a port nothing listens on). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}
