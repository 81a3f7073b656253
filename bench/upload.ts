/**
 * Upload throughput: `POST /api/v1/uploads/image` with a ~1 MB JPEG, Kiln on
 * core 0 (PostgreSQL + S3 on s3rver), the load generator and s3rver on core 1.
 * Baselines from the same run, on the same core:
 *   - multipart sink: Bun.serve parsing the same multipart body and answering 201 (transport ceiling)
 *   - sharp only: the JPEG → WebP normalisation in a loop (image-work ceiling)
 * Then the time finalizing and storage add to one generation (1024² PNG from the
 * model → WebP full + 400 px thumbnail, both stored), S3 on s3rver vs local files.
 *
 *   bun run bench:upload            (BENCH_SECONDS=10, BENCH_CONCURRENCY=4)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import sharp from 'sharp'
import { openPostgres } from '../src/adapters/db/client'
import { normaliseUpload } from '../src/domain/uploads/normalise'
import { closedLoop, report } from './lib/load'
import { ROOT, freePort, pinned, spawnUntilReady } from './lib/process'

const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 10), 60)
const CONCURRENCY = Math.min(Number(process.env.BENCH_CONCURRENCY ?? 4), 64)
const MAX_REQUESTS = 5000
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0'
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '1'

/** A photo-like ~1 MB JPEG: smooth gradients plus noise, so it compresses like a real picture. */
async function sampleJpeg(): Promise<Uint8Array> {
  const w = 2000
  const h = 1500
  const raw = Buffer.alloc(w * h * 3)
  let seed = 7
  for (let i = 0; i < raw.length; i += 3) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const x = (i / 3) % w
    const y = Math.floor(i / 3 / w)
    const n = (seed >> 16) % 20
    raw[i] = (x * 255) / w + n
    raw[i + 1] = (y * 255) / h + n
    raw[i + 2] = 128 + n
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 88 }).toBuffer()
}

// ── child modes (spawned pinned) ─────────────────────────────────────────────
const mode = process.argv[2]
if (mode === '--s3rver') {
  const { default: S3rver } = await import('s3rver')
  const server = new S3rver({ address: '127.0.0.1', port: Number(process.argv[3]), silent: true, directory: process.argv[4]!, configureBuckets: [{ name: 'kiln-bench', configs: [] }] })
  await server.run()
  Bun.serve({ port: Number(process.argv[5]), hostname: '127.0.0.1', fetch: () => new Response('ok') })
} else if (mode === '--sink') {
  Bun.serve({
    port: Number(process.argv[3]),
    hostname: '127.0.0.1',
    maxRequestBodySize: 11 * 1024 * 1024,
    async fetch(req) {
      if (req.method !== 'POST') return new Response('ok')
      const form = await req.formData()
      const file = form.get('file') as File
      return Response.json({ success: true, data: { bytes: file.size } }, { status: 201 })
    },
  })
} else if (mode === '--per-job') {
  console.log(JSON.stringify(await perJob(Number(process.argv[3]))))
  process.exit(0)
} else if (mode === '--sharp-only') {
  const jpeg = await sampleJpeg()
  const end = performance.now() + SECONDS * 1000
  let n = 0
  while (performance.now() < end && n < MAX_REQUESTS) {
    await normaliseUpload(jpeg)
    n++
  }
  console.log(JSON.stringify({ perSecond: n / SECONDS }))
  process.exit(0)
} else {
  await main()
}

