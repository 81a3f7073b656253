/** The configuration: every documented variable parsed, every bad value refused naming its variable. */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config'

const dirs: string[] = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'kiln-config-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const SECRET_A = 'a'.repeat(40)
const SECRET_B = 'b'.repeat(40)

/** Every variable of DESIGN.md's configuration table, set to a valid non-default value. */
const FULL_ENV = () => ({
  PORT: '8080',
  HOST: '127.0.0.1',
  PUBLIC_URL: 'https://kiln.example.com/',
  NODE_ENV: 'production',
  DATA_DIR: tempDir(),
  DATABASE_URL: 'postgres://kiln:pw@db.internal:5432/kiln',
  REDIS_URL: 'redis://cache.internal:6379',
  NODE_NAME: 'node-a',
  JWT_SECRET: SECRET_A,
  SESSION_SECRET: SECRET_B,
  GOOGLE_CLIENT_ID: 'gid.apps.googleusercontent.com',
  GOOGLE_CLIENT_SECRET: 'gsecret',
  GOOGLE_REDIRECT_URI: 'https://kiln.example.com/cb',
  FAL_KEY: 'fal-key',
  FAL_BASE_URL: 'http://127.0.0.1:9999/',
  FAL_WEBHOOK_JWKS_URL: 'http://127.0.0.1:9999/jwks',
  S3_BUCKET: 'images',
  S3_REGION: 'eu-west-1',
  S3_ENDPOINT: 'http://127.0.0.1:4568',
  S3_ACCESS_KEY_ID: 'AKIA',
  S3_SECRET_ACCESS_KEY: 's3secret',
  S3_FORCE_PATH_STYLE: 'true',
  LOG_LEVEL: 'warn',
  LOCAL_PROVIDER_SPEED: '0.5',
  ACTOR_LEASE_MS: '15000',
})

function refused(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ DATA_DIR: tempDir(), ...env })
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error(`accepted ${JSON.stringify(env)}`)
}

