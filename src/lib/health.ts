/** The shape every dependency reports for `/health/ready` and `/health/detailed`. */
export interface HealthCheck {
  status: 'ok' | 'degraded' | 'down'
  latencyMs: number
  /** Which implementation answers (e.g. `pglite`, `s3`, `local`). */
  kind?: string
  message?: string
}

/** Times `probe`, mapping a throw (or a timeout) to `down`. */
export async function timedCheck(kind: string, probe: () => Promise<unknown>, timeoutMs = 2000): Promise<HealthCheck> {
  const started = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
    return { status: 'ok', latencyMs: round(performance.now() - started), kind }
  } catch (err) {
    return { status: 'down', latencyMs: round(performance.now() - started), kind, message: (err as Error).message }
  } finally {
    clearTimeout(timer)
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100
