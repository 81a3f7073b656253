/**
 * Kiln's configuration: read from the environment once at start, validated,
 * and handed to everything else. Nothing outside this module reads process.env.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Config {
  port: number
  host: string
  publicUrl: string
  production: boolean
  dataDir: string
  databaseUrl?: string
  redisUrl?: string
  nodeName: string
  /**
   * On Fly.io (FLY_MACHINE_ID set and used as the node name): a REST request for
   * a user whose actor lives on another machine is answered with `fly-replay`,
   * so Fly's proxy replays it there instead of this node forwarding it.
   */
  flyReplay: boolean
  jwtSecret: string
  sessionSecret: string
  /**
   * Secrets not given in the environment (generated and kept under DATA_DIR).
   * On PostgreSQL the nodes of one database agree on them through the
   * database at start (see `shareGeneratedSecrets`), so tokens work on every node.
   */
  generatedSecrets: SecretName[]
  google?: { clientId: string; clientSecret: string; redirectUri: string }
  fal?: { key: string; baseUrl: string; webhookJwksUrl: string }
  s3?: {
    bucket: string
    region: string
    endpoint?: string
    accessKeyId?: string
    secretAccessKey?: string
    forcePathStyle: boolean
  }
  webhookAllowPrivate: string[]
  logLevel: LogLevel
  /** Speed factor of the local provider: 1 is the real pace, 0.01 is a hundred times faster (tests). */
  localProviderSpeed: number
  /** Redis lease of a session actor (cluster mode); renewed every third of it. */
  actorLeaseMs: number
}

/** One row of the documented configuration table; README's table is checked against this list. */
export interface ConfigVariable {
  name: string
  default: string
  meaning: string
}

export const CONFIG_VARIABLES: ConfigVariable[] = [
  { name: 'PORT', default: '3000', meaning: 'TCP port Kiln listens on' },
  { name: 'HOST', default: '0.0.0.0', meaning: 'interface Kiln binds to' },
  { name: 'PUBLIC_URL', default: 'http://localhost:$PORT', meaning: 'how Kiln names itself in links, signed URLs and provider webhooks' },
  { name: 'NODE_ENV', default: 'development', meaning: '`production` refuses dev sign-in and requires real secrets' },
  { name: 'DATA_DIR', default: './data', meaning: 'PGlite files, local storage and generated secrets in embedded mode' },
  { name: 'DATABASE_URL', default: '(PGlite)', meaning: 'PostgreSQL connection string; unset → PGlite under `DATA_DIR`' },
  { name: 'REDIS_URL', default: '(in-process bus)', meaning: 'Redis for cluster coordination; unset → one node' },
  { name: 'NODE_NAME', default: '`FLY_MACHINE_ID`, else host:port', meaning: "this node's name in leases, logs and `hello`" },
  { name: 'JWT_SECRET', default: "(generated under `DATA_DIR`; nodes on one PostgreSQL share the first node's)", meaning: 'signs access tokens; required in production' },
  { name: 'SESSION_SECRET', default: "(generated under `DATA_DIR`; nodes on one PostgreSQL share the first node's)", meaning: 'signs cookies and file URLs; required in production' },
  { name: 'GOOGLE_CLIENT_ID', default: '', meaning: 'Google OAuth client id' },
  { name: 'GOOGLE_CLIENT_SECRET', default: '', meaning: 'Google OAuth client secret' },
  { name: 'GOOGLE_REDIRECT_URI', default: '`$PUBLIC_URL/api/v1/auth/google/callback`', meaning: 'OAuth callback URL registered at Google' },
  { name: 'FAL_KEY', default: '(local provider)', meaning: 'fal.ai key; set → the `fal` provider runs generations' },
  { name: 'FAL_BASE_URL', default: 'https://queue.fal.run', meaning: "overrides fal's queue URL (proxies, tests)" },
  { name: 'FAL_WEBHOOK_JWKS_URL', default: 'https://rest.alpha.fal.ai/.well-known/jwks.json', meaning: "keys for fal's webhook signatures" },
  { name: 'S3_BUCKET', default: '(local files)', meaning: 'bucket for images; set → S3-compatible storage' },
  { name: 'S3_REGION', default: 'auto', meaning: 'bucket region' },
  { name: 'S3_ENDPOINT', default: '', meaning: 'S3-compatible endpoint (R2, Tigris, MinIO)' },
  { name: 'S3_ACCESS_KEY_ID', default: '', meaning: 'S3 access key' },
  { name: 'S3_SECRET_ACCESS_KEY', default: '', meaning: 'S3 secret key' },
  { name: 'S3_FORCE_PATH_STYLE', default: 'false', meaning: 'path-style bucket URLs (MinIO, s3rver)' },
  { name: 'WEBHOOK_ALLOW_PRIVATE', default: '', meaning: 'comma list of hosts exempt from the SSRF guard; tests only' },
  { name: 'LOG_LEVEL', default: 'info', meaning: '`debug`, `info`, `warn` or `error`' },
  { name: 'LOCAL_PROVIDER_SPEED', default: '1', meaning: 'pace of the local provider (0.01 = 100× faster, for tests)' },
  { name: 'ACTOR_LEASE_MS', default: '10000', meaning: "how long a node's claim on a user's actor lasts unrenewed (cluster); failover takes about this long" },
]

type Env = Record<string, string | undefined>

function str(env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got "${raw}"`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

function num(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ConfigError(name, `must be a number between ${min} and ${max}, got "${raw}"`)
  return n
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name)?.toLowerCase()
  if (raw === undefined) return fallback
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true
  if (['0', 'false', 'no', 'off'].includes(raw)) return false
  throw new ConfigError(name, `expected true or false, got "${raw}"`)
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name)
  if (raw === undefined) return undefined
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(name, 'is not a valid URL')
  }
  if (!protocols.includes(parsed.protocol))
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`)
  return raw.replace(/\/+$/, '')
}

