/**
 * Loads one loopback URL from a separate, pinned process: `wrk` when installed
 * (C, far cheaper per request than any JS client, so the generator is not the
 * bottleneck), else the Bun closed-loop generator of ./load.ts run as a CLI.
 *
 * Library: `await runHttpLoad({ url, connections, durationS, cpus: '1' })`.
 * CLI (the Bun fallback): bun bench/lib/http-load.ts --url http://127.0.0.1:3000/health --connections 64 --duration 10
 */
import { parseArgs } from 'node:util'
import { closedLoop } from './load'
import { pinned } from './process'

export interface HttpLoadOptions {
  url: string
  connections?: number
  durationS?: number
  headers?: Record<string, string>
  /** CPUs the generator is pinned to (a taskset list), e.g. "1". */
  cpus?: string
  /** Force the Bun generator even when wrk exists. */
  engine?: 'wrk' | 'bun'
}

export interface HttpLoadResult {
  engine: 'wrk' | 'bun'
  requests: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** Non-2xx/3xx answers and socket errors. */
  errors: number
}

const MAX_DURATION_S = 120
const MAX_CONNECTIONS = 1024
const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi)

/** Runs one load in its own process and returns requests/s and p50/p99. */
export async function runHttpLoad(opts: HttpLoadOptions): Promise<HttpLoadResult> {
  const connections = clamp(opts.connections ?? 64, 1, MAX_CONNECTIONS)
  const durationS = clamp(opts.durationS ?? 10, 1, MAX_DURATION_S)
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(opts.url)) throw new Error(`load only loopback URLs, not ${opts.url}`)
  const engine = opts.engine ?? (Bun.which('wrk') ? 'wrk' : 'bun')
  const headerArgs = Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`])
  const cmd =
    engine === 'wrk'
      ? ['wrk', '-t', '1', '-c', String(connections), '-d', `${durationS}s`, '--latency', ...headerArgs, opts.url]
      : ['bun', import.meta.path, '--url', opts.url, '--connections', String(connections), '--duration', String(durationS), ...headerArgs]
  const proc = Bun.spawn(pinned(opts.cpus, cmd), { stdout: 'pipe', stderr: 'pipe' })
  const timer = setTimeout(() => proc.kill('SIGKILL'), (durationS + 30) * 1000)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${cmd[0]} exited ${code}: ${err}`)
  return engine === 'wrk' ? parseWrk(out) : (JSON.parse(out) as HttpLoadResult)
}

/** Reads wrk's `--latency` report. */
export function parseWrk(out: string): HttpLoadResult {
  const toMs = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? Number.NaN)
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out)
    return m ? toMs(m[1]!, m[2]!) : Number.NaN
  }
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0
  return {
    engine: 'wrk',
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    errors: non2xx + socketErrors,
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      connections: { type: 'string', default: '64' },
      duration: { type: 'string', default: '10' },
      H: { type: 'string', multiple: true, short: 'H' },
    },
  })
  if (!values.url) throw new Error('--url is required')
  const url = values.url
  const headers = Object.fromEntries(
    (values.H ?? []).map((h) => {
      const i = h.indexOf(':')
      return [h.slice(0, i).trim(), h.slice(i + 1).trim()]
    }),
  )
  const r = await closedLoop({
    concurrency: clamp(Number(values.connections) || 64, 1, MAX_CONNECTIONS),
    durationMs: clamp(Number(values.duration) || 10, 1, MAX_DURATION_S) * 1000,
    maxRequests: 10_000_000,
    make: () => ({ url, init: { headers } }),
    ok: (s) => s < 400,
  })
  const result: HttpLoadResult = { engine: 'bun', requests: r.requests, rps: r.okRps, p50Ms: r.p50, p99Ms: r.p99, errors: r.requests - r.ok }
  console.log(JSON.stringify(result))
}
