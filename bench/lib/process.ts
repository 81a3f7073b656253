/** Starting servers for benchmarks: free loopback ports, pinned processes, readiness polling. */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'

export const ROOT = resolve(import.meta.dir, '../..')

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

const hasTaskset = Bun.which('taskset') !== null

/** Prefixes a command with `taskset -c <cpus>` when taskset exists (and says so when it does not). */
export function pinned(cpus: string | undefined, cmd: string[]): string[] {
  if (!cpus) return cmd
  if (!hasTaskset) {
    console.warn(`taskset not found: running unpinned (${cmd.join(' ')})`)
    return cmd
  }
  return ['taskset', '-c', cpus, ...cmd]
}

export interface Started {
  proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
  /** Milliseconds from spawn to the first 200 of the probed URL. */
  readyMs: number
  stop(): Promise<number>
}

/**
 * Spawns `cmd` and polls `probeUrl` every few milliseconds until it answers 200,
 * for at most `timeoutMs`. Output is kept for the error message if it never does.
 */
export async function spawnUntilReady(
  cmd: string[],
  opts: { env?: Record<string, string>; probeUrl: string; timeoutMs?: number; cwd?: string },
): Promise<Started> {
  const started = performance.now()
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const out = new Response(proc.stdout).text()
  const err = new Response(proc.stderr).text()
  const deadline = started + (opts.timeoutMs ?? 60_000)
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${cmd.join(' ')} exited ${proc.exitCode}: ${await err}${await out}`)
    const ok = await fetch(opts.probeUrl).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ok) break
    if (performance.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`${opts.probeUrl} not ready after ${opts.timeoutMs} ms: ${await err}`)
    }
    await Bun.sleep(5)
  }
  const readyMs = performance.now() - started
  return {
    proc,
    readyMs,
    async stop() {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
      const code = await proc.exited
      clearTimeout(timer)
      return code
    },
  }
}

/** Kiln's environment for benchmarks: embedded PGlite under `dataDir`, quiet logs. */
export function kilnEnv(port: number, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_NAME: 'bench', ...extra }
}

/** Median and spread of a list of numbers. */
export function summary(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)] ?? 0, min: s[0] ?? 0, max: s.at(-1) ?? 0 }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const CLK_TCK = Number(Bun.spawnSync(['getconf', 'CLK_TCK']).stdout.toString().trim()) || 100

/**
 * CPU time (user + system, µs) used so far by `pid` and its descendants, from
 * /proc (Linux); NaN elsewhere. Unlike requests/s, CPU per request barely moves
 * when other work shares the machine, so benches report both.
 */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8') as string
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    let ticks = Number(fields[11]) + Number(fields[12])
    const children = (readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8') as string).trim()
    for (const child of children ? children.split(' ') : []) ticks += cpuMicros(Number(child)) / (1e6 / CLK_TCK)
    return (ticks * 1e6) / CLK_TCK
  } catch {
    return Number.NaN
  }
}
