/**
 * SVG compositions for the 3D icon styles: each style has its own look
 * (voxels, clay icon, frosted glass, neon tubes, vinyl toy), drawn from the
 * palette and laid out by the seeded PRNG.
 */
import { type Canvas, type Rand, between, byLuminance, intBetween, pick, shade } from './local-paint'

export interface SceneInput {
  c: Canvas
  r: Rand
  colors: string[]
}

const cx = (c: Canvas) => c.w / 2
const cy = (c: Canvas) => c.h / 2

/** Isometric voxel columns of varying height, lit from the top left. */
export function voxel({ c, r, colors }: SceneInput): string {
  const [dark, , , light = '#ffffff'] = byLuminance(colors)
  const n = intBetween(r, 3, 5)
  const size = 380 / n
  const ox = cx(c)
  const oy = cy(c) - size * n * 0.15
  const parts = [`<rect width="${c.w}" height="${c.h}" fill="url(#bg)"/>`]
  const cube = (gx: number, gy: number, z: number, color: string) => {
    const x = ox + (gx - gy) * size * 0.866
    const y = oy + (gx + gy) * size * 0.5 - z * size
    const h = size * 0.866
    const top = `${x},${y - size * 0.5} ${x + h},${y} ${x},${y + size * 0.5} ${x - h},${y}`
    const left = `${x - h},${y} ${x},${y + size * 0.5} ${x},${y + size * 1.5} ${x - h},${y + size}`
    const right = `${x + h},${y} ${x},${y + size * 0.5} ${x},${y + size * 1.5} ${x + h},${y + size}`
    return `<polygon points="${top}" fill="${shade(color, 0.35)}"/><polygon points="${left}" fill="${color}"/><polygon points="${right}" fill="${shade(color, -0.3)}"/>`
  }
  for (let gy = 0; gy < n; gy++)
    for (let gx = 0; gx < n; gx++) {
      const height = intBetween(r, 0, 3)
      const color = pick(r, colors)
      for (let z = 0; z <= height; z++) parts.push(cube(gx, gy, z, color))
    }
  const defs = `<linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${shade(light, 0.6)}"/><stop offset="1" stop-color="${shade(dark ?? light, 0.75)}"/></linearGradient>`
  return `<defs>${defs}</defs>${parts.join('')}`
}

/** A rounded clay icon on a plain background, with a soft drop shadow. */
export function minimalIcon({ c, r, colors }: SceneInput): string {
  const sorted = byLuminance(colors)
  const bg = shade(sorted[sorted.length - 1] as string, 0.7)
  const tile = pick(r, colors)
  const mark = pick(r, colors.filter((x) => x !== tile).length ? colors.filter((x) => x !== tile) : ['#ffffff'])
  const side = between(r, 420, 520)
  const x = cx(c) - side / 2
  const y = cy(c) - side / 2
  const radius = side * between(r, 0.18, 0.3)
  const k = side * 0.22
  const shapes = [
    `<circle cx="${cx(c)}" cy="${cy(c)}" r="${k}" fill="url(#clay)"/>`,
    `<polygon points="${cx(c)},${cy(c) - k} ${cx(c) + k},${cy(c) + k * 0.8} ${cx(c) - k},${cy(c) + k * 0.8}" fill="url(#clay)"/>`,
    `<rect x="${cx(c) - k}" y="${cy(c) - k}" width="${2 * k}" height="${2 * k}" rx="${k * 0.35}" fill="url(#clay)"/>`,
  ]
  return `<defs>
<filter id="shadow" x="-30%" y="-30%" width="160%" height="160%"><feGaussianBlur stdDeviation="18"/></filter>
<radialGradient id="tile" cx="0.35" cy="0.3" r="0.9"><stop offset="0" stop-color="${shade(tile, 0.35)}"/><stop offset="1" stop-color="${shade(tile, -0.15)}"/></radialGradient>
<radialGradient id="clay" cx="0.35" cy="0.3" r="0.8"><stop offset="0" stop-color="${shade(mark, 0.5)}"/><stop offset="1" stop-color="${mark}"/></radialGradient>
</defs><rect width="${c.w}" height="${c.h}" fill="${bg}"/>
<rect x="${x + 10}" y="${y + 30}" width="${side}" height="${side}" rx="${radius}" fill="#000" opacity="0.25" filter="url(#shadow)"/>
<rect x="${x}" y="${y}" width="${side}" height="${side}" rx="${radius}" fill="url(#tile)"/>${pick(r, shapes)}`
}

