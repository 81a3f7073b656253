/**
 * Closed-loop load with wrk over a rotating list of requests (a path, its
 * headers and optionally a method and body each, e.g. one user's token and that user's resource), so the
 * generator costs a few microseconds per request instead of a JS client's
 * hundred. The request list becomes a Lua script of prebuilt requests.
 *
 *   const r = await runWrkRotating({ base, requests, connections: 32, durationS: 6, cpus: '1' })
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type HttpLoadResult, parseWrk } from './http-load'
import { pinned } from './process'

export interface WrkRotatingOptions {
  /** Loopback origin, e.g. http://127.0.0.1:3000 */
  base: string
  requests: { path: string; headers: Record<string, string>; method?: 'GET' | 'POST'; body?: string }[]
  connections: number
  durationS: number
  cpus?: string
}

const luaString = (s: string) => JSON.stringify(s) // JSON string escapes are valid Lua for the ASCII we send

export const wrkAvailable = () => Bun.which('wrk') !== null

export async function runWrkRotating(opts: WrkRotatingOptions): Promise<HttpLoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(opts.base)) throw new Error(`load only loopback origins, not ${opts.base}`)
  const dir = mkdtempSync(join(tmpdir(), 'kiln-wrk-'))
  try {
    const entries = opts.requests.map((r) => {
      const headers = Object.entries(r.headers)
        .map(([k, v]) => `[${luaString(k)}]=${luaString(v)}`)
        .join(',')
      return `wrk.format(${luaString(r.method ?? 'GET')}, ${luaString(r.path)}, {${headers}}${r.body === undefined ? '' : `, ${luaString(r.body)}`})`
    })
    const script = join(dir, 'rotate.lua')
    writeFileSync(
      script,
      `local reqs = {}\nlocal n = 0\nlocal i = 0\ninit = function(args)\n${entries.map((e) => `  n = n + 1; reqs[n] = ${e}`).join('\n')}\nend\nrequest = function()\n  i = i % n + 1\n  return reqs[i]\nend\n`,
    )
    const cmd = ['wrk', '-t', '1', '-c', String(opts.connections), '-d', `${opts.durationS}s`, '--latency', '-s', script, opts.base]
    const proc = Bun.spawn(pinned(opts.cpus, cmd), { stdout: 'pipe', stderr: 'pipe' })
    const timer = setTimeout(() => proc.kill('SIGKILL'), (opts.durationS + 30) * 1000)
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
    clearTimeout(timer)
    if (code !== 0) throw new Error(`wrk exited ${code}: ${err}`)
    return parseWrk(out)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
