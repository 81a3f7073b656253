/**
 * bench:e2e — one job from POST to `completed` with the local provider at its
 * real pace (LOCAL_PROVIDER_SPEED=1), split by stage from the job's own
 * timestamps and a 25 ms status poll. Runs a few jobs one after another and
 * prints each split and the median. Server on core 0, this client on core 1.
 */
import { benchDatabase, benchUsers, startKilnServer } from './lib/kiln-bench'

const JOBS = Number(process.env.BENCH_JOBS ?? 3)
const STAGES = ['queued', 'analyzing', 'generating', 'finalizing'] as const

const db = await benchDatabase('e2e')
try {
  const kiln = await startKilnServer(db.url, { LOCAL_PROVIDER_SPEED: '1' })
  try {
    const [user] = await benchUsers(kiln.url, 1, 'enterprise')
    const auth = { authorization: `Bearer ${user!.token}` }
    const rows: Record<string, number>[] = []
    for (let j = 0; j < JOBS; j++) {
      const t0 = performance.now()
      const res = await fetch(`${kiln.url}/api/v1/generations`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: `end to end ${j}: a glass teapot`, style: j % 2 ? 'glass-morphism' : 'modern', palette: 'sunset' }),
      })
      const accepted = performance.now() - t0
      const id = ((await res.json()) as { data: { id: string } }).data.id
      const firstSeen: Record<string, number> = {}
      let status = 'queued'
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
        const g = ((await (await fetch(`${kiln.url}/api/v1/generations/${id}`, { headers: auth })).json()) as { data: { status: string } }).data
        status = g.status
        firstSeen[status] ??= performance.now() - t0
        if (['completed', 'failed', 'cancelled'].includes(status)) break
        await Bun.sleep(25)
      }
      if (status !== 'completed') throw new Error(`job ${id} ended ${status}`)
      const split: Record<string, number> = { accepted }
      let prev = accepted
      for (const s of [...STAGES.slice(1), 'completed']) {
        if (firstSeen[s] === undefined) continue
        const stageBefore = STAGES[STAGES.indexOf(s as (typeof STAGES)[number]) - 1] ?? 'finalizing'
        split[s === 'completed' ? 'finalizing' : stageBefore] = firstSeen[s]! - prev
        prev = firstSeen[s]!
      }
      split.total = firstSeen.completed!
      rows.push(split)
      console.log(`job ${j + 1}: ${Object.entries(split).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(' · ')}`)
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
    const keys = ['accepted', ...STAGES, 'total']
    console.log(`bench:e2e — ${JOBS} jobs, local provider at speed 1 (medians; stage = time until the next status was first seen)`)
    console.log(keys.map((k) => `${k} ${median(rows.map((r) => r[k] ?? 0)).toFixed(0)} ms`).join(' · '))
  } finally {
    await kiln.stop()
  }
} finally {
  await db.drop()
}
