import proxyAddr from '@fastify/proxy-addr';
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;
/**
 * Answers a request and returns true, or returns false at once, untouched, to leave it to
 * Fastify. `draining`: the process is about to stop, so the answer asks the client to close the
 * connection (`Connection: close`), as every other response then does.
 */
export type LeanHandler = (req: IncomingMessage, res: ServerResponse, draining: boolean) => boolean;

/** The request id: the caller's X-Request-Id when it is a sane token, else a fresh UUID. */
export function requestIdOf(headers: IncomingMessage['headers']): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
}

/**
 * The client's address as Fastify works it out for `request.ip` with the same TRUST_PROXY setting
 * (`true`, a comma-separated list of addresses or subnets, or off): the right-most address in
 * X-Forwarded-For that is not a trusted proxy. The same library (`@fastify/proxy-addr`), so a
 * request answered ahead of Fastify sees the same client as one answered by it.
 */
export function clientAddress(trustProxy: boolean | string): (req: IncomingMessage) => string | undefined {
  if (!trustProxy) return (req) => req.socket.remoteAddress;
  const trusted = trustProxy === true ? () => true : proxyAddr.compile(trustProxy.split(',').map((value) => value.trim()));
  return (req) => proxyAddr(req, trusted);
}

/** Fastify's own server settings, as it passes them to a server factory. */
interface ServerSettings {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number;
}

/**
 * The HTTP server in front of Fastify. A route registered here (the click redirect, see
 * ARCHITECTURE.md, "Hot paths") is answered straight from node:http, before Fastify's and Nest's
 * per-request hooks, which cost more than the redirect itself; every other request goes to
 * Fastify as before. Fastify still owns the server: it listens, closes idle connections on
 * shutdown and keeps its timeouts, which are copied here as Fastify would set them.
 */
export class LeanServer {
  private readonly prefixes: string[] = [];
  private readonly handlers: LeanHandler[] = [];
  /** True while the process drains before it stops: responses then ask clients to reconnect elsewhere. */
  draining: () => boolean = () => false;

  /** Offers GET and HEAD requests whose path starts with `prefix` to `handler` first. */
  route(prefix: string, handler: LeanHandler): void {
    this.prefixes.push(prefix);
    this.handlers.push(handler);
  }

  /** For FastifyAdapter's `serverFactory` option. */
  readonly serverFactory = (fastify: RawHandler, settings: ServerSettings): Server => {
    const server = createServer((req, res) => {
      const handler = (req.method === 'GET' || req.method === 'HEAD') && this.handlerFor(req.url as string);
      if (handler && handler(req, res, this.draining())) return;
      fastify(req, res);
    });
    if (settings.keepAliveTimeout !== undefined) server.keepAliveTimeout = settings.keepAliveTimeout;
    if (settings.requestTimeout !== undefined) server.requestTimeout = settings.requestTimeout;
    server.setTimeout(settings.connectionTimeout ?? 0);
    if (settings.maxRequestsPerSocket && settings.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
    return server;
  };

  private handlerFor(url: string): LeanHandler | undefined {
    for (let i = 0; i < this.prefixes.length; i++) if (url.startsWith(this.prefixes[i])) return this.handlers[i];
    return undefined;
  }
}