/** Medians over sequential jobs: finalize, then both puts in parallel (as the job run does). */
async function perJob(s3Port: number) {
  const { S3Storage } = await import('../src/adapters/storage/s3')
  const { mkdir, rename, writeFile } = await import('node:fs/promises')
  // the media path's finalizer and local storage when present, else the same sharp pipeline and atomic file writes
  const images = '../src/domain/generations/images'
  const finalizer = await import(images).then((m) => m.finalizeImage as (b: Uint8Array) => Promise<{ full: Uint8Array; thumb: Uint8Array }>).catch(() => undefined)
  const finalize =
    finalizer ??
    (async (b: Uint8Array) => ({
      full: await sharp(b).webp({ quality: 90 }).toBuffer(),
      thumb: await sharp(b).resize({ width: 400 }).webp({ quality: 85 }).toBuffer(),
    }))
  const s3 = new S3Storage({ bucket: 'kiln-bench', region: 'us-east-1', endpoint: `http://127.0.0.1:${s3Port}`, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true })
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-files-'))
  const putLocal = async (key: string, body: Uint8Array) => {
    const path = join(dir, key)
    await mkdir(join(path, '..'), { recursive: true })
    await writeFile(`${path}.tmp`, body)
    await rename(`${path}.tmp`, path)
  }
  const png = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#3a6ea5' } })
    .composite([{ input: await sampleJpeg().then((j) => sharp(j).resize(900, 700).png().toBuffer()), top: 60, left: 60 }])
    .png()
    .toBuffer()
  const fin: number[] = []
  const s3t: number[] = []
  const local: number[] = []
  const JOBS = 20
  for (let i = 0; i < JOBS + 2; i++) {
    const t0 = performance.now()
    const out = await finalize(png)
    const t1 = performance.now()
    const base = `users/usr_bench/generations/gen_${i}`
    await Promise.all([s3.put(`${base}/full.webp`, out.full, 'image/webp'), s3.put(`${base}/thumb.webp`, out.thumb, 'image/webp')])
    const t2 = performance.now()
    await Promise.all([putLocal(`${base}/full.webp`, out.full), putLocal(`${base}/thumb.webp`, out.thumb)])
    const t3 = performance.now()
    if (i < 2) continue // warm-up
    fin.push(t1 - t0)
    s3t.push(t2 - t1)
    local.push(t3 - t2)
  }
  s3.close()
  rmSync(dir, { recursive: true, force: true })
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  return { jobs: JOBS, finalizer: finalizer ? 'finalizeImage' : 'inline sharp', finalizeMs: med(fin), s3Ms: med(s3t), localMs: med(local) }
}

