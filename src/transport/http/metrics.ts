/** Prometheus metrics: HTTP counts and latency by route and status, plus process metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  httpRequests: Counter<'method' | 'route' | 'status'>
  httpDuration: Histogram<'method' | 'route' | 'status'>
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'kiln_' })
  return {
    registry,
    httpRequests: new Counter({
      name: 'kiln_http_requests_total',
      help: 'HTTP requests served, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'kiln_http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  }
}

/** What a node holds right now, read at scrape time. */
export interface NodeGauges {
  sockets(): number
  actors(): number
  runningJobs(): number
  /** Cluster only. */
  leases?(): number
}

/** Gauges of sockets, actors, running jobs and (in a cluster) actor leases, computed when scraped. */
export function registerNodeGauges(m: Metrics, read: NodeGauges): void {
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers: [m.registry],
      collect() {
        this.set(value())
      },
    })
  gauge('kiln_websockets_open', 'WebSockets open on this node', read.sockets)
  gauge('kiln_actors_active', 'session actors active on this node', read.actors)
  gauge('kiln_jobs_running', 'generation jobs running on this node', read.runningJobs)
  const leases = read.leases
  if (leases) gauge('kiln_actor_leases_held', 'user actor leases this node holds (cluster)', leases)
}
