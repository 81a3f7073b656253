/**
 * The typed TypeScript client: Eden Treaty over the exported `App` type talks
 * to a running Kiln with request and response types checked at compile time
 * (`bun run check` type-checks this file) and real answers at run time.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { treaty } from '@elysiajs/eden'
import type { App } from '../../src/transport/http/app'
import { type TestKiln, startKiln } from '../harness'

let k: TestKiln
beforeAll(async () => {
  k = await startKiln({ listen: true })
})
afterAll(() => k.close())

test('Eden Treaty signs in, reads the catalogue, queues a generation and reads it back, all typed', async () => {
  const api = treaty<App>(k.url)
  const styles = await api.api.v1.styles.get()
  expect(styles.status).toBe(200)
  expect(styles.data?.data.some((s) => s.id === 'minimal-icon')).toBe(true)

  const signIn = await api.api.v1.auth.dev.post({ email: 'eden@example.com', tier: 'pro' })
  expect(signIn.status).toBe(200)
  // Credentials go in the client's own headers, sent with every call.
  const me = treaty<App>(k.url, { headers: { authorization: `Bearer ${signIn.data!.data.accessToken}` } })

  const made = await me.api.v1.generations.post({ prompt: 'a typed teapot', style: 'minimal-icon', palette: 'ocean' })
  expect(made.status).toBe(202)
  const id = made.data!.data.id
  expect(made.data!.data.status).toBe('queued')

  const read = await me.api.v1.generations({ id }).get()
  expect(read.status).toBe(200)
  expect(read.data?.data.id).toBe(id)

  // Errors arrive typed too, in the envelope.
  const bad = await me.api.v1.generations.post({ prompt: '', style: 'minimal-icon' })
  expect(bad.status).toBe(400)
  expect(bad.error?.value).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } })
})
