/** Ops endpoints: liveness, readiness, a detailed dependency report and Prometheus metrics. */
import { Elysia, t } from 'elysia'
import { timedCheck } from '../../../lib/health'
import type { Services } from '../services'

const Check = t.Object({
  status: t.Union([t.Literal('ok'), t.Literal('degraded'), t.Literal('down')]),
  latencyMs: t.Number(),
  kind: t.Optional(t.String()),
  message: t.Optional(t.String()),
})

const Readiness = t.Object({
  status: t.Union([t.Literal('ok'), t.Literal('unavailable')]),
  checks: t.Record(t.String(), Check),
})

export function healthRoutes(s: Services) {
  const runChecks = async () => {
    const database = await timedCheck(s.database.kind, async () => {
      await s.database.ping()
      if (!(await s.database.migrated())) throw new Error('migrations not applied')
    })
    const entries = await Promise.all(Object.entries(s.checks).map(async ([name, check]) => [name, await check()] as const))
    return { database, ...Object.fromEntries(entries) }
  }

  return new Elysia({ name: 'kiln.health', detail: { tags: ['ops'] } })
    .get('/health', () => ({ status: 'ok' as const }), {
      response: t.Object({ status: t.Literal('ok') }),
      detail: { summary: 'Cheap health check' },
    })
    .get('/health/live', () => ({ status: 'ok' as const }), {
      response: t.Object({ status: t.Literal('ok') }),
      detail: { summary: 'Liveness: the process answers' },
    })
    .get(
      '/health/ready',
      async ({ set }) => {
        const checks = await runChecks()
        const ready = !s.draining.value && Object.values(checks).every((c) => c.status !== 'down')
        if (!ready) set.status = 503
        return { status: ready ? ('ok' as const) : ('unavailable' as const), checks }
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: { summary: 'Readiness: database migrated, Redis and storage reachable' },
      },
    )
    .get(
      '/health/detailed',
      async ({ set }) => {
        const checks = await runChecks()
        const states = Object.values(checks).map((c) => c.status)
        const status = s.draining.value || states.includes('down') ? 'down' : states.includes('degraded') ? 'degraded' : 'ok'
        if (status === 'down') set.status = 503
        return {
          status,
          version: s.version,
          node: s.config.nodeName,
          uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
          checks,
        } as {
          status: 'ok' | 'degraded' | 'down'
          version: string
          node: string
          uptimeSeconds: number
          checks: typeof checks
        }
      },
      {
        response: {
          200: t.Object({
            status: t.Union([t.Literal('ok'), t.Literal('degraded'), t.Literal('down')]),
            version: t.String(),
            node: t.String(),
            uptimeSeconds: t.Integer(),
            checks: t.Object({
              database: Check,
              redis: t.Optional(Check),
              storage: t.Optional(Check),
              provider: t.Optional(Check),
            }, { additionalProperties: Check }),
          }),
          503: t.Object({
            status: t.String(),
            version: t.String(),
            node: t.String(),
            uptimeSeconds: t.Integer(),
            checks: t.Record(t.String(), Check),
          }),
        },
        detail: { summary: 'Every dependency with its latency, version, uptime and node name' },
      },
    )
    .get(
      '/metrics',
      async () =>
        new Response(await s.metrics.registry.metrics(), {
          headers: { 'content-type': s.metrics.registry.contentType },
        }),
      {
        detail: {
          summary: 'Prometheus metrics',
          responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
    )
}
