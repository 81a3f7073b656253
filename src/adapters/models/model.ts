import type { HealthCheck } from '../../lib/health'

/** Everything a model provider needs to make one image; built by the `analyzing` stage. */
export interface ModelRequest {
  generationId: string
  /** Provider model id from the style, e.g. `fal-ai/flux/dev`. */
  model: string
  styleId: string
  /** The final prompt: style prefix, colours, user text. */
  prompt: string
  /** The user's own text, for providers that draw it. */
  userPrompt: string
  colors: string[]
  aspectRatio: '1:1' | '4:3' | '3:4' | '16:9' | '9:16'
  size: '1K' | '2K' | '4K'
  width: number
  height: number
  seed: number
  /** A signed URL of the source image (image-to-image); never a data URI. */
  sourceImageUrl?: string
}

export interface ModelProgress {
  /** 0–100 within the `generating` status. */
  progress: number
  stage?: string
  etaSeconds?: number
}

/** The finished image: bytes in hand (local) or a provider URL to download (fal). */
export type ModelOutput =
  | { kind: 'bytes'; data: Uint8Array; contentType: string }
  | { kind: 'url'; url: string; contentType?: string }

/** Why a provider call failed; `retryable` decides between backoff and `failed`. */
export class ModelError extends Error {
  constructor(
    /** Error code stored on the generation, e.g. `PROVIDER_ERROR`, `CONTENT_REJECTED`, `STORAGE_ERROR`, `TIMEOUT`. */
    readonly errorCode: string,
    message: string,
    readonly retryable: boolean,
    /** True when the user's own input was rejected (no quota refund). */
    readonly userFault = false,
  ) {
    super(message)
  }
}

/**
 * A text-to-image (and image-to-image) model. `submit` returns the provider's
 * request id, which Kiln stores before it does anything else; `watch` follows
 * that request to its end and may be called again after a restart, so it must
 * never submit. Completion may also arrive out of band (fal's webhook) through
 * `complete`, whichever comes first.
 */
export interface ModelProvider {
  readonly name: 'local' | 'fal'
  submit(req: ModelRequest): Promise<{ requestId: string }>
  watch(
    requestId: string,
    req: ModelRequest,
    opts: { signal: AbortSignal; onProgress: (p: ModelProgress) => void },
  ): Promise<ModelOutput>
  /** Asks the provider to stop; best effort, never throws for a request that already ended. */
  cancel(requestId: string): Promise<void>
  health(): Promise<HealthCheck>
}
