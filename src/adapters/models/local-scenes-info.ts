/**
 * SVG compositions for the infographic styles: the user's prompt as the
 * title, then numbered step cards and a bar chart, dressed by a per-style
 * theme (background, ink, font, stroke, glow or sketchiness).
 */
import { type Canvas, type Rand, between, byLuminance, escapeXml, intBetween, shade, wrapText } from './local-paint'
import type { SceneInput } from './local-scenes-3d'

interface Theme {
  background: (colors: string[]) => string
  ink: (colors: string[]) => string
  font: string
  weight: number
  /** Card fill opacity: 0 draws outlines only. */
  cardFill: number
  stroke: number
  /** An SVG filter applied to the drawing (the cyberpunk glow). */
  filter?: string
  band?: boolean
  /** A second, slightly turned pencil outline on every shape (cheaper than a displacement filter). */
  sketch?: boolean
}

const light = (colors: string[]) => shade(byLuminance(colors)[colors.length - 1] as string, 0.85)
const darkInk = (colors: string[]) => shade(byLuminance(colors)[0] as string, -0.4)

export const THEMES: Record<string, Theme> = {
  modern: { background: light, ink: darkInk, font: 'DejaVu Sans', weight: 700, cardFill: 1, stroke: 0 },
  minimal: { background: () => '#ffffff', ink: () => '#222222', font: 'DejaVu Sans', weight: 300, cardFill: 0, stroke: 3 },
  corporate: { background: () => '#f3f5f8', ink: () => '#1d2733', font: 'DejaVu Sans', weight: 600, cardFill: 0.9, stroke: 0, band: true },
  cyberpunk: {
    background: () => '#0b0b16',
    ink: (c) => shade(byLuminance(c)[c.length - 1] as string, 0.3),
    font: 'DejaVu Sans Mono',
    weight: 700,
    cardFill: 0.12,
    stroke: 4,
    filter: '<filter id="fx" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation="6" result="b"/><feMerge><feMergeNode in="b"/><feMergeNode in="SourceGraphic"/></feMerge></filter>',
  },
  'hand-drawn': {
    background: () => '#fbf6e9',
    ink: () => '#3b2f2f',
    font: 'DejaVu Serif',
    weight: 400,
    cardFill: 0.35,
    stroke: 4,
    sketch: true,
  },
}

function title(c: Canvas, text: string, theme: Theme, ink: string, top: number): { svg: string; bottom: number } {
  const size = c.w < c.h ? 54 : 64
  const perLine = Math.max(12, Math.floor((c.w - 120) / (size * 0.58)))
  const lines = wrapText(text, perLine, 2)
  // Arabic (and other right-to-left) titles are set from the right edge.
  const rtl = /[\u0590-\u08ff]/.test(text)
  const x = rtl ? c.w - 60 : 60
  const tspans = lines.map((l, i) => `<tspan x="${x}" dy="${i === 0 ? 0 : size * 1.2}">${escapeXml(l)}</tspan>`).join('')
  const align = rtl ? ' text-anchor="end"' : ''
  const svg = `<text x="${x}" y="${top + size}"${align} font-family="${theme.font}" font-weight="${theme.weight}" font-size="${size}" fill="${ink}">${tspans}</text>`
  return { svg, bottom: top + size * 1.2 * lines.length + 30 }
}

/** The pencil outline of a hand-drawn shape: the same box, a little off and turned. */
function sketched(r: Rand, x: number, y: number, w: number, h: number, ink: string): string {
  const dx = between(r, -5, 5)
  const dy = between(r, -5, 5)
  return `<rect x="${x + dx}" y="${y + dy}" width="${w}" height="${h}" rx="18" fill="none" stroke="${ink}" stroke-width="3" stroke-opacity="0.7" transform="rotate(${between(r, -0.8, 0.8)} ${x + w / 2} ${y + h / 2})"/>`
}

