/** A small JSON client for the demo: the same HTTP API any integration uses. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key?: string,
  ) {}

  as(key: string): ApiClient {
    return new ApiClient(this.baseUrl, key);
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(this.key ? { authorization: `Bearer ${this.key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${path} → ${response.status} ${text.slice(0, 300)}`);
    return (text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : { text, status: response.status, location: response.headers.get('location') }) as T;
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T = Record<string, unknown>>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async download(path: string): Promise<Buffer> {
    const response = await fetch(`${this.baseUrl}${path}`, { headers: this.key ? { authorization: `Bearer ${this.key}` } : {} });
    if (!response.ok) throw new Error(`GET ${path} → ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }
}

/** A deterministic pseudo-random sequence, so every demo run builds the same network. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
