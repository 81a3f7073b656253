/**
 * The `finalizing` step: turns a model's output into what Kiln stores and
 * serves: a WebP full image (q90) and a 400 px wide WebP thumbnail, with
 * orientation applied and every piece of metadata (EXIF, XMP, ICC, GPS)
 * dropped. sharp is the tightest CPU limit on a small machine, so all image
 * work shares one semaphore sized to leave a core for the API.
 */
import { availableParallelism } from 'node:os'
import { AppError } from '../../lib/errors'
import { Semaphore } from '../../lib/semaphore'
import { loadSharp } from '../../lib/sharp'

export interface FinalizedImage {
  full: Uint8Array
  thumb: Uint8Array
  width: number
  height: number
  /** Size of the full WebP in bytes. */
  bytes: number
}

export interface FinalizeOptions {
  /** Refuse inputs with more pixels than this before decoding them (pixel bombs). */
  maxInputPixels?: number
  quality?: number
  thumbWidth?: number
  /** Which slots to run in; the shared `imageSlots` by default. */
  slots?: Semaphore
  signal?: AbortSignal
}

/** 4K at every aspect ratio Kiln offers, with room for providers that round up. */
export const MAX_FINALIZE_PIXELS = 4096 * 4096 * 2
export const THUMB_WIDTH = 400
export const FULL_QUALITY = 90
const THUMB_QUALITY = 80

/** One image task per core, minus one core kept for the event loop; at least one. */
export const defaultImageConcurrency = () => Math.max(1, availableParallelism() - 1)

/** The slots every sharp-heavy task of this process runs in (finalizing, upload normalising). */
export const imageSlots = new Semaphore(defaultImageConcurrency())

/** Changes how many image tasks run at once (config, benchmarks). */
export function setImageConcurrency(n: number): void {
  imageSlots.resize(n)
}

const asBytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/** Encodes `input` (any format sharp reads) as the full WebP and its thumbnail. */
export async function finalizeImage(input: Uint8Array, opts: FinalizeOptions = {}): Promise<FinalizedImage> {
  const maxPixels = opts.maxInputPixels ?? MAX_FINALIZE_PIXELS
  const slots = opts.slots ?? imageSlots
  return slots.run(async () => {
    try {
      // limitInputPixels checks the header before any pixel is decoded; failOn 'error' refuses truncated files.
      const sharp = await loadSharp()
      const source = sharp(input, { limitInputPixels: maxPixels, failOn: 'error' }).rotate()
      const [full, thumb] = await Promise.all([
        source.clone().webp({ quality: opts.quality ?? FULL_QUALITY }).toBuffer({ resolveWithObject: true }),
        source
          .clone()
          .resize({ width: opts.thumbWidth ?? THUMB_WIDTH })
          .webp({ quality: THUMB_QUALITY })
          .toBuffer(),
      ])
      return { full: asBytes(full.data), thumb: asBytes(thumb), width: full.info.width, height: full.info.height, bytes: full.data.byteLength }
    } catch (err) {
      const message = (err as Error).message ?? ''
      if (/pixel limit/i.test(message))
        throw new AppError('VALIDATION_ERROR', `image has more than ${maxPixels} pixels`, { maxPixels })
      if (/unsupported image format|corrupt|premature end|bad seek|VipsJpeg|VipsForeign|Input buffer/i.test(message))
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'the image could not be decoded')
      throw err
    }
  }, opts.signal)
}
