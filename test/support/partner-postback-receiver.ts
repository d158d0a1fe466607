import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import dns from 'node:dns';
import { AddressInfo, isIP } from 'node:net';

export interface Received {
  url: string;
  at: number;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** The request body as sent (outgoing webhooks POST one). */
  body: string;
}

/** A scripted answer: 200 "OK", 500, no answer at all, or exactly this status, body and headers (after `delayMs`). */
export type Behaviour = 'ok' | 'error' | 'hang' | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

/** A real local HTTP server standing in for an affiliate's tracker: scripted answers, every call recorded. */
export class PartnerPostbackReceiver {
  readonly received: Received[] = [];
  private script: Behaviour[] = [];
  private readonly server: Server;
  private readonly hanging = new Set<IncomingMessage>();

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.respond(req, res, Buffer.concat(chunks).toString('utf8')));
    });
  }

  private respond(req: IncomingMessage, res: ServerResponse, received: string): void {
    this.received.push({ url: req.url ?? '', at: Date.now(), method: req.method ?? '', headers: req.headers, body: received });
    const behaviour = this.script.shift() ?? 'ok';
    if (behaviour === 'hang') {
      this.hanging.add(req);
      return;
    }
    const { status, body, headers, delayMs } =
      typeof behaviour === 'object' ? behaviour : { status: behaviour === 'ok' ? 200 : 500, body: behaviour === 'ok' ? 'OK' : 'boom', headers: {}, delayMs: 0 };
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body ?? '');
    }, delayMs ?? 0);
  }

  /** The next answers, in order; after the script runs out every call gets 200. */
  answer(...behaviours: Behaviour[]): void {
    this.script = behaviours;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${this.port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const req of this.hanging) req.socket.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Answers DNS questions for made-up host names the way a rebinding attacker would: the
 * promise API (what a "check first" filter asks) gets `checked`, the callback API (what a socket
 * connect asks) gets `connected`. Other names resolve as usual. Answers should be loopback or
 * documentation addresses (203.0.113.0/24) so nothing can leave the machine. Returns a restore.
 */
export function rebindingDns(names: Record<string, { checked: string; connected: string }>): () => void {
  const realLookup = dns.lookup;
  const realPromiseLookup = dns.promises.lookup;
  const answer = (address: string) => ({ address, family: isIP(address) });
  // Plain property swaps (restored by the returned function): this file also builds outside jest.
  const fakeLookup = ((hostname: string, options: unknown, callback: unknown) => {
    const fake = names[hostname];
    if (!fake) return (realLookup as (...args: unknown[]) => void)(hostname, options, callback);
    const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    const found = answer(fake.connected);
    process.nextTick(() => (all ? cb(null, [found]) : cb(null, found.address, found.family)));
  }) as typeof dns.lookup;
  const fakePromiseLookup = (async (hostname: string, options?: { all?: boolean }) => {
    const fake = names[hostname];
    if (!fake) return realPromiseLookup(hostname, options as never);
    return options?.all ? [answer(fake.checked)] : answer(fake.checked);
  }) as typeof dns.promises.lookup;
  (dns as { lookup: typeof dns.lookup }).lookup = fakeLookup;
  (dns.promises as { lookup: typeof dns.promises.lookup }).lookup = fakePromiseLookup;
  return () => {
    (dns as { lookup: typeof dns.lookup }).lookup = realLookup;
    (dns.promises as { lookup: typeof dns.promises.lookup }).lookup = realPromiseLookup;
  };
}
