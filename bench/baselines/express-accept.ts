/**
 * Baseline for bench:accept and bench:get: a minimal Express 5 + node-postgres
 * + ioredis service. POST /api/v1/generations validates the body by hand,
 * takes a token from a per-user Redis token bucket (one Lua script), inserts
 * the row and answers 202; GET /api/v1/generations/:id reads one row by id and
 * owner. The user is named by `x-user-id` (no credential check: the baseline
 * does strictly less work than Kiln). Env: PORT, DATABASE_URL, REDIS_URL.
 */
import { randomBytes } from 'node:crypto'
import express from 'express'
import Redis from 'ioredis'
import pg from 'pg'

const port = Number(process.env.PORT ?? 3100)
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 })
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')

// Token bucket: capacity ARGV[1], refilled over 60 s; returns {allowed, tokens as string}.
const BUCKET = `
local cap = tonumber(ARGV[1]); local now = tonumber(ARGV[2]); local rate = cap / 60000
local s = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(s[1]) or cap; local at = tonumber(s[2]) or now
tokens = math.min(cap, tokens + (now - at) * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return {ok, tostring(tokens)}`

const STYLES = new Set(['voxel-3d', 'minimal-icon', 'glass-morphism', 'neon-glow', 'toy-figurine', 'modern', 'minimal', 'corporate', 'cyberpunk', 'hand-drawn'])
const RATIOS = new Set(['1:1', '4:3', '3:4', '16:9', '9:16'])
const id = () => `gen_${Date.now().toString(36)}${randomBytes(8).toString('hex')}`

const app = express()
app.use(express.json({ limit: '1mb' }))

app.post('/api/v1/generations', async (req, res) => {
  const user = req.header('x-user-id')
  if (!user) return res.status(401).json({ success: false, error: { code: 'UNAUTHORIZED' } })
  const b = req.body ?? {}
  const prompt = b.prompt ?? b.topic
  if (typeof prompt !== 'string' || prompt.length < 1 || prompt.length > 2000 || !STYLES.has(b.style) || (b.aspectRatio && !RATIOS.has(b.aspectRatio)))
    return res.status(400).json({ success: false, error: { code: 'VALIDATION_ERROR' } })
  const [allowed, tokens] = (await redis.eval(BUCKET, 1, `rl:${user}`, 300, Date.now())) as [number, string]
  res.setHeader('x-ratelimit-limit', '300')
  res.setHeader('x-ratelimit-remaining', String(Math.floor(Number(tokens))))
  if (!allowed) return res.status(429).json({ success: false, error: { code: 'RATE_LIMIT_EXCEEDED' } })
  const { rows } = await pool.query(
    `insert into generations (id, user_id, prompt, style, palette, aspect_ratio, size, seed, provider)
     values ($1, $2, $3, $4, $5, $6, $7, $8, 'local') returning id, status, progress, created_at`,
    [id(), user, prompt, b.style, b.palette ?? null, b.aspectRatio ?? '1:1', b.size ?? '1K', Math.floor(Math.random() * 2 ** 31)],
  )
  res.status(202).json({ success: true, data: rows[0] })
})

app.get('/api/v1/generations/:id', async (req, res) => {
  const user = req.header('x-user-id')
  if (!user) return res.status(401).json({ success: false, error: { code: 'UNAUTHORIZED' } })
  const { rows } = await pool.query('select * from generations where id = $1 and user_id = $2', [req.params.id, user])
  if (!rows[0]) return res.status(404).json({ success: false, error: { code: 'NOT_FOUND' } })
  res.json({ success: true, data: rows[0] })
})

app.get('/health', (_req, res) => {
  res.json({ status: 'ok' })
})

app.listen(port, '127.0.0.1', () => console.log(`express baseline on ${port}`))
