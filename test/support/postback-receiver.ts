import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface Received {
  url: string;
  at: number;
}

export type Behaviour = 'ok' | 'error' | 'hang';

/** A real local HTTP server standing in for an affiliate's tracker: scripted answers, every call recorded. */
export class PostbackReceiver {
  readonly received: Received[] = [];
  private script: Behaviour[] = [];
  private readonly server: Server;
  private readonly hanging = new Set<IncomingMessage>();

  constructor() {
    this.server = createServer((req, res) => {
      this.received.push({ url: req.url ?? '', at: Date.now() });
      const behaviour = this.script.shift() ?? 'ok';
      if (behaviour === 'hang') {
        this.hanging.add(req);
        return;
      }
      res.writeHead(behaviour === 'ok' ? 200 : 500, { 'content-type': 'text/plain' });
      res.end(behaviour === 'ok' ? 'OK' : 'boom');
    });
  }

  /** The next answers, in order; after the script runs out every call gets 200. */
  answer(...behaviours: Behaviour[]): void {
    this.script = behaviours;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
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
