import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { GracefulShutdown } from '../../src/modules/health/graceful-shutdown';
import { createTestApp, deleteRedisKeys, TestApp } from '../support/create-test-app';
import { dropDatabase } from '../support/test-env';
import { createLinkedSetup, LinkHandle } from '../support/tracking.factories';

const DRAIN_MS = 3000;

interface Answer {
  status: number;
  body: string;
  connection?: string;
}

function get(port: number, path: string, agent: http.Agent, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A deploy stops the API with SIGTERM: it drains (health 503, still serving), then closes; no click is refused or lost. */
describe('graceful shutdown of the API', () => {
  let t: TestApp;
  let link: LinkHandle;

  beforeAll(async () => {
    t = await createTestApp({ env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), CLICK_FLUSH_INTERVAL_MS: '200' } });
    ({ link } = await createLinkedSetup(t));
  });
  afterAll(async () => {
    await dropDatabase(t.databaseName);
    await deleteRedisKeys(`{${t.queuePrefix}}*`);
  });

  it('answers 503 on /health and /health/ready while draining, keeps serving clicks, and stores every click it answered', async () => {
    const shutdown = t.app.get(GracefulShutdown);
    const listening = process.listenerCount('SIGTERM'); // the app's own among them
    let raised: string | undefined;
    shutdown.afterClose = (signal) => (raised = signal);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

    expect((await get(port, '/health/ready', agent)).status).toBe(200);
    expect((await get(port, '/health/live', agent)).status).toBe(200);

    // 32 clients click in a loop; SIGTERM comes after the first 300 answers, the clients stop
    // sending a third of the way into the drain period (the load balancer has taken the instance out).
    const outcome = { sent: 0, served: 0, servedWhileDraining: 0, refused: 0, failed: 0, closeAsked: 0 };
    let sending = true;
    let signalled = false;
    const client = async (n: number) => {
      while (sending) {
        outcome.sent++;
        try {
          const res = await get(port, `/c/${link.code}?sub1=${outcome.sent}`, agent, { 'user-agent': `load-${n}` });
          if (res.status === 302) {
            outcome.served++;
            if (signalled) outcome.servedWhileDraining++;
          } else outcome.refused++;
          if (res.connection === 'close') outcome.closeAsked++;
        } catch {
          outcome.failed++;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 32 }, (_, n) => client(n)));
    while (outcome.served < 300) await new Promise((resolve) => setTimeout(resolve, 5));

    const stopped = new Promise<void>((resolve) => process.once('SIGTERM', () => setImmediate(resolve)));
    process.emit('SIGTERM');
    const stopSending = new Promise<void>((resolve) =>
      setTimeout(() => {
        sending = false;
        resolve();
      }, DRAIN_MS / 3),
    );
    await stopped;
    signalled = true;
    expect(shutdown.draining).toBe(true);

    const probe = new http.Agent({ keepAlive: false });
    const ready = await get(port, '/health/ready', probe);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'draining' });
    expect((await get(port, '/health', probe)).status).toBe(503);
    expect((await get(port, '/health/live', probe)).status).toBe(200);

    await stopSending;
    await load;
    expect(shutdown.draining).toBe(true); // every click was answered before the drain ended
    await shutdown.stop(t.app, 'SIGTERM'); // the stop under way: resolves once the app closed
    agent.destroy();
    probe.destroy();

    expect(raised).toBe('SIGTERM');
    expect(outcome).toMatchObject({ refused: 0, failed: 0 });
    expect(outcome.served).toBe(outcome.sent);
    expect(outcome.servedWhileDraining).toBeGreaterThan(50);
    expect(outcome.closeAsked).toBeGreaterThan(0);
    const db = new Client({ connectionString: t.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM clicks WHERE link_id = $1', [link.id]);
      expect(rows[0].n).toBe(outcome.served);
    } finally {
      await db.end();
    }
    // ACCESS_LOG=api (the default): a line per request, none for the click redirect.
    const access = t.logs.map((line) => JSON.parse(line)).filter((l) => l.msg === 'request');
    expect(access.some((l) => l.route === '/health/ready' && l.status === 503)).toBe(true);
    expect(access.some((l) => l.route === '/c/:code')).toBe(false);
    expect(process.listenerCount('SIGTERM')).toBe(listening - 1); // the app's listener is gone with it
  });
});
