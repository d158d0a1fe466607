/* eslint-disable @typescript-eslint/no-explicit-any -- the API's JSON answers, typed by each caller */
/** A JSON client for the real HTTP API (fetch, keep-alive), and a bounded parallel map for seeding. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`);
  }
}

export class Api {
  constructor(
    readonly baseUrl: string,
    readonly key?: string,
  ) {}

  as(key: string): Api {
    return new Api(this.baseUrl, key);
  }

  async request<T = any>(method: string, path: string, body?: unknown, expect: number[] = [200, 201, 202], timeoutMs = 60_000): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    if (!expect.includes(res.status)) throw new ApiError(res.status, parsed, `${method} ${path}`);
    return parsed as T;
  }

  get<T = any>(path: string, expect?: number[]): Promise<T> {
    return this.request<T>('GET', path, undefined, expect);
  }

  post<T = any>(path: string, body: unknown = {}, expect?: number[]): Promise<T> {
    return this.request<T>('POST', path, body, expect);
  }

  /** The Location of a redirect, without following it. */
  async location(path: string): Promise<string> {
    const res = await fetch(this.baseUrl + path, { redirect: 'manual', signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (res.status !== 302 || !location) throw new ApiError(res.status, null, `GET ${path} (expected a 302)`);
    return location;
  }
}

/** Runs `fn` over `items` with at most `limit` at a time, in order of start; rejects on the first failure. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, onDone?: (done: number) => void): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (next < items.length && failed === null) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (error) {
        failed ??= error;
        return;
      }
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== null) throw failed;
  return out;
}

/** Retries `fn` a few times on a thrown error (connection reset under load, a 503 while starting). */
export async function retry<T>(fn: () => Promise<T>, attempts = 3, delayMs = 200): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts || (error instanceof ApiError && error.status < 500)) throw error;
      await new Promise((r) => setTimeout(r, delayMs * i));
    }
  }
}
