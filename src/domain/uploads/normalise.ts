/**
 * Turns uploaded bytes into the WebP Kiln stores: type decided by magic bytes
 * (PNG, JPEG, WebP, GIF; SVG and everything else refused), pixel bombs refused
 * before decoding, EXIF orientation applied and every metadata block dropped,
 * very large images scaled down to what a model accepts.
 */
import { AppError } from '../../lib/errors'
import { type ImageType, sniffImageType } from '../../lib/image-type'
import { loadSharp } from '../../lib/sharp'

/** ~50 MP: past any real photo, well short of a decompression bomb. */
export const MAX_INPUT_PIXELS = 50_000_000
/** Longest side kept; models take at most 4K anyway. */
export const MAX_SIDE = 4096

export interface NormalisedImage {
  data: Uint8Array
  width: number
  height: number
  originalType: ImageType
}

export async function normaliseUpload(input: Uint8Array, opts: { maxInputPixels?: number } = {}): Promise<NormalisedImage> {
  const originalType = sniffImageType(input)
  if (!originalType)
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'only PNG, JPEG, WebP and GIF images are accepted (decided by the file content)')
  const limitInputPixels = opts.maxInputPixels ?? MAX_INPUT_PIXELS
  try {
    // metadata() reads the header only, so an oversized image is refused before any decoding
    const sharp = await loadSharp()
    const meta = await sharp(input, { limitInputPixels: false }).metadata()
    if ((meta.width ?? 0) * (meta.height ?? 0) > limitInputPixels)
      throw new AppError('VALIDATION_ERROR', `image has more than ${limitInputPixels} pixels`, {
        width: meta.width,
        height: meta.height,
      })
    const { data, info } = await sharp(input, { limitInputPixels, failOn: 'error' })
      .rotate()
      .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true })
      // effort 2: half the CPU of the default for the same size on photos; this is a model input, not an archive
      .webp({ quality: 90, effort: 2 })
      .toBuffer({ resolveWithObject: true })
    return { data, width: info.width, height: info.height, originalType }
  } catch (err) {
    if (err instanceof AppError) throw err
    const message = (err as Error).message ?? ''
    if (/pixel limit/i.test(message)) throw new AppError('VALIDATION_ERROR', `image has more than ${limitInputPixels} pixels`)
    throw new AppError('VALIDATION_ERROR', 'the image could not be decoded')
  }
}