/** Translucent frosted panes over blurred colour blobs. */
export function glass({ c, r, colors }: SceneInput): string {
  const blobs = Array.from({ length: intBetween(r, 3, 5) }, () => {
    const color = pick(r, colors)
    return `<circle cx="${between(r, 0, c.w)}" cy="${between(r, 0, c.h)}" r="${between(r, 180, 360)}" fill="${color}" opacity="0.85"/>`
  }).join('')
  const panes = Array.from({ length: intBetween(r, 2, 3) }, (_, i) => {
    const w = between(r, 320, 480)
    const h = between(r, 220, 380)
    const x = cx(c) - w / 2 + between(r, -120, 120)
    const y = cy(c) - h / 2 + between(r, -120, 120)
    const rot = between(r, -18, 18)
    return `<g transform="rotate(${rot} ${x + w / 2} ${y + h / 2})"><rect x="${x}" y="${y}" width="${w}" height="${h}" rx="48" fill="url(#pane${i % 2})" stroke="#ffffff" stroke-opacity="0.7" stroke-width="3"/></g>`
  }).join('')
  const base = byLuminance(colors)[0] as string
  return `<defs>
<filter id="blur" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="60"/></filter>
<linearGradient id="pane0" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#ffffff" stop-opacity="0.55"/><stop offset="1" stop-color="#ffffff" stop-opacity="0.12"/></linearGradient>
<linearGradient id="pane1" x1="1" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#ffffff" stop-opacity="0.45"/><stop offset="1" stop-color="#ffffff" stop-opacity="0.08"/></linearGradient>
</defs><rect width="${c.w}" height="${c.h}" fill="${shade(base, -0.2)}"/><g filter="url(#blur)">${blobs}</g>${panes}`
}

/** Glowing neon strokes on a near-black backdrop. */
export function neon({ c, r, colors }: SceneInput): string {
  const tubes = Array.from({ length: intBetween(r, 3, 6) }, () => {
    const color = shade(pick(r, colors), 0.15)
    const kind = intBetween(r, 0, 2)
    const x = between(r, c.w * 0.2, c.w * 0.8)
    const y = between(r, c.h * 0.2, c.h * 0.8)
    const size = between(r, 80, 240)
    const style = `fill="none" stroke="${color}" stroke-width="${between(r, 10, 18)}" stroke-linecap="round" stroke-linejoin="round"`
    if (kind === 0) return `<circle cx="${x}" cy="${y}" r="${size}" ${style}/>`
    if (kind === 1) return `<rect x="${x - size}" y="${y - size * 0.6}" width="${size * 2}" height="${size * 1.2}" rx="${size * 0.3}" ${style}/>`
    const pts = Array.from({ length: 5 }, (_, i) => `${x - size + (i * size) / 2},${y + (i % 2 ? -size : size) * 0.5}`).join(' ')
    return `<polyline points="${pts}" ${style}/>`
  }).join('')
  return `<defs><filter id="glow" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="14" result="b"/><feMerge><feMergeNode in="b"/><feMergeNode in="b"/><feMergeNode in="SourceGraphic"/></feMerge></filter></defs>
<rect width="${c.w}" height="${c.h}" fill="#07070f"/><g filter="url(#glow)">${tubes}</g>`
}

/** A glossy vinyl figurine (body, head, eyes) on a studio sweep. */
export function toy({ c, r, colors }: SceneInput): string {
  const body = pick(r, colors)
  const head = pick(r, colors)
  const light = byLuminance(colors)[colors.length - 1] as string
  const x = cx(c)
  const baseY = cy(c) + 300
  const bw = between(r, 180, 260)
  const bh = between(r, 200, 280)
  const hr = between(r, 120, 170)
  const headY = baseY - bh - hr * 0.8
  const eye = between(r, 14, 26)
  const gap = hr * between(r, 0.3, 0.45)
  return `<defs>
<radialGradient id="sweep" cx="0.5" cy="0.35" r="0.8"><stop offset="0" stop-color="${shade(light, 0.7)}"/><stop offset="1" stop-color="${shade(light, -0.1)}"/></radialGradient>
<radialGradient id="gloss-b" cx="0.35" cy="0.25" r="0.9"><stop offset="0" stop-color="${shade(body, 0.55)}"/><stop offset="0.6" stop-color="${body}"/><stop offset="1" stop-color="${shade(body, -0.35)}"/></radialGradient>
<radialGradient id="gloss-h" cx="0.35" cy="0.3" r="0.8"><stop offset="0" stop-color="${shade(head, 0.6)}"/><stop offset="0.6" stop-color="${head}"/><stop offset="1" stop-color="${shade(head, -0.35)}"/></radialGradient>
<filter id="soft"><feGaussianBlur stdDeviation="16"/></filter>
</defs><rect width="${c.w}" height="${c.h}" fill="url(#sweep)"/>
<ellipse cx="${x}" cy="${baseY + 10}" rx="${bw * 0.75}" ry="26" fill="#000" opacity="0.3" filter="url(#soft)"/>
<rect x="${x - bw / 2}" y="${baseY - bh}" width="${bw}" height="${bh}" rx="${bw * 0.35}" fill="url(#gloss-b)"/>
<circle cx="${x}" cy="${headY}" r="${hr}" fill="url(#gloss-h)"/>
<circle cx="${x - gap}" cy="${headY}" r="${eye}" fill="#111"/><circle cx="${x + gap}" cy="${headY}" r="${eye}" fill="#111"/>
<circle cx="${x - gap + eye * 0.35}" cy="${headY - eye * 0.35}" r="${eye * 0.3}" fill="#fff"/><circle cx="${x + gap + eye * 0.35}" cy="${headY - eye * 0.35}" r="${eye * 0.3}" fill="#fff"/>
<ellipse cx="${x - hr * 0.4}" cy="${headY - hr * 0.5}" rx="${hr * 0.25}" ry="${hr * 0.12}" fill="#fff" opacity="0.55"/>`
}
