/** How a Kiln ModelRequest becomes a fal queue submission: endpoint and input body. */
import type { ModelRequest } from './model'

/**
 * Image-to-image runs on a sibling endpoint of the style's model. Models
 * without one fall back to flux/dev's image-to-image, which every style's
 * prompt works with.
 */
const IMAGE_TO_IMAGE: Record<string, string> = {
  'fal-ai/flux/dev': 'fal-ai/flux/dev/image-to-image',
  'fal-ai/flux/schnell': 'fal-ai/flux/dev/image-to-image',
  'fal-ai/flux-pro/v1.1': 'fal-ai/flux-pro/v1.1/redux',
}

/** The endpoint id a request is submitted to. */
export function endpointFor(req: Pick<ModelRequest, 'model' | 'sourceImageUrl'>): string {
  if (!req.sourceImageUrl) return req.model
  return IMAGE_TO_IMAGE[req.model] ?? 'fal-ai/flux/dev/image-to-image'
}

export interface FalInput {
  prompt: string
  image_size: { width: number; height: number }
  seed: number
  num_images: 1
  enable_safety_checker: true
  output_format: 'png'
  image_url?: string
  strength?: number
}

/** The input body; the source image travels as a signed http(s) URL, never as a data URI. */
export function buildFalInput(req: ModelRequest): FalInput {
  const input: FalInput = {
    prompt: req.prompt,
    // fal takes explicit dimensions; Kiln already derived them from aspect ratio and size
    image_size: { width: req.width, height: req.height },
    seed: req.seed,
    num_images: 1,
    enable_safety_checker: true,
    output_format: 'png',
  }
  if (req.sourceImageUrl) {
    if (!/^https?:\/\//i.test(req.sourceImageUrl)) throw new Error('source image must be an http(s) URL')
    input.image_url = req.sourceImageUrl
    input.strength = 0.85
  }
  return input
}
