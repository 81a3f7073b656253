import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { CONFIG_VARIABLES } from '../../src/config'

const readme = await Bun.file(join(import.meta.dir, '../../README.md')).text()

test("README's configuration table matches the config schema", () => {
  const section = readme.slice(readme.indexOf('## Configuration'))
  const rows = section
    .slice(0, section.indexOf('\n## ', 1))
    .split('\n')
    .filter((l) => /^\| `[A-Z0-9_]+` \|/.test(l))
    .map((l) => l.split('|').map((c) => c.trim()))
  const documented = rows.map((r) => r[1]!.replaceAll('`', ''))
  expect(documented).toEqual(CONFIG_VARIABLES.map((v) => v.name))
  for (const [i, v] of CONFIG_VARIABLES.entries()) {
    expect(rows[i]![2]).toBe(v.default || '—')
    expect(rows[i]![3]).toBe(v.meaning)
  }
})

test('README shows the two commands', () => {
  expect(readme).toContain('bun install && bun run start')
  expect(readme).toContain('bun run test')
})
