/** Same-origin REST calls that unwrap Kiln's envelope and raise its errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface Meta {
  page: number
  limit: number
  total: number
  totalPages: number
}

let language = 'en'
/** The language sent as Accept-Language (the catalogue is localised by it). */
export function setApiLanguage(lang: string) {
  language = lang
}

async function call<T>(method: string, path: string, body?: unknown): Promise<{ data: T; meta?: Meta }> {
  const headers: Record<string, string> = { accept: 'application/json', 'accept-language': language }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (err) {
    throw new ApiError(0, 'NETWORK_ERROR', (err as Error).message)
  }
  const json = (await res.json().catch(() => null)) as { success?: boolean; data?: T; meta?: Meta; error?: { code: string; message: string } } | null
  if (!res.ok || !json?.success) {
    const retry = res.headers.get('retry-after')
    const msg = json?.error?.message ?? res.statusText
    throw new ApiError(res.status, json?.error?.code ?? 'HTTP_ERROR', retry ? `${msg} (retry in ${retry} s)` : msg)
  }
  return { data: json.data as T, meta: json.meta }
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => call<T>('PATCH', path, body),
}
