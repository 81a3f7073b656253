/**
 * A real S3-compatible server for tests: s3rver on loopback (port 0), data in
 * a temporary directory, one bucket created. `stop()`/`restart()` simulate
 * the bucket going away and coming back on the same port.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'

export interface FakeS3 {
  endpoint: string
  bucket: string
  port: number
  /** Environment that points Kiln at this server. */
  env: Record<string, string>
  stop(): Promise<void>
  restart(): Promise<void>
  close(): Promise<void>
}

export async function startFakeS3(bucket = 'kiln-test'): Promise<FakeS3> {
  const directory = mkdtempSync(join(tmpdir(), 'kiln-s3-'))
  let port = 0
  let server: S3rver | undefined
  const run = async () => {
    server = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] })
    const addr = (await server.run()) as AddressInfo
    port = addr.port
  }
  await run()
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    bucket,
    port,
    env: {
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    async stop() {
      await server?.close()
      server = undefined
    },
    restart: run,
    async close() {
      await server?.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