/** A secret from the environment, or (outside production) one generated once and kept under DATA_DIR. */
export type SecretName = 'JWT_SECRET' | 'SESSION_SECRET'

function secret(env: Env, name: SecretName, production: boolean, dataDir: string): string {
  const raw = str(env, name)
  if (raw !== undefined) {
    if (raw.length < 32) throw new ConfigError(name, 'must be at least 32 characters')
    return raw
  }
  if (production) throw new ConfigError(name, 'is required when NODE_ENV=production')
  const file = join(dataDir, 'secrets', name.toLowerCase())
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 })
  // Written aside and linked into place: of several processes starting on one DATA_DIR, the first link wins and all read it.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  writeFileSync(draft, randomBytes(32).toString('base64url'), { mode: 0o600 })
  try {
    linkSync(draft, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    rmSync(draft, { force: true })
  }
  return readFileSync(file, 'utf8').trim()
}

/** Parses and validates the whole configuration; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const production = str(env, 'NODE_ENV') === 'production'
  const port = int(env, 'PORT', 3000, 0, 65535)
  const host = str(env, 'HOST') ?? '0.0.0.0'
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`
  const dataDir = resolve(str(env, 'DATA_DIR') ?? './data')
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'])
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:'])
  const levelRaw = (str(env, 'LOG_LEVEL') ?? 'info').toLowerCase()
  if (!['debug', 'info', 'warn', 'error'].includes(levelRaw))
    throw new ConfigError('LOG_LEVEL', `must be debug, info, warn or error, got "${levelRaw}"`)

  const googleId = str(env, 'GOOGLE_CLIENT_ID')
  const googleSecret = str(env, 'GOOGLE_CLIENT_SECRET')
  if (Boolean(googleId) !== Boolean(googleSecret))
    throw new ConfigError(googleId ? 'GOOGLE_CLIENT_SECRET' : 'GOOGLE_CLIENT_ID', 'Google sign-in needs both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET')
  const google =
    googleId && googleSecret
      ? {
          clientId: googleId,
          clientSecret: googleSecret,
          redirectUri: url(env, 'GOOGLE_REDIRECT_URI', ['http:', 'https:']) ?? `${publicUrl}/api/v1/auth/google/callback`,
        }
      : undefined

  const falKey = str(env, 'FAL_KEY')
  const fal = falKey
    ? {
        key: falKey,
        baseUrl: url(env, 'FAL_BASE_URL', ['http:', 'https:']) ?? 'https://queue.fal.run',
        webhookJwksUrl:
          url(env, 'FAL_WEBHOOK_JWKS_URL', ['http:', 'https:']) ?? 'https://rest.alpha.fal.ai/.well-known/jwks.json',
      }
    : undefined
  if (!fal) {
    url(env, 'FAL_BASE_URL', ['http:', 'https:'])
    url(env, 'FAL_WEBHOOK_JWKS_URL', ['http:', 'https:'])
  }

  const bucket = str(env, 'S3_BUCKET')
  const s3 = bucket
    ? {
        bucket,
        region: str(env, 'S3_REGION') ?? 'auto',
        endpoint: url(env, 'S3_ENDPOINT', ['http:', 'https:']),
        accessKeyId: str(env, 'S3_ACCESS_KEY_ID'),
        secretAccessKey: str(env, 'S3_SECRET_ACCESS_KEY'),
        forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', false),
      }
    : undefined
  if (s3 && Boolean(s3.accessKeyId) !== Boolean(s3.secretAccessKey))
    throw new ConfigError('S3_SECRET_ACCESS_KEY', 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together')

  const webhookAllowPrivate = (str(env, 'WEBHOOK_ALLOW_PRIVATE') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean)
  for (const h of webhookAllowPrivate)
    if (/[/:]/.test(h) && !h.includes('::') && !/^\[?[0-9a-f:]+\]?$/.test(h))
      throw new ConfigError('WEBHOOK_ALLOW_PRIVATE', `"${h}" must be a bare hostname or IP, without port or scheme`)
  if (production && webhookAllowPrivate.length > 0)
    throw new ConfigError('WEBHOOK_ALLOW_PRIVATE', 'must not be set when NODE_ENV=production')

  if (production && databaseUrl === undefined)
    throw new ConfigError('DATABASE_URL', 'is required when NODE_ENV=production')

  const nodeName = str(env, 'NODE_NAME') ?? str(env, 'FLY_MACHINE_ID') ?? `${hostname()}:${port}`

  return {
    port,
    host,
    publicUrl,
    production,
    dataDir,
    databaseUrl,
    redisUrl,
    nodeName,
    flyReplay: str(env, 'FLY_MACHINE_ID') !== undefined && str(env, 'FLY_MACHINE_ID') === nodeName,
    jwtSecret: secret(env, 'JWT_SECRET', production, dataDir),
    sessionSecret: secret(env, 'SESSION_SECRET', production, dataDir),
    generatedSecrets: (['JWT_SECRET', 'SESSION_SECRET'] as const).filter((n) => str(env, n) === undefined),
    google,
    fal,
    s3,
    webhookAllowPrivate,
    logLevel: levelRaw as LogLevel,
    localProviderSpeed: num(env, 'LOCAL_PROVIDER_SPEED', 1, 0.0001, 100),
    actorLeaseMs: int(env, 'ACTOR_LEASE_MS', 10_000, 500, 600_000),
  }
}
