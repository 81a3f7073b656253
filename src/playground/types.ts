/** The shapes the playground reads from the API (a subset of the server's views). */
export interface User {
  id: string
  email: string
  name: string | null
  tier: string
}
export interface Style {
  id: string
  title: string
  description: string
  defaultPrompt: string
  previewImage: string | null
}
export interface Palette {
  id: string
  name: string
  colors: string[]
}
export interface Generation {
  id: string
  status: string
  stage: string | null
  progress: number
  prompt: string
  imageUrl: string | null
  thumbnailUrl: string | null
  isLiked: boolean
  error: { code: string; message: string } | null
}