function cards(c: Canvas, r: Rand, colors: string[], theme: Theme, ink: string, top: number, height: number): string {
  const n = intBetween(r, 3, c.w > c.h * 1.2 ? 5 : 4)
  const gap = 30
  const w = (c.w - 120 - gap * (n - 1)) / n
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const color = colors[i % colors.length] as string
    const x = 60 + i * (w + gap)
    const fill = theme.cardFill > 0 ? `fill="${color}" fill-opacity="${theme.cardFill}"` : 'fill="none"'
    const stroke = theme.stroke > 0 ? `stroke="${color}" stroke-width="${theme.stroke}"` : ''
    const label = theme.cardFill >= 0.9 ? shade(color, 0.9) : ink
    const r0 = Math.min(w, height) * 0.22
    out.push(
      `<rect x="${x}" y="${top}" width="${w}" height="${height}" rx="24" ${fill} ${stroke}/>`,
      `<circle cx="${x + w / 2}" cy="${top + height * 0.38}" r="${r0}" fill="none" stroke="${label}" stroke-width="6"/>`,
      `<text x="${x + w / 2}" y="${top + height * 0.38 + r0 * 0.35}" text-anchor="middle" font-family="${theme.font}" font-weight="700" font-size="${r0}" fill="${label}">${i + 1}</text>`,
      `<rect x="${x + w * 0.15}" y="${top + height * 0.72}" width="${w * between(r, 0.4, 0.7)}" height="14" rx="7" fill="${label}" opacity="0.7"/>`,
      `<rect x="${x + w * 0.15}" y="${top + height * 0.72 + 28}" width="${w * between(r, 0.3, 0.6)}" height="14" rx="7" fill="${label}" opacity="0.45"/>`,
    )
    if (theme.sketch) out.push(sketched(r, x, top, w, height, ink))
  }
  return out.join('')
}

function chart(c: Canvas, r: Rand, colors: string[], theme: Theme, ink: string, top: number, height: number): string {
  const n = intBetween(r, 5, 9)
  const w = (c.w - 120) / n
  const axis = `<line x1="60" y1="${top + height}" x2="${c.w - 60}" y2="${top + height}" stroke="${ink}" stroke-width="3" opacity="0.6"/>`
  const bars = Array.from({ length: n }, (_, i) => {
    const h = height * between(r, 0.2, 0.95)
    const color = colors[i % colors.length] as string
    const fill = theme.cardFill > 0 ? `fill="${color}"` : `fill="none" stroke="${color}" stroke-width="${theme.stroke}"`
    const bar = `<rect x="${60 + i * w + w * 0.15}" y="${top + height - h}" width="${w * 0.7}" height="${h}" rx="8" ${fill}/>`
    return theme.sketch ? bar + sketched(r, 60 + i * w + w * 0.15, top + height - h, w * 0.7, h, ink) : bar
  }).join('')
  return axis + bars
}

/** The whole infographic for `style`, falling back to the modern theme. */
export function infographic(style: string, text: string, { c, r, colors }: SceneInput): string {
  const theme = THEMES[style] ?? (THEMES.modern as Theme)
  const ink = theme.ink(colors)
  const parts: string[] = [`<rect width="${c.w}" height="${c.h}" fill="${theme.background(colors)}"/>`]
  let top = 50
  if (theme.band) {
    parts.push(`<rect width="${c.w}" height="${top + 170}" fill="${byLuminance(colors)[0]}"/>`)
  }
  const head = title(c, text, theme, theme.band ? '#ffffff' : ink, top)
  parts.push(head.svg)
  top = theme.band ? Math.max(head.bottom, 240) : head.bottom
  const rest = c.h - top - 60
  const cardHeight = rest * 0.45
  parts.push(cards(c, r, colors, theme, ink, top, cardHeight))
  parts.push(chart(c, r, colors, theme, ink, top + cardHeight + 50, rest - cardHeight - 50))
  const body = theme.filter ? `<g filter="url(#fx)">${parts.slice(1).join('')}</g>` : parts.slice(1).join('')
  return `${theme.filter ? `<defs>${theme.filter}</defs>` : ''}${parts[0]}${body}`
}