describe('loadConfig', () => {
  test('every variable of the table is parsed', () => {
    const env = FULL_ENV()
    const c = loadConfig(env)
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'https://kiln.example.com',
      production: true,
      dataDir: env.DATA_DIR,
      databaseUrl: 'postgres://kiln:pw@db.internal:5432/kiln',
      redisUrl: 'redis://cache.internal:6379',
      nodeName: 'node-a',
      jwtSecret: SECRET_A,
      sessionSecret: SECRET_B,
      google: { clientId: 'gid.apps.googleusercontent.com', clientSecret: 'gsecret', redirectUri: 'https://kiln.example.com/cb' },
      fal: { key: 'fal-key', baseUrl: 'http://127.0.0.1:9999', webhookJwksUrl: 'http://127.0.0.1:9999/jwks' },
      s3: {
        bucket: 'images',
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:4568',
        accessKeyId: 'AKIA',
        secretAccessKey: 's3secret',
        forcePathStyle: true,
      },
      webhookAllowPrivate: [],
      logLevel: 'warn',
      localProviderSpeed: 0.5,
      actorLeaseMs: 15000,
    })
    // the documented table and the test's environment name the same variables
    const documented = CONFIG_VARIABLES.map((v) => v.name).sort()
    expect(documented).toEqual([...Object.keys(env), 'WEBHOOK_ALLOW_PRIVATE'].sort())
  })

  test('WEBHOOK_ALLOW_PRIVATE is a comma list outside production', () => {
    const c = loadConfig({ DATA_DIR: tempDir(), WEBHOOK_ALLOW_PRIVATE: ' 127.0.0.1, LocalHost ,::1' })
    expect(c.webhookAllowPrivate).toEqual(['127.0.0.1', 'localhost', '::1'])
  })

  test('embedded defaults with no environment; secrets are generated once and kept', () => {
    const dir = tempDir()
    const c = loadConfig({ DATA_DIR: dir })
    expect(c).toMatchObject({ port: 3000, host: '0.0.0.0', publicUrl: 'http://localhost:3000', production: false, logLevel: 'info' })
    expect(c.databaseUrl).toBeUndefined()
    expect(c.redisUrl).toBeUndefined()
    expect(c.google).toBeUndefined()
    expect(c.fal).toBeUndefined()
    expect(c.s3).toBeUndefined()
    expect(c.jwtSecret.length).toBeGreaterThanOrEqual(32)
    expect(c.jwtSecret).not.toBe(c.sessionSecret)
    expect(readFileSync(join(dir, 'secrets', 'jwt_secret'), 'utf8')).toBe(c.jwtSecret)
    const again = loadConfig({ DATA_DIR: dir })
    expect(again.jwtSecret).toBe(c.jwtSecret)
    expect(again.sessionSecret).toBe(c.sessionSecret)
    expect(loadConfig({ DATA_DIR: dir, PORT: '4000' }).nodeName).toMatch(/:4000$/)
    expect(loadConfig({ DATA_DIR: dir, FLY_MACHINE_ID: '148e' }).nodeName).toBe('148e')
    // given secrets, a relative DATA_DIR is only resolved, nothing is written there
    expect(loadConfig({ DATA_DIR: 'rel/dir', JWT_SECRET: SECRET_A, SESSION_SECRET: SECRET_B }).dataDir).toBe(resolve('rel/dir'))
    expect(existsSync(resolve('rel'))).toBe(false)
  })

  test('processes starting together on a fresh DATA_DIR all end up with the same generated secrets', async () => {
    const dir = tempDir()
    const script = `import { loadConfig } from ${JSON.stringify(resolve(import.meta.dir, '../../src/config'))}; const c = loadConfig({ DATA_DIR: ${JSON.stringify(dir)} }); console.log(c.jwtSecret + ' ' + c.sessionSecret)`
    const outs = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const p = Bun.spawn(['bun', '-e', script], { stdout: 'pipe', stderr: 'pipe' })
        const [out] = await Promise.all([new Response(p.stdout).text(), p.exited])
        return out.trim()
      }),
    )
    expect(new Set(outs).size).toBe(1)
    expect(outs[0]!.split(' ')[0]).toBe(readFileSync(join(dir, 'secrets', 'jwt_secret'), 'utf8'))
  })

  test.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://cache' }, 'REDIS_URL'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ GOOGLE_CLIENT_ID: 'gid' }, 'GOOGLE_CLIENT_SECRET'],
    [{ GOOGLE_CLIENT_SECRET: 'gs' }, 'GOOGLE_CLIENT_ID'],
    [{ S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'AKIA' }, 'S3_SECRET_ACCESS_KEY'],
    [{ S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE'],
    [{ FAL_BASE_URL: 'nope' }, 'FAL_BASE_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ LOCAL_PROVIDER_SPEED: 'fast' }, 'LOCAL_PROVIDER_SPEED'],
    [{ WEBHOOK_ALLOW_PRIVATE: 'http://127.0.0.1:8080' }, 'WEBHOOK_ALLOW_PRIVATE'],
  ] as [Record<string, string>, string][])('%o is refused naming %s', (env, variable) => {
    const err = refused(env)
    expect(err.variable).toBe(variable)
    expect(err.message.startsWith(`${variable}:`)).toBe(true)
  })

  test('production refuses to start without real secrets, a database, or with the SSRF allow-list', () => {
    const prod = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/kiln', JWT_SECRET: SECRET_A, SESSION_SECRET: SECRET_B }
    expect(loadConfig({ DATA_DIR: tempDir(), ...prod }).production).toBe(true)
    expect(refused({ ...prod, JWT_SECRET: '' }).variable).toBe('JWT_SECRET')
    expect(refused({ ...prod, SESSION_SECRET: '' }).variable).toBe('SESSION_SECRET')
    expect(refused({ ...prod, DATABASE_URL: '' }).variable).toBe('DATABASE_URL')
    expect(refused({ ...prod, WEBHOOK_ALLOW_PRIVATE: '127.0.0.1' }).variable).toBe('WEBHOOK_ALLOW_PRIVATE')
    // production never writes generated secrets to disk
    const dir = tempDir()
    try {
      loadConfig({ ...prod, DATA_DIR: dir, JWT_SECRET: '' })
    } catch {}
    expect(existsSync(join(dir, 'secrets'))).toBe(false)
  })
})

describe('start-up with a bad value', () => {
  test('`bun run src/main.ts` with PORT=abc exits 1 with one line naming PORT', async () => {
    const dir = tempDir()
    const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
      cwd: resolve(import.meta.dir, '../..'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: 'abc', DATA_DIR: dir },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    expect(code).toBe(1)
    expect(out).toBe('')
    const lines = err.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('PORT')
    expect(lines[0]).toContain('abc')
    // nothing was created before the configuration was validated
    expect(existsSync(join(dir, 'pg'))).toBe(false)
  })
})
