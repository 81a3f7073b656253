/** What the `analyzing` stage computes: the final prompt and the output dimensions. */
import type { AspectRatio, Size } from './input'

const LONG_SIDE: Record<Size, number> = { '1K': 1024, '2K': 2048, '4K': 4096 }
const RATIO: Record<AspectRatio, [number, number]> = { '1:1': [1, 1], '4:3': [4, 3], '3:4': [3, 4], '16:9': [16, 9], '9:16': [9, 16] }

/** Width and height for a ratio at a size: the long side is 1024/2048/4096, the short side a multiple of 16. */
export function dimensionsFor(aspectRatio: AspectRatio, size: Size): { width: number; height: number } {
  const long = LONG_SIDE[size]
  const [w, h] = RATIO[aspectRatio]
  const short = Math.round((long * Math.min(w, h)) / Math.max(w, h) / 16) * 16
  return w >= h ? { width: long, height: short } : { width: short, height: long }
}

/** Style prefix, then the colours, then the user's own words (last, so the model weighs them after the framing). */
export function buildPrompt(parts: { stylePrefix: string; colors: string[]; userPrompt: string }): string {
  const pieces = [parts.stylePrefix.trim().replace(/,$/, '')]
  if (parts.colors.length > 0) pieces.push(`colour palette ${parts.colors.join(', ')}`)
  pieces.push(parts.userPrompt.trim())
  return pieces.join(', ')
}
