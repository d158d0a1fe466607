export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of any shape
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  key?: string;
  body?: unknown;
  /** Sent as is (no JSON encoding) with this content type. */
  raw?: { contentType: string; data: string | Buffer };
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** HTTP to a process of ours over loopback: a status, the parsed JSON body (when JSON) and the text. */
export async function call(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  const url = new URL(path, baseUrl);
  for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | Buffer | undefined;
  if (options.raw) {
    headers['content-type'] = options.raw.contentType;
    body = options.raw.data;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
  const text = await res.text();
  let parsed: unknown = undefined;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/** `call` bound to one base URL and, optionally, one key. */
export function client(baseUrl: string, key?: string) {
  return (method: string, path: string, options: RequestOptions = {}) => call(baseUrl, method, path, { key, ...options });
}
export type Client = ReturnType<typeof client>;
