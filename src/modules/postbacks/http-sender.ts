import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface SendResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

/** Loopback, private, link-local and other non-public ranges: never a postback target by default. */
export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 6) {
    const v = ip.toLowerCase();
    if (v === '::1' || v === '::') return true;
    if (v.startsWith('::ffff:')) return isPrivateAddress(v.slice(7));
    return /^(fc|fd|fe8|fe9|fea|feb)/.test(v);
  }
  const [a, b] = ip.split('.').map(Number);
  return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
}

/**
 * Calls `url` with GET and a timeout, refusing private targets unless allowed (an affiliate
 * must not be able to make our servers call our own network).
 */
export async function sendGet(url: string, timeoutMs: number, allowPrivate: boolean): Promise<SendResult> {
  const started = performance.now();
  const done = (partial: Omit<SendResult, 'latencyMs'>): SendResult => ({ ...partial, latencyMs: Math.max(0, Math.trunc(performance.now() - started)) });
  try {
    if (!allowPrivate) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      const addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true });
      if (addresses.some((a) => isPrivateAddress(a.address))) return done({ statusCode: null, error: 'target resolves to a private address', responseExcerpt: null });
    }
    const response = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'Afflux-Postback/1.0' } });
    const text = await response.text().catch(() => '');
    return done({ statusCode: response.status, error: response.ok ? null : `HTTP ${response.status}`, responseExcerpt: text.slice(0, 500) });
  } catch (error) {
    const e = error as Error;
    const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : rootCause(e);
    return done({ statusCode: null, error: reason, responseExcerpt: null });
  }
}

/** fetch wraps the socket error ("fetch failed"); the code below it is what a person can act on. */
function rootCause(error: unknown): string {
  let current = error as { code?: string; message?: string; cause?: unknown; errors?: unknown[] } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.code) return `${current.code}${current.message && !current.message.startsWith(current.code) ? `: ${current.message}` : ''}`;
    current = (current.cause ?? current.errors?.[0]) as typeof current;
  }
  return (error as Error).message;
}
