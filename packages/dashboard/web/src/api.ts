/**
 * The JSON API from the browser: same-origin fetches with the session cookie, the CSRF header on writes,
 * and errors carrying the server's message.
 */
import type { ApiError, SessionInfo } from '../../src/api-types.ts';

/** An API call that failed: the server's code and message. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

/** Remembers the CSRF token from the session. */
export function setCsrf(token: string | null): void {
  csrfToken = token;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  const text = await res.text();
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiCallError(res.status, 'BAD_RESPONSE', `The server answered ${res.status} with something other than JSON.`);
  }
  if (!res.ok) {
    const err = (data as ApiError | undefined)?.error;
    throw new ApiCallError(res.status, err?.code ?? 'HTTP', err?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => call<T>('POST', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
  session: () => call<SessionInfo>('GET', '/api/session'),
};

/** `/api/...` path with encoded segments and query. */
export function path(segments: string[], query: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const qs = q.toString();
  return `/api/${segments.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}
