/** Migration import: a v1.x export becomes templates and history, once, for its importer only, without jobs or quota. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'
import { type Signed, signIn } from './generations-support'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln()
})
afterAll(() => k.close())

const call = (u: Signed | undefined, method: string, path: string, body?: unknown) =>
  json(k.request(`/api/v1${path}`, { method, headers: u?.headers ?? {}, ...(body === undefined ? {} : { json: body }) }))

const importExport = (u: Signed | undefined, body: unknown) => call(u, 'POST', '/migrate/import', body)

const day = (n: number) => new Date(Date.UTC(2025, 0, n, 12)).toISOString()

const v1Export = {
  version: '1.3.0',
  exportedAt: day(30),
  templates: [
    { id: 17, name: 'Old icons', description: 'from v1', isPublic: false, config: { style: 'voxel-3d', palette: 'ocean', aspectRatio: 'square' }, createdAt: day(2) },
    { id: 18, name: 'Charts', config: { topic: 'quarterly sales', style: 'corporate' } },
    { id: 19, name: 'Broken', config: { style: 'no-such-style' } },
    { id: 20, name: 'Mixed', config: { palette: 'ocean', customColors: ['#000000'] } },
  ],
  generations: [
    { id: 'g-1', prompt: 'a copper teapot', style: 'minimal-icon', palette: 'sunset', aspectRatio: '4:3', seed: 7, status: 'completed', isLiked: true, createdAt: day(3), completedAt: day(3), imageUrl: 'https://v1.example/old.png' },
    { id: 'g-2', prompt: 'rainfall per month', style: 'modern', customColors: ['#112233'], status: 'failed', error: { code: 'PROVIDER_ERROR', message: 'model down' }, createdAt: day(4) },
    { id: 'g-3', prompt: 'a haunted lighthouse', style: 'neon-glow', palette: null, status: 'completed', createdAt: day(5) },
    { id: 'g-4', prompt: 'no such style', style: 'watercolour-2', status: 'completed', createdAt: day(6) },
    { id: 'g-5', prompt: 'still running', style: 'modern', status: 'generating', createdAt: day(6) },
    { id: 'g-6', style: 'modern', status: 'completed', createdAt: day(6) },
  ],
}

test('an export is imported as templates and finished history, reporting bad items without failing', async () => {
  const u = await signIn(k, 'pro')
  const quotaBefore = (await call(u, 'GET', '/account/quota')).body.data.daily
  expect(quotaBefore.used).toBe(0)
  const r = await importExport(u, v1Export)
  expect(r.status).toBe(200)
  const { templates, generations } = r.body.data
  expect(templates).toMatchObject({ imported: 2, skipped: 0 })
  expect(templates.errors.map((e: { index: number; id: string }) => [e.index, e.id])).toEqual([
    [2, '19'],
    [3, '20'],
  ])
  expect(templates.errors[0].issues[0].field).toBe('config.style')
  expect(templates.errors[1].issues[0].field).toBe('config.customColors')
  expect(generations).toMatchObject({ imported: 3, skipped: 0 })
  expect(generations.errors.map((e: { index: number }) => e.index)).toEqual([3, 4, 5])
  expect(generations.errors[0].issues[0].field).toBe('style')
  expect(generations.errors[1].issues[0].field).toBe('status')
  expect(generations.errors[2].issues[0].field).toBe('prompt')

  const own = await call(u, 'GET', '/templates?scope=own')
  expect(own.body.data.map((t: { name: string }) => t.name).sort()).toEqual(['Charts', 'Old icons'])
  const old = own.body.data.find((t: { name: string }) => t.name === 'Old icons')
  expect(old).toMatchObject({ description: 'from v1', isPublic: false, createdAt: day(2), config: { style: 'voxel-3d', palette: 'ocean', aspectRatio: '1:1' } })
  const charts = own.body.data.find((t: { name: string }) => t.name === 'Charts')
  expect(charts.config).toEqual({ prompt: 'quarterly sales', style: 'corporate' })

  // history, oldest first: finished rows without images, with their own times
  const history = await call(u, 'GET', '/generations?sort=oldest')
  expect(history.status).toBe(200)
  expect(history.body.meta.total).toBe(3)
  const [teapot, rain, lighthouse] = history.body.data
  expect(teapot).toMatchObject({
    prompt: 'a copper teapot',
    style: 'minimal-icon',
    palette: 'sunset',
    aspectRatio: '4:3',
    seed: 7,
    status: 'completed',
    progress: 100,
    isLiked: true,
    imageUrl: null,
    thumbnailUrl: null,
    createdAt: day(3),
    completedAt: day(3),
    error: null,
  })
  expect(rain).toMatchObject({ status: 'failed', customColors: ['#112233'], error: { code: 'PROVIDER_ERROR', message: 'model down' } })
  expect(lighthouse).toMatchObject({ status: 'completed', palette: null, aspectRatio: '1:1', size: '1K' })
  expect((await call(u, 'GET', `/generations/${teapot.id}`)).body.data.id).toBe(teapot.id)
  // no image was copied: nothing to download
  expect((await call(u, 'GET', `/generations/${teapot.id}/download`)).status).toBe(409)

  // searchable and filterable like any history
  const found = await call(u, 'GET', '/generations?search=teapot')
  expect(found.body.data.map((g: { id: string }) => g.id)).toEqual([teapot.id])
  expect((await call(u, 'GET', '/generations?liked=true')).body.data.map((g: { id: string }) => g.id)).toEqual([teapot.id])
  expect((await call(u, 'GET', '/generations?status=failed')).body.data.map((g: { id: string }) => g.id)).toEqual([rain.id])

  // no quota was charged
  expect((await call(u, 'GET', '/account/quota')).body.data.daily).toMatchObject({ used: 0, remaining: quotaBefore.remaining })
})

test('importing the same export again adds nothing; items without ids are recognised by content', async () => {
  const u = await signIn(k, 'pro')
  const noIds = {
    version: '1.0',
    templates: [{ name: 'Plain', config: { style: 'modern' } }],
    generations: [{ prompt: 'a red kite', style: 'modern', status: 'completed', createdAt: day(8) }],
  }
  const first = await importExport(u, { ...v1Export, templates: [...v1Export.templates, ...noIds.templates], generations: [...v1Export.generations, ...noIds.generations] })
  expect(first.body.data.templates).toMatchObject({ imported: 3, skipped: 0 })
  expect(first.body.data.generations).toMatchObject({ imported: 4, skipped: 0 })
  const again = await importExport(u, { ...v1Export, templates: [...v1Export.templates, ...noIds.templates], generations: [...v1Export.generations, ...noIds.generations] })
  expect(again.status).toBe(200)
  expect(again.body.data.templates).toMatchObject({ imported: 0, skipped: 3 })
  expect(again.body.data.generations).toMatchObject({ imported: 0, skipped: 4 })
  // an item repeated inside one export is imported once
  const repeated = await importExport(u, { version: '1.2', generations: [{ id: 'x', prompt: 'twice', style: 'modern', status: 'completed', createdAt: day(9) }, { id: 'x', prompt: 'twice', style: 'modern', status: 'completed', createdAt: day(9) }] })
  expect(repeated.body.data.generations).toMatchObject({ imported: 1, skipped: 1 })
  expect((await call(u, 'GET', '/templates?scope=own')).body.meta.total).toBe(3)
  expect((await call(u, 'GET', '/generations')).body.meta.total).toBe(5)
})

test("another user never sees an import, and the same export imported by them is theirs alone", async () => {
  const a = await signIn(k, 'pro')
  const b = await signIn(k, 'pro')
  const ra = await importExport(a, v1Export)
  expect(ra.body.data.generations.imported).toBe(3)
  const aHistory = (await call(a, 'GET', '/generations')).body.data as { id: string }[]
  const aTemplates = (await call(a, 'GET', '/templates?scope=own')).body.data as { id: string }[]
  expect((await call(b, 'GET', '/generations')).body.meta.total).toBe(0)
  expect((await call(b, 'GET', '/generations?search=teapot')).body.meta.total).toBe(0)
  for (const g of aHistory) expect((await call(b, 'GET', `/generations/${g.id}`)).status).toBe(404)
  for (const t of aTemplates) expect((await call(b, 'GET', `/templates/${t.id}`)).status).toBe(404)
  // B importing the same export gets separate rows, not A's
  const rb = await importExport(b, v1Export)
  expect(rb.body.data.generations).toMatchObject({ imported: 3, skipped: 0 })
  const bHistory = (await call(b, 'GET', '/generations')).body.data as { id: string }[]
  expect(bHistory.filter((g) => aHistory.some((x) => x.id === g.id))).toEqual([])
  expect((await call(a, 'GET', '/generations')).body.meta.total).toBe(3)
})

test('a wrong version, oversized lists and missing credentials are refused', async () => {
  const u = await signIn(k, 'pro')
  const wrong = await importExport(u, { version: '2.0.0', templates: [] })
  expect(wrong.status).toBe(400)
  expect(wrong.body.error.code).toBe('VALIDATION_ERROR')
  expect(wrong.body.error.details.issues[0].field).toBe('version')
  expect((await importExport(u, { templates: [] })).status).toBe(400)
  const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: i, prompt: 'p', style: 'modern', status: 'completed', createdAt: day(1) }))
  expect((await importExport(u, { version: '1.0', generations: tooMany })).status).toBe(400)
  const big = await importExport(u, { version: '1.0', generations: [{ prompt: 'x'.repeat(1_100_000), style: 'modern', status: 'completed', createdAt: day(1) }] })
  expect(big.status).toBe(413)
  const anon = await importExport(undefined, v1Export)
  expect(anon.status).toBe(401)
  expect((await call(u, 'GET', '/generations')).body.meta.total).toBe(0)
})
