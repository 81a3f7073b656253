/**
 * sharp, loaded on first use. libvips adds ~30 MB to a process's resident
 * memory, and a node that only serves the API and sockets may never touch an
 * image; the first image task pays the ~40 ms load once.
 */
import type Sharp from 'sharp'

let loading: Promise<typeof Sharp> | undefined

export function loadSharp(): Promise<typeof Sharp> {
  loading ??= import('sharp').then((m) => m.default)
  return loading
}
