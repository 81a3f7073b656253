/**
 * The playground in headless Chromium against a real Kiln on loopback: dev
 * sign-in, pick a style, generate, watch it complete over the socket, find it
 * in the history, like it, switch to Arabic. Skips (with a warning) where
 * /usr/bin/chromium is missing, except in CI, where it must run.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { type Browser, type Page, chromium } from 'playwright-core'
import { MAX_BODY_BYTES } from '../../src/transport/http/request-context'
import { type TestKiln, startKiln } from '../harness'
import { freePort } from '../services'

const CHROMIUM = '/usr/bin/chromium'
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false'
const skip = !existsSync(CHROMIUM) && !inCI
if (skip) console.warn(`skipping the playground e2e test: ${CHROMIUM} is missing (apt-get install -y chromium); CI runs it`)

let k: TestKiln
let base: string
let browser: Browser
let attempt = 0

beforeAll(async () => {
  if (skip) return
  // Signed file URLs name PUBLIC_URL, so Kiln listens on a port chosen up front.
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  k = await startKiln({ env: { PUBLIC_URL: base } })
  k.kiln.app.listen({ port, hostname: '127.0.0.1', maxRequestBodySize: MAX_BODY_BYTES })
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  // Bundle the app before the browser asks for it, so the first page load is not the one paying for it.
  expect((await fetch(`${base}/playground.js`)).status).toBe(200)
}, 30_000)

/** A fresh browser context and page that record every page error, console error and failed response. */
async function freshPage(): Promise<{ page: Page; problems: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  // Failed responses are read from Chromium's own console line rather than from network events: listening for
  // those makes playwright-core stream every request, where a rare race on Bun once broke a run.
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text())
    problems.push(failed ? `${failed[1]} ${m.location().url}` : `console: ${m.text()}`)
  })
  return { page, problems, close: () => context.close() }
}

afterAll(async () => {
  if (skip) return
  await browser?.close()
  await k?.kiln.app.server?.stop(true)
  await k?.close()
})

test.skipIf(skip)(
  'sign in, generate, see it live and in history, like it, switch to Arabic',
  async () => {
    // Each attempt is a new visitor (its own context and user), so a retry starts from scratch.
    const { page, problems, close } = await freshPage()
    const email = `e2e-${++attempt}@example.com`
    try {
      await page.goto(`${base}/`)
      await page.fill('#email', email)
      await page.selectOption('#tier', 'pro')
      await page.click('#signin button[type=submit]')
      // Either the signed-in header or an error: fail with what the page said, not a bare timeout.
      await page.waitForSelector('#user, #error:not([hidden])', { timeout: 15_000 })
      if (await page.locator('#error:not([hidden])').count()) throw new Error(`sign-in failed: ${await page.locator('#error').textContent()} (${problems.join('; ')})`)
      await expect(page.locator('#user').textContent()).resolves.toContain(email)

      await page.locator('.style-option[data-id="neon-glow"]').click()
      await expect(page.locator('.style-option[data-id="neon-glow"]').getAttribute('aria-pressed')).resolves.toBe('true')
      await page.locator('.palette-option[data-id="ocean"]').click()
      await page.selectOption('#aspect', '16:9')
      await page.fill('#prompt', 'a lighthouse at dusk')
      await page.click('#generate')

      // The stage appears, then the finished image arrives over the socket.
      await page.waitForSelector('#stage', { timeout: 10_000 })
      const img = page.locator('#result img')
      await img.waitFor({ timeout: 30_000 })
      await expect(page.locator('#stage').getAttribute('data-stage')).resolves.toBe('completed')
      await page.waitForFunction(() => {
        const el = document.querySelector<HTMLImageElement>('#result img')
        return Boolean(el?.complete && el.naturalWidth > 0)
      })
      await expect(img.evaluate((el: HTMLImageElement) => el.naturalWidth / el.naturalHeight)).resolves.toBeCloseTo(16 / 9, 1)

      const card = page.locator('#history .card[data-status="completed"]')
      await card.first().waitFor({ timeout: 10_000 })
      await expect(card.count()).resolves.toBe(1)
      await expect(card.locator('figcaption').textContent()).resolves.toBe('a lighthouse at dusk')
      await card.locator('button.like').click()
      await page.waitForSelector('#history .card button.like[aria-pressed="true"]')

      if (process.env.KILN_E2E_SCREENSHOT) await page.screenshot({ path: process.env.KILN_E2E_SCREENSHOT, fullPage: true })

      await page.click('#lang')
      await expect(page.evaluate(() => [document.documentElement.dir, document.documentElement.lang])).resolves.toEqual(['rtl', 'ar'])
      await expect(page.locator('#history h2').textContent()).resolves.toBe('السجل')
      // The catalogue is fetched again in Arabic; the choice survives a reload.
      await page.reload()
      await page.waitForSelector('#history .card')
      await expect(page.evaluate(() => document.documentElement.dir)).resolves.toBe('rtl')
      if (process.env.KILN_E2E_SCREENSHOT) await page.screenshot({ path: process.env.KILN_E2E_SCREENSHOT.replace(/\.png$/, '-ar.png'), fullPage: true })

      // The only failed request is the signed-out probe of the first visit.
      expect(problems).toEqual([`401 ${base}/api/v1/auth/user`])
    } finally {
      await close()
    }
  },
  // One retry: playwright-core on Bun has been seen, once in many runs, to receive an event for a request it had not bound yet.
  { timeout: 60_000, retry: 1 },
)

test.skipIf(skip)(
  'an error envelope reaches the page: 429 with its message once the free tier per-minute budget is spent',
  async () => {
    const context = await browser.newContext()
    const p = await context.newPage()
    await p.goto(`${base}/`)
    await p.fill('#email', 'free-e2e@example.com')
    await p.click('#signin button[type=submit]')
    await p.waitForSelector('#history h2')
    // Spend the rest of the 10 requests a minute with the same session cookie.
    await p.evaluate(async () => {
      for (let i = 0; i < 12; i++) await fetch('/api/v1/auth/user', { credentials: 'same-origin' })
    })
    await p.reload()
    const error = p.locator('#error')
    await error.waitFor({ state: 'visible', timeout: 5000 })
    await expect(error.textContent()).resolves.toMatch(/^RATE_LIMIT_EXCEEDED: .+\(retry in \d+ s\)/)
    await context.close()
  },
  30_000,
)
