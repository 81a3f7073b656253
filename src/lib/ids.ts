import { randomBytes } from 'node:crypto'

/** Prefixes of ids that people see; one place so that they stay distinct. */
export const ID_PREFIX = {
  user: 'usr',
  session: 'ses',
  refreshToken: 'rt',
  apiKey: 'key',
  generation: 'gen',
  upload: 'upl',
  batch: 'bat',
  batchItem: 'bit',
  template: 'tpl',
  webhook: 'whk',
  delivery: 'dlv',
  request: 'req',
  ticket: 'tkt',
  oauthAccount: 'oac',
} as const

export type IdKind = keyof typeof ID_PREFIX

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'

/**
 * A new id such as `gen_0lz3k2m9a1b2c3d4e5f6`: a time-ordered prefix (so ids sort by
 * creation, which keeps B-tree inserts local) followed by 80 random bits.
 */
export function newId(kind: IdKind): string {
  const time = Date.now().toString(36).padStart(9, '0')
  const bytes = randomBytes(12)
  let rand = ''
  for (const b of bytes) rand += ALPHABET[b % 36]
  return `${ID_PREFIX[kind]}_${time}${rand}`
}

/** True when `id` looks like an id of the given kind (cheap check before touching the database). */
export function isId(kind: IdKind, id: string): boolean {
  return id.startsWith(`${ID_PREFIX[kind]}_`) && id.length <= 40 && /^[a-z]+_[0-9a-z]+$/.test(id)
}
