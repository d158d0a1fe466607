import autocannon from 'autocannon';

export interface LoadOptions {
  url: string | string[];
  connections: number;
  /** Seconds; or `amount` requests. */
  duration?: number;
  amount?: number;
  requests?: autocannon.Request[];
  method?: string;
  headers?: Record<string, string>;
  idReplacement?: boolean;
  /** Live figure for the progress line. */
  onTick?: (text: string) => void;
  /** Called once the load runs, with a way to stop it early (durability). */
  onStart?: (stop: () => void) => void;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  status: Record<string, number>;
  errors: number;
  timeouts: number;
}

/** One autocannon run on loopback, bounded by time or count. */
export function load(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let seen = 0;
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 10 }),
        method: options.method ?? 'GET',
        headers: options.headers,
        requests: options.requests,
        idReplacement: options.idReplacement ?? false,
        timeout: 10,
      },
      (error, result) => {
        clearInterval(tick);
        if (error) return reject(error);
        const status = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
        const requests = Object.values(status).reduce((a, b) => a + b, 0);
        const seconds = result.duration || (Date.now() - started) / 1000;
        resolve({
          requests,
          seconds,
          rps: requests / seconds,
          p50: result.latency.p50,
          p99: result.latency.p99,
          status,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', () => seen++);
    const tick = setInterval(() => {
      const s = (Date.now() - started) / 1000;
      options.onTick?.(`${seen} responses, ${Math.round(seen / Math.max(s, 0.001))}/s`);
    }, 500);
    options.onStart?.(() => instance.stop());
  });
}

/** Count of responses with this status. */
export const count = (result: LoadResult, status: number) => result.status[String(status)] ?? 0;

/** "302: 1000, 503: 3" */
export const statusSummary = (result: LoadResult) =>
  Object.entries(result.status)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ') + (result.errors ? `, errors: ${result.errors}` : '');
