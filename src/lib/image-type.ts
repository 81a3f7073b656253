/**
 * Decides an image's type from its first bytes, never from a name or a
 * declared Content-Type. Only the raster formats Kiln accepts are recognised;
 * SVG (script-capable XML) and everything else come back undefined.
 */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif'

const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v)

export function sniffImageType(b: Uint8Array): ImageType | undefined {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png'
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'image/jpeg'
  // RIFF....WEBP
  if (startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b, [0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp'
  // GIF87a / GIF89a
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38]) && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return 'image/gif'
  return undefined
}
