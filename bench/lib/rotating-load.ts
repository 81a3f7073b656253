/**
 * Open-loop load at a fixed rate that rotates over several header sets (one
 * per user), run as its own pinned process. Rotating users keeps each one
 * under its per-minute limit, so the figures are those of answered requests,
 * not of 429s.
 *
 * Library: `await runRotatingLoad({ url, rate, durationS, headerSets, cpus: '1' })`.
 * CLI (what the library spawns): bun bench/lib/rotating-load.ts <spec.json>
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type LoadResult, openLoop } from './load'
import { pinned } from './process'

export interface RotatingLoadOptions {
  url: string
  /** Requests per second (bounded to 20,000). */
  rate: number
  /** Bounded to 60 s. */
  durationS: number
  headerSets: Record<string, string>[]
  cpus?: string
}

const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi)

export async function runRotatingLoad(opts: RotatingLoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(opts.url)) throw new Error(`load only loopback URLs, not ${opts.url}`)
  const dir = mkdtempSync(join(tmpdir(), 'kiln-rotating-'))
  const spec = join(dir, 'spec.json')
  const durationS = clamp(opts.durationS, 1, 60)
  writeFileSync(spec, JSON.stringify({ ...opts, rate: clamp(opts.rate, 1, 20_000), durationS }))
  try {
    const proc = Bun.spawn(pinned(opts.cpus, ['bun', import.meta.path, spec]), { stdout: 'pipe', stderr: 'pipe' })
    const timer = setTimeout(() => proc.kill('SIGKILL'), (durationS + 30) * 1000)
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
    clearTimeout(timer)
    if (code !== 0) throw new Error(`rotating load exited ${code}: ${err}`)
    return JSON.parse(out) as LoadResult
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const spec = (await Bun.file(process.argv[2]!).json()) as RotatingLoadOptions
  const sets = spec.headerSets.length > 0 ? spec.headerSets : [{}]
  const result = await openLoop({
    rate: spec.rate,
    durationMs: spec.durationS * 1000,
    make: (i) => ({ url: spec.url, init: { headers: sets[i % sets.length] } }),
  })
  console.log(JSON.stringify(result))
}
