/**
 * Baseline for bench:http: a minimal Express 5 app serving the same two
 * endpoints as Kiln, GET /health and GET /api/v1/styles (the same envelope and
 * localised views of the same seeded catalogue, held in memory as Kiln's cache
 * holds it), with the same caching headers. Run on Bun, like Kiln, so the
 * comparison is between frameworks rather than runtimes. Env: PORT.
 */
import express from 'express'
import { STYLE_SEEDS } from '../../src/domain/catalogue/data'

const port = Number(process.env.PORT ?? 3100)
type Lang = 'en' | 'ar'
const views: Record<Lang, unknown> = { en: view('en'), ar: view('ar') }

function view(lang: Lang) {
  return [...STYLE_SEEDS]
    .sort((a, b) => a.sortOrder - b.sortOrder)
    .map((s) => ({
      id: s.id,
      kind: s.kind,
      title: s.title[lang],
      description: s.description[lang],
      defaultPrompt: s.defaultPrompt[lang],
      previewImage: `/static/styles/${s.id}.webp`,
      sortOrder: s.sortOrder,
      model: s.falModel,
    }))
}

const app = express()
app.disable('x-powered-by')
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' })
})
app.get('/api/v1/styles', (req, res) => {
  const lang: Lang = /^\s*ar\b/i.test(req.get('accept-language') ?? '') ? 'ar' : 'en'
  res.set({ 'content-language': lang, 'cache-control': 'public, max-age=60', vary: 'Accept-Language, Accept-Encoding' })
  res.json({ success: true, data: views[lang] })
})
app.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port })))
