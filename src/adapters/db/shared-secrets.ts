/**
 * Generated secrets shared through PostgreSQL: nodes started without
 * JWT_SECRET / SESSION_SECRET (outside production) would otherwise each keep
 * their own under their DATA_DIR, and a token or signed URL from one node would
 * fail on the next. The first node to start stores its value; the others adopt it.
 */
import { inArray } from 'drizzle-orm'
import type { Config, SecretName } from '../../config'
import type { Db } from './client'
import { sharedSecrets } from './schema'

const FIELD: Record<SecretName, 'jwtSecret' | 'sessionSecret'> = { JWT_SECRET: 'jwtSecret', SESSION_SECRET: 'sessionSecret' }

/** Replaces the config's generated secrets with the values the database holds (storing ours where it holds none). */
export async function shareGeneratedSecrets(db: Db, config: Config): Promise<void> {
  const names = config.generatedSecrets
  if (names.length === 0) return
  await db
    .insert(sharedSecrets)
    .values(names.map((name) => ({ name, value: config[FIELD[name]] })))
    .onConflictDoNothing()
  const rows = await db.select().from(sharedSecrets).where(inArray(sharedSecrets.name, names))
  for (const row of rows) config[FIELD[row.name as SecretName]] = row.value
}
