/**
 * Small drawing helpers shared by the local renderer's compositions: a seeded
 * PRNG, colour arithmetic and XML escaping. Everything here is pure, so the
 * same seed always draws the same picture.
 */

/** A seeded PRNG (mulberry32): fast, and good enough for composition choices. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type Rand = () => number

export const between = (r: Rand, min: number, max: number) => min + (max - min) * r()
export const intBetween = (r: Rand, min: number, max: number) => Math.floor(between(r, min, max + 1))
export const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length) % items.length] as T

/** A stable 32-bit hash of a string (FNV-1a), to mix the style into the seed. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const HEX = /^#[0-9a-fA-F]{6}$/

/** Keeps only well-formed `#rrggbb` colours: they are written into SVG attributes. */
export function cleanColors(colors: readonly string[], fallback: readonly string[]): string[] {
  const ok = colors.filter((c) => HEX.test(c)).map((c) => c.toLowerCase())
  return ok.length > 0 ? ok : [...fallback]
}

function channels(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

const toHex = (c: number[]) => `#${c.map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('')}`

/** Mixes a colour towards white (amount > 0) or black (amount < 0). */
export function shade(hex: string, amount: number): string {
  const target = amount >= 0 ? 255 : 0
  const k = Math.abs(amount)
  return toHex(channels(hex).map((v) => v + (target - v) * k))
}

/** Relative luminance 0–1, to pick light backgrounds and dark ink from a palette. */
export function luminance(hex: string): number {
  const [r, g, b] = channels(hex)
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
}

export const byLuminance = (colors: readonly string[]) => [...colors].sort((a, b) => luminance(a) - luminance(b))

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string)
}

/** Breaks text into at most `maxLines` lines of about `perLine` characters, ending with … when cut. */
export function wrapText(text: string, perLine: number, maxLines: number): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean)
  const lines: string[] = []
  let line = ''
  for (const word of words) {
    const w = word.length > perLine ? `${word.slice(0, perLine - 1)}…` : word
    if (line && line.length + 1 + w.length > perLine) {
      lines.push(line)
      line = w
    } else line = line ? `${line} ${w}` : w
  }
  if (line) lines.push(line)
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines)
    kept[maxLines - 1] = `${(kept[maxLines - 1] as string).slice(0, perLine - 1)}…`
    return kept
  }
  return lines
}

/** The drawing surface: a viewBox whose short side is 1000 units, whatever the pixel size. */
export interface Canvas {
  w: number
  h: number
  /** Short side, always 1000. */
  s: number
}

export function canvasFor(width: number, height: number): Canvas {
  const short = Math.min(width, height)
  return { w: Math.round((1000 * width) / short), h: Math.round((1000 * height) / short), s: 1000 }
}