async function main() {
  const jpeg = await sampleJpeg()
  const mb = jpeg.byteLength / 1024 / 1024
  console.log(`upload bench: ${mb.toFixed(2)} MB JPEG, ${CONCURRENCY} workers, ${SECONDS} s; server on cpu ${SERVER_CPU}, load + s3rver on cpu ${LOAD_CPU}`)
  const self = join(ROOT, 'bench/upload.ts')
  const stops: Array<() => Promise<unknown>> = []
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} })
  const dbName = `kiln_bench_upload_${process.pid}`
  const s3dir = mkdtempSync(join(tmpdir(), 'kiln-bench-s3-'))
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-'))
  try {
    await admin.unsafe(`create database "${dbName}"`)
    const dbUrl = Object.assign(new URL(PG_URL), { pathname: `/${dbName}` }).toString()
    await (await openPostgres(dbUrl, { max: 1 })).close()

    const [s3Port, s3Probe, sinkPort, kilnPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
    const s3 = await spawnUntilReady(pinned(LOAD_CPU, ['bun', self, '--s3rver', String(s3Port), s3dir, String(s3Probe)]), {
      probeUrl: `http://127.0.0.1:${s3Probe}/`,
    })
    stops.push(() => s3.stop())
    const form = () => {
      const f = new FormData()
      f.append('file', new File([new Uint8Array(jpeg)], 'photo.jpg', { type: 'image/jpeg' }))
      return f
    }

    // baseline 1: the transport alone
    const sink = await spawnUntilReady(pinned(SERVER_CPU, ['bun', self, '--sink', String(sinkPort)]), { probeUrl: `http://127.0.0.1:${sinkPort}/` })
    const sinkRes = await closedLoop({
      concurrency: CONCURRENCY,
      durationMs: SECONDS * 1000,
      maxRequests: MAX_REQUESTS,
      make: () => ({ url: `http://127.0.0.1:${sinkPort}/`, init: { method: 'POST', body: form() } }),
    })
    await sink.stop()

    // baseline 2: the image work alone, on the server core
    const sharpProc = Bun.spawn(pinned(SERVER_CPU, ['bun', self, '--sharp-only']), { stdout: 'pipe', env: { ...process.env, BENCH_SECONDS: String(Math.min(SECONDS, 5)) } })
    const sharpOnly = JSON.parse(await new Response(sharpProc.stdout).text()) as { perSecond: number }
    await sharpProc.exited

    const kiln = await spawnUntilReady(pinned(SERVER_CPU, ['bun', 'run', join(ROOT, 'src/main.ts')]), {
      env: {
        PORT: String(kilnPort),
        HOST: '127.0.0.1',
        DATABASE_URL: dbUrl,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'error',
        NODE_NAME: 'bench',
        S3_BUCKET: 'kiln-bench',
        S3_REGION: 'us-east-1',
        S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        S3_FORCE_PATH_STYLE: 'true',
      },
      probeUrl: `http://127.0.0.1:${kilnPort}/health/live`,
    })
    stops.push(() => kiln.stop())
    const base = `http://127.0.0.1:${kilnPort}`
    // enterprise users allow 300 uploads/min each; enough of them that the limit never binds
    const tokens: string[] = []
    for (let i = 0; i < 16; i++) {
      const r = await fetch(`${base}/api/v1/auth/dev`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `upload-bench-${i}@example.com`, tier: 'enterprise' }),
      })
      tokens.push(((await r.json()) as { data: { accessToken: string } }).data.accessToken)
    }
    const kilnRes = await closedLoop({
      concurrency: CONCURRENCY,
      durationMs: SECONDS * 1000,
      maxRequests: MAX_REQUESTS,
      ok: (s) => s === 201,
      make: (i) => ({
        url: `${base}/api/v1/uploads/image`,
        init: { method: 'POST', body: form(), headers: { authorization: `Bearer ${tokens[i % tokens.length]}` } },
      }),
    })

    console.log(report('multipart sink (baseline)', sinkRes))
    console.log(report('kiln POST uploads/image', kilnRes))
    console.log(`${'sharp normalise only (baseline)'.padEnd(34)} ${sharpOnly.perSecond.toFixed(1).padStart(7)} ops/s`)
    console.log('')
    console.log(`kiln uploads:   ${kilnRes.okRps.toFixed(1)} uploads/s, ${(kilnRes.okRps * mb).toFixed(1)} MB/s in, p50 ${kilnRes.p50.toFixed(0)} ms, p99 ${kilnRes.p99.toFixed(0)} ms`)
    console.log(`multipart sink: ${sinkRes.okRps.toFixed(1)} req/s, ${(sinkRes.okRps * mb).toFixed(1)} MB/s in`)
    console.log(`sharp only:     ${sharpOnly.perSecond.toFixed(1)} images/s (Kiln reaches ${((100 * kilnRes.okRps) / sharpOnly.perSecond).toFixed(0)} % of it)`)

    const jobProc = Bun.spawn(pinned(SERVER_CPU, ['bun', self, '--per-job', String(s3Port)]), { stdout: 'pipe' })
    const job = JSON.parse(await new Response(jobProc.stdout).text()) as Awaited<ReturnType<typeof perJob>>
    await jobProc.exited
    console.log('')
    console.log(`per job (median of ${job.jobs}, 1024² PNG → WebP + 400 px thumb via ${job.finalizer}, both stored):`)
    console.log(`  finalize ${job.finalizeMs.toFixed(1)} ms; storage: s3rver ${job.s3Ms.toFixed(1)} ms, local files ${job.localMs.toFixed(1)} ms`)
    console.log(`  finalizing + storage adds ${(job.finalizeMs + job.s3Ms).toFixed(0)} ms with S3, ${(job.finalizeMs + job.localMs).toFixed(0)} ms with local files`)
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {})
    await admin.end()
    rmSync(s3dir, { recursive: true, force: true })
    rmSync(dataDir, { recursive: true, force: true })
  }
}
