import dns from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

export interface SendResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** Always null: the answer's body is never read (see "Outgoing postbacks" in the README). */
  responseExcerpt: null;
}

const PRIVATE_TARGET = 'target resolves to a private address';

/** ::/96, the deprecated IPv4-compatible IPv6 addresses (`::127.0.0.1`): ipaddr.js counts them as unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * Whether `address` is anything but a public unicast address: loopback, private, carrier-grade
 * NAT, link-local (cloud metadata), unique-local, multicast, reserved, and every IPv6 form that
 * embeds an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo). ipaddr.js parses the loose
 * IPv4 spellings too (`2130706433`, `0x7f.1`, `0177.0.0.1`). Anything that does not parse counts as private.
 */
export function isPrivateAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return true;
  return parsed.range() !== 'unicast';
}

class PrivateTargetError extends Error {
  readonly code = 'EPRIVATETARGET';
}

/**
 * The resolver the socket itself connects with: the addresses checked are the addresses used,
 * so a name that answers a public address first and a private one next (DNS rebinding) gets
 * nowhere. request-filtering-agent checks the same addresses again with its own rule.
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) return callback(new PrivateTargetError(PRIVATE_TARGET), '', 0);
    if (options?.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};

// No keep-alive: a postback is one call now and another much later, maybe to another host.
const filtered = { lookup: publicOnlyLookup, keepAlive: false };
const AGENTS = {
  public: { 'http:': new RequestFilteringHttpAgent(filtered), 'https:': new RequestFilteringHttpsAgent(filtered) },
  any: { 'http:': new http.Agent({ keepAlive: false }), 'https:': new https.Agent({ keepAlive: false }) },
};

/** What a call sends beyond its URL: GET with no body (postbacks), or a POST with a body and headers (webhooks). */
export interface OutgoingRequest {
  method: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  userAgent: string;
}

/**
 * Calls `url` with GET and a timeout, refusing private targets unless allowed (an affiliate
 * must not be able to make our servers call our own network). Redirects are not followed: each
 * hop would be a new target. The answer's body is never read or kept; the status code is the
 * whole outcome, so the attempt log cannot become a way to read what a URL returns.
 */
export function sendGet(url: string, timeoutMs: number, allowPrivate: boolean): Promise<SendResult> {
  return send(url, timeoutMs, allowPrivate, { method: 'GET', userAgent: 'Afflux-Postback/1.0' });
}

/** `sendGet`'s rules (private targets refused, no redirects, the answer unread) for any request: the outgoing webhooks POST through it. */
export async function send(url: string, timeoutMs: number, allowPrivate: boolean, outgoing: OutgoingRequest): Promise<SendResult> {
  const started = performance.now();
  const done = (statusCode: number | null, error: string | null): SendResult => ({
    statusCode,
    error,
    responseExcerpt: null,
    latencyMs: Math.max(0, Math.trunc(performance.now() - started)),
  });
  try {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return done(null, `unsupported protocol ${target.protocol}`);
    // A literal address never reaches the resolver; the agent checks it too, this also covers ::/96.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (!allowPrivate && isIP(literal) && isPrivateAddress(literal)) return done(null, PRIVATE_TARGET);
    const statusCode = await call(target, timeoutMs, AGENTS[allowPrivate ? 'any' : 'public'][target.protocol], outgoing);
    if (statusCode >= 200 && statusCode < 300) return done(statusCode, null);
    return done(statusCode, statusCode >= 300 && statusCode < 400 ? `HTTP ${statusCode} (redirects are not followed)` : `HTTP ${statusCode}`);
  } catch (error) {
    if (error instanceof TimeoutError) return done(null, `timed out after ${timeoutMs} ms`);
    // request-filtering-agent's own refusal ("... is not allowed ..."), should its rule ever be the stricter one.
    if (error instanceof PrivateTargetError || /is not allowed/.test((error as Error).message)) return done(null, PRIVATE_TARGET);
    return done(null, rootCause(error));
  }
}

class TimeoutError extends Error {}

/** Resolves with the status code as soon as the headers arrive; the body is discarded unread. */
function call(target: URL, timeoutMs: number, agent: http.Agent, outgoing: OutgoingRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = target.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { 'user-agent': outgoing.userAgent, ...outgoing.headers };
    if (outgoing.body !== undefined) headers['content-length'] = Buffer.byteLength(outgoing.body);
    const request = client.request(target, { method: outgoing.method, agent, headers }, (response) => {
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    const timer = setTimeout(() => request.destroy(new TimeoutError()), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', reject);
    request.end(outgoing.body);
  });
}

/** The socket error's code is what a person can act on; wrappers above it only say "failed". */
function rootCause(error: unknown): string {
  let current = error as { code?: string; message?: string; cause?: unknown; errors?: unknown[] } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.code) return `${current.code}${current.message && !current.message.startsWith(current.code) ? `: ${current.message}` : ''}`;
    current = (current.cause ?? current.errors?.[0]) as typeof current;
  }
  return (error as Error).message;
}
