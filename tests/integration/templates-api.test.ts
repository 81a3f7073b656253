/** Templates: CRUD of own templates, public ones readable by all, others' private ones invisible, and their use in generations. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestKiln, json, startKiln } from '../harness'
import { type Signed, signIn } from './generations-support'

let k: TestKiln
let a: Signed
let b: Signed
beforeAll(async () => {
  k = await startKiln()
  // enterprise: the per-minute request limit never interferes here
  ;[a, b] = await Promise.all([signIn(k, 'enterprise'), signIn(k, 'enterprise')])
})
afterAll(() => k.close())

const call = (u: Signed | undefined, method: string, path: string, body?: unknown) =>
  json(k.request(`/api/v1${path}`, { method, headers: u?.headers ?? {}, ...(body === undefined ? {} : { json: body }) }))

const create = (u: Signed, body: Record<string, unknown>) => call(u, 'POST', '/templates', body)

const iconDefaults = { name: 'Blue icons', config: { style: 'voxel-3d', palette: 'ocean', aspectRatio: 'square', size: '1K' } }

test('create, read, list, replace and delete an own template', async () => {
  const created = await create(a, { ...iconDefaults, description: '  for the app store  ' })
  expect(created.status).toBe(201)
  const tpl = created.body.data
  expect(tpl.id).toMatch(/^tpl_/)
  expect(created.headers.get('location')).toBe(`/api/v1/templates/${tpl.id}`)
  expect(tpl).toMatchObject({
    name: 'Blue icons',
    description: 'for the app store',
    isPublic: false,
    isOwn: true,
    owner: { id: a.id },
    // aliases are stored as the canonical value
    config: { style: 'voxel-3d', palette: 'ocean', aspectRatio: '1:1', size: '1K' },
  })
  expect(Date.parse(tpl.createdAt)).not.toBeNaN()

  const got = await call(a, 'GET', `/templates/${tpl.id}`)
  expect(got.status).toBe(200)
  expect(got.body.data).toEqual(tpl)

  const second = (await create(a, { name: 'Infographic', config: { topic: 'water cycle', style: 'modern', customColors: ['#AABBCC'] } })).body.data
  expect(second.config).toEqual({ prompt: 'water cycle', style: 'modern', customColors: ['#aabbcc'] })
  expect(second.description).toBeNull()

  const list = await call(a, 'GET', '/templates?scope=own')
  expect(list.status).toBe(200)
  expect(list.body.meta).toMatchObject({ page: 1, limit: 20, total: 2, totalPages: 1 })
  expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([second.id, tpl.id])
  const paged = await call(a, 'GET', '/templates?scope=own&limit=1&page=2')
  expect(paged.body.meta).toMatchObject({ page: 2, limit: 1, total: 2, totalPages: 2 })
  expect(paged.body.data.map((x: { id: string }) => x.id)).toEqual([tpl.id])
  const searched = await call(a, 'GET', '/templates?scope=own&search=INFO')
  expect(searched.body.data.map((x: { id: string }) => x.id)).toEqual([second.id])
  expect((await call(a, 'GET', '/templates?search=100%25')).body.meta.total).toBe(0)

  const put = await call(a, 'PUT', `/templates/${tpl.id}`, { name: 'Green icons', isPublic: true, config: { style: 'voxel-3d', palette: 'forest' } })
  expect(put.status).toBe(200)
  expect(put.body.data).toMatchObject({ id: tpl.id, name: 'Green icons', description: null, isPublic: true, config: { style: 'voxel-3d', palette: 'forest' } })
  expect(put.body.data.config).not.toHaveProperty('aspectRatio')
  expect(Date.parse(put.body.data.updatedAt)).toBeGreaterThanOrEqual(Date.parse(tpl.updatedAt))

  const del = await call(a, 'DELETE', `/templates/${second.id}`)
  expect(del.status).toBe(200)
  expect(del.body.data).toEqual({ id: second.id, deleted: true })
  expect((await call(a, 'GET', `/templates/${second.id}`)).status).toBe(404)
  expect((await call(a, 'DELETE', `/templates/${second.id}`)).status).toBe(404)
})

test('bad templates are 400 VALIDATION_ERROR with the field named', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ name: 'x', config: { style: 'no-such-style' } }, 'config.style'],
    [{ name: 'x', config: { style: 'modern', palette: 'no-such-palette' } }, 'config.palette'],
    [{ name: 'x', config: { palette: 'ocean', customColors: ['#112233'] } }, 'config.customColors'],
    [{ name: 'x', config: { style: 'modern', colour: 'red' } }, 'config.colour'],
    [{ name: 'x', config: { sourceImageId: 'upl_abc' } }, 'config.sourceImageId'],
    [{ name: 'x', config: {}, owner: 'me' }, 'owner'],
    [{ name: '', config: {} }, 'name'],
    [{ name: 'n'.repeat(101), config: {} }, 'name'],
    [{ name: 'x', description: 'd'.repeat(501), config: {} }, 'description'],
    [{ name: 'x', config: { aspectRatio: '2:1' } }, 'config.aspectRatio'],
    [{ name: 'x', config: { customColors: ['blue'] } }, 'config.customColors.0'],
    [{ name: 'x', config: { prompt: 'one', topic: 'two' } }, 'config.topic'],
    [{ name: 'x' }, 'config'],
  ]
  for (const [body, field] of cases) {
    const r = await create(a, body)
    expect(r.status, JSON.stringify(body)).toBe(400)
    expect(r.body.error.code).toBe('VALIDATION_ERROR')
    const fields = r.body.error.details.issues.map((i: { field: string }) => i.field)
    expect(fields, JSON.stringify(body)).toContain(field)
  }
  const mine = (await create(a, iconDefaults)).body.data
  const badPut = await call(a, 'PUT', `/templates/${mine.id}`, { name: 'x', config: { style: 'nope' } })
  expect(badPut.status).toBe(400)
  expect(badPut.body.error.details.issues[0].field).toBe('config.style')
  expect((await call(a, 'GET', '/templates?limit=101')).status).toBe(400)
  expect((await call(a, 'GET', '/templates?scope=mine')).status).toBe(400)
})

test('without credentials every template route is 401', async () => {
  const mine = (await create(a, iconDefaults)).body.data
  for (const [method, path, body] of [
    ['GET', '/templates'],
    ['POST', '/templates', iconDefaults],
    ['GET', `/templates/${mine.id}`],
    ['PUT', `/templates/${mine.id}`, iconDefaults],
    ['DELETE', `/templates/${mine.id}`],
  ] as [string, string, unknown?][]) {
    const r = await call(undefined, method, path, body)
    expect(r.status, `${method} ${path}`).toBe(401)
    expect(r.body.error.code).toBe('UNAUTHORIZED')
  }
})

test("another user's private template is 404; a public one is listed and readable but not changeable", async () => {
  const secret = (await create(a, { ...iconDefaults, name: 'A secret' })).body.data
  const shared = (await create(a, { ...iconDefaults, name: 'A shared', isPublic: true })).body.data
  const bOwn = (await create(b, { name: 'B own', config: { style: 'modern' } })).body.data

  for (const [method, body] of [['GET'], ['PUT', iconDefaults], ['DELETE']] as [string, unknown?][]) {
    const r = await call(b, method, `/templates/${secret.id}`, body)
    expect(r.status, method).toBe(404)
    expect(r.body.error.code).toBe('NOT_FOUND')
  }
  const read = await call(b, 'GET', `/templates/${shared.id}`)
  expect(read.status).toBe(200)
  expect(read.body.data).toMatchObject({ id: shared.id, isPublic: true, isOwn: false, owner: { id: a.id } })
  for (const [method, body] of [['PUT', { ...iconDefaults, name: 'taken over' }], ['DELETE']] as [string, unknown?][]) {
    const r = await call(b, method, `/templates/${shared.id}`, body)
    expect(r.status, method).toBe(404)
  }
  expect((await call(a, 'GET', `/templates/${shared.id}`)).body.data.name).toBe('A shared')

  const ids = async (query: string) => (await call(b, 'GET', `/templates${query}`)).body.data.map((x: { id: string }) => x.id) as string[]
  const all = await ids('?limit=100')
  expect(all).toContain(shared.id)
  expect(all).toContain(bOwn.id)
  expect(all).not.toContain(secret.id)
  expect(all.indexOf(bOwn.id)).toBeLessThan(all.indexOf(shared.id))
  expect(await ids('?scope=own&limit=100')).toEqual([bOwn.id])
  const pub = await ids('?scope=public&limit=100')
  expect(pub).toContain(shared.id)
  expect(pub).not.toContain(bOwn.id)
  expect(pub).not.toContain(secret.id)
  // a malformed id is as missing as an unknown one
  expect((await call(b, 'GET', '/templates/nope')).status).toBe(404)
})

test('a generation takes its defaults from a template, explicit fields win, and others’ private templates are 404', async () => {
  const tpl = (
    await create(a, { name: 'Wide neon', config: { prompt: 'city skyline', style: 'neon-glow', palette: 'sunset', aspectRatio: 'landscape', seed: 42 } })
  ).body.data
  const plain = await call(a, 'POST', '/generations', { templateId: tpl.id })
  expect(plain.status).toBe(202)
  expect(plain.body.data).toMatchObject({ prompt: 'city skyline', style: 'neon-glow', palette: 'sunset', aspectRatio: '16:9', seed: 42, templateId: tpl.id })

  const overridden = await call(a, 'POST', '/generations', { templateId: tpl.id, prompt: 'a harbour', style: 'voxel-3d', customColors: ['#102030'] })
  expect(overridden.status).toBe(202)
  expect(overridden.body.data).toMatchObject({
    prompt: 'a harbour',
    style: 'voxel-3d',
    palette: null,
    customColors: ['#102030'],
    aspectRatio: '16:9',
    templateId: tpl.id,
  })

  const secret = (await create(a, { name: 'A private', config: { style: 'modern' } })).body.data
  const denied = await call(b, 'POST', '/generations', { templateId: secret.id, prompt: 'borrowed' })
  expect(denied.status).toBe(404)
  expect(denied.body.error.code).toBe('NOT_FOUND')

  const shared = (await create(a, { name: 'A public', isPublic: true, config: { style: 'modern', palette: 'forest', aspectRatio: '3:4' } })).body.data
  const used = await call(b, 'POST', '/generations', { templateId: shared.id, prompt: 'a chart of rainfall' })
  expect(used.status).toBe(202)
  expect(used.body.data).toMatchObject({ style: 'modern', palette: 'forest', aspectRatio: '3:4', templateId: shared.id })

  // deleting the template leaves the generations made from it, with its id as history
  expect((await call(a, 'DELETE', `/templates/${tpl.id}`)).status).toBe(200)
  const kept = await call(a, 'GET', `/generations/${plain.body.data.id}`)
  expect(kept.status).toBe(200)
  expect(kept.body.data.templateId).toBe(tpl.id)
  expect((await call(a, 'POST', '/generations', { templateId: tpl.id })).status).toBe(404)
})
