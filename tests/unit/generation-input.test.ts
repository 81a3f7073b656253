import { describe, expect, test } from 'bun:test'
import { AppError } from '../../src/lib/errors'
import { type InputLookups, normalizeInput } from '../../src/domain/generations/input'
import { canCancel, canMove, isTerminal, overallProgress, refundsOnCancel } from '../../src/domain/generations/lifecycle'
import { buildPrompt, dimensionsFor } from '../../src/domain/generations/prompt'
import { GENERATION_STATUSES } from '../../src/adapters/db/schema/generations'
import { STYLE_SEEDS, PALETTE_SEEDS } from '../../src/domain/catalogue/data'

const lookups: InputLookups = {
  style: async (id) => STYLE_SEEDS.find((s) => s.id === id),
  palette: async (id) => PALETTE_SEEDS.find((p) => p.id === id),
  template: async (userId, id) =>
    id === 'tpl_mine' && userId === 'usr_a' ? { config: { style: 'neon-glow', palette: 'ocean', aspectRatio: 'landscape', topic: 'from template' } } : undefined,
  upload: async (userId, id) => (userId === 'usr_a' && id === 'upl_a' ? { id, storageKey: 'k' } : undefined),
}
const free = { id: 'usr_a', tier: 'free' as const }

async function issue(p: Promise<unknown>) {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(AppError)
    const err = e as AppError
    return { code: err.errorCode, field: (err.details as { issues?: { field: string }[] })?.issues?.[0]?.field }
  }
  throw new Error('expected a failure')
}

describe('normalizeInput', () => {
  test('defaults, topic alias, aspect alias, palette colours', async () => {
    const n = await normalizeInput({ topic: ' a fox ', style: 'minimal-icon', palette: 'ocean', aspectRatio: 'portrait' }, free, lookups, () => 7)
    expect(n).toMatchObject({ prompt: 'a fox', aspectRatio: '9:16', size: '1K', seed: 7, palette: 'ocean', customColors: null })
    expect(n.colors).toHaveLength(5)
    expect(n.style.id).toBe('minimal-icon')
  })

  test('unknown style or palette, both palette and colours, size above tier → 400 naming the field', async () => {
    expect(await issue(normalizeInput({ prompt: 'x', style: 'nope' }, free, lookups))).toEqual({ code: 'VALIDATION_ERROR', field: 'style' })
    expect(await issue(normalizeInput({ prompt: 'x', style: 'modern', palette: 'nope' }, free, lookups))).toEqual({ code: 'VALIDATION_ERROR', field: 'palette' })
    expect(await issue(normalizeInput({ prompt: 'x', style: 'modern', palette: 'ocean', customColors: ['#000000'] }, free, lookups))).toEqual({
      code: 'VALIDATION_ERROR',
      field: 'customColors',
    })
    expect(await issue(normalizeInput({ prompt: 'x', style: 'modern', size: '2K' }, free, lookups))).toEqual({ code: 'VALIDATION_ERROR', field: 'size' })
    expect(await issue(normalizeInput({ style: 'modern' }, free, lookups))).toEqual({ code: 'VALIDATION_ERROR', field: 'prompt' })
    const pro = await normalizeInput({ prompt: 'x', style: 'modern', size: '2K', customColors: ['#AABBCC'] }, { id: 'u', tier: 'pro' }, lookups)
    expect(pro.customColors).toEqual(['#aabbcc'])
  })

  test('template defaults are overridden by explicit fields; others’ templates and uploads are 404', async () => {
    const n = await normalizeInput({ templateId: 'tpl_mine', prompt: 'mine', customColors: ['#112233'] }, free, lookups)
    expect(n).toMatchObject({ prompt: 'mine', aspectRatio: '16:9', palette: null, customColors: ['#112233'], templateId: 'tpl_mine' })
    expect(n.style.id).toBe('neon-glow')
    expect(await issue(normalizeInput({ templateId: 'tpl_other', prompt: 'x' }, free, lookups))).toMatchObject({ code: 'NOT_FOUND' })
    expect(await issue(normalizeInput({ prompt: 'x', style: 'modern', sourceImageId: 'upl_b' }, free, lookups))).toMatchObject({ code: 'NOT_FOUND' })
    expect((await normalizeInput({ prompt: 'x', style: 'modern', sourceImageId: 'upl_a' }, free, lookups)).sourceImage?.id).toBe('upl_a')
  })
})

describe('lifecycle', () => {
  test('terminal and cancellable statuses partition the union', () => {
    for (const s of GENERATION_STATUSES) expect(isTerminal(s)).toBe(!canCancel(s))
    expect(refundsOnCancel('queued')).toBe(true)
    expect(refundsOnCancel('analyzing')).toBe(true)
    expect(refundsOnCancel('generating')).toBe(false)
    expect(canMove('completed', 'cancelled')).toBe(false)
    expect(canMove('generating', 'finalizing')).toBe(true)
  })

  test('progress bands increase along the happy path', () => {
    const path = ['analyzing', 'generating', 'finalizing', 'completed'] as const
    let last = -1
    for (const s of path)
      for (const p of [0, 50, 100]) {
        const v = overallProgress(s, p)
        expect(v).toBeGreaterThanOrEqual(last)
        last = v
      }
    expect(last).toBe(100)
  })
})

describe('prompt and dimensions', () => {
  test('long side follows size, short side a multiple of 16', () => {
    expect(dimensionsFor('1:1', '1K')).toEqual({ width: 1024, height: 1024 })
    expect(dimensionsFor('16:9', '1K')).toEqual({ width: 1024, height: 576 })
    expect(dimensionsFor('3:4', '2K')).toEqual({ width: 1536, height: 2048 })
    expect(dimensionsFor('9:16', '4K')).toEqual({ width: 2304, height: 4096 })
  })

  test('style prefix, colours, then the user text', () => {
    expect(buildPrompt({ stylePrefix: 'neon glow 3D icon, bloom,', colors: ['#ff0000'], userPrompt: ' a cat ' })).toBe(
      'neon glow 3D icon, bloom, colour palette #ff0000, a cat',
    )
  })
})
