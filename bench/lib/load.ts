/**
 * A small HTTP load generator for benchmarks: closed loop (N workers, each
 * sending its next request when the previous answered) or open loop (fixed
 * arrival rate, for "p99 at 1,000 req/s"). Bounded by count and by time.
 * Run it pinned to its own core (`taskset -c 1`), away from the server.
 */
export interface LoadResult {
  requests: number
  /** Responses whose status `ok` accepted. */
  ok: number
  statuses: Record<number, number>
  errors: number
  durationMs: number
  rps: number
  okRps: number
  p50: number
  p90: number
  p99: number
  max: number
}

export type MakeRequest = (i: number, worker: number) => { url: string; init?: RequestInit }

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function finish(lat: number[], statuses: Record<number, number>, errors: number, ok: number, started: number): LoadResult {
  const durationMs = performance.now() - started
  const sorted = Float64Array.from(lat).sort()
  const requests = lat.length + errors
  return {
    requests,
    ok,
    statuses,
    errors,
    durationMs,
    rps: (requests * 1000) / durationMs,
    okRps: (ok * 1000) / durationMs,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  }
}

async function once(
  make: MakeRequest,
  i: number,
  w: number,
  lat: number[],
  statuses: Record<number, number>,
  okStatus: (s: number) => boolean,
): Promise<'ok' | 'bad' | 'error'> {
  const { url, init } = make(i, w)
  const t0 = performance.now()
  try {
    const res = await fetch(url, init)
    await res.arrayBuffer()
    lat.push(performance.now() - t0)
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
    return okStatus(res.status) ? 'ok' : 'bad'
  } catch {
    return 'error'
  }
}

/** N concurrent workers until `maxRequests` were sent or `durationMs` passed. */
export async function closedLoop(opts: {
  concurrency: number
  durationMs: number
  maxRequests: number
  make: MakeRequest
  ok?: (status: number) => boolean
}): Promise<LoadResult> {
  const lat: number[] = []
  const statuses: Record<number, number> = {}
  let errors = 0
  let ok = 0
  let next = 0
  const started = performance.now()
  const end = started + opts.durationMs
  const okStatus = opts.ok ?? ((s) => s < 400)
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, w) => {
      while (next < opts.maxRequests && performance.now() < end) {
        const r = await once(opts.make, next++, w, lat, statuses, okStatus)
        if (r === 'ok') ok++
        else if (r === 'error') errors++
      }
    }),
  )
  return finish(lat, statuses, errors, ok, started)
}

/** Requests at a fixed rate (latency includes any queueing at the server), for `durationMs`. */
export async function openLoop(opts: { rate: number; durationMs: number; make: MakeRequest; ok?: (status: number) => boolean }): Promise<LoadResult> {
  const lat: number[] = []
  const statuses: Record<number, number> = {}
  let errors = 0
  let ok = 0
  const okStatus = opts.ok ?? ((s) => s < 400)
  const total = Math.floor((opts.rate * opts.durationMs) / 1000)
  const interval = 1000 / opts.rate
  const started = performance.now()
  const inflight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const due = started + i * interval
    const wait = due - performance.now()
    if (wait > 1) await Bun.sleep(wait)
    inflight.push(
      once(opts.make, i, 0, lat, statuses, okStatus).then((r) => {
        if (r === 'ok') ok++
        else if (r === 'error') errors++
      }),
    )
  }
  await Promise.all(inflight)
  return finish(lat, statuses, errors, ok, started)
}

/** One line per result: throughput and latency percentiles in ms. */
export function report(name: string, r: LoadResult): string {
  const f = (n: number) => n.toFixed(2)
  const st = Object.entries(r.statuses)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ')
  return `${name.padEnd(34)} ${Math.round(r.okRps).toString().padStart(7)} ok/s  p50 ${f(r.p50)}  p90 ${f(r.p90)}  p99 ${f(r.p99)}  max ${f(r.max)} ms  (${r.requests} req, ${st}${r.errors ? `, ${r.errors} errors` : ''})`
}
