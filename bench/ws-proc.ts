/** Line-driven child processes for the socket benchmarks: send a command, wait for the answer line. */
import { ROOT } from './lib/process'

export interface LineProc {
  proc: Bun.Subprocess<'pipe', 'pipe', 'inherit'>
  send(line: string): void
  /** The next output line starting with `prefix` (waits at most `ms`). */
  next(prefix: string, ms?: number): Promise<string>
  stop(): Promise<void>
}

export function spawnLines(cmd: string[], env: Record<string, string> = {}): LineProc {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' })
  const lines: string[] = []
  let wake: (() => void) | undefined
  void (async () => {
    let buf = ''
    for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) {
      buf += new TextDecoder().decode(chunk)
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        lines.push(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
      }
      wake?.()
    }
    wake?.()
  })()
  return {
    proc,
    send(line) {
      proc.stdin.write(`${line}\n`)
      proc.stdin.flush()
    },
    async next(prefix, ms = 120_000) {
      const deadline = Date.now() + ms
      for (;;) {
        const i = lines.findIndex((l) => l.startsWith(prefix))
        if (i >= 0) return lines.splice(0, i + 1)[i]!
        if (proc.exitCode !== null) throw new Error(`${cmd.join(' ')} exited ${proc.exitCode} before "${prefix}"`)
        if (Date.now() > deadline) throw new Error(`no "${prefix}" from ${cmd.join(' ')} within ${ms} ms`)
        await new Promise<void>((r) => {
          wake = r
          setTimeout(r, 100)
        })
      }
    },
    async stop() {
      try {
        proc.stdin.write('quit\n')
        proc.stdin.end()
      } catch {}
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await proc.exited
      clearTimeout(timer)
    },
  }
}
