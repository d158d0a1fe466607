import { NestFactory } from '@nestjs/core';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { createTestApp, deleteRedisKeys, TestApp } from '../support/create-test-app';
import { AppModule } from '../../src/app.module';
import { ClickBuffer } from '../../src/modules/tracking/click-buffer';
import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import { dropDatabase } from '../support/test-env';
import { click, createLinkedSetup, LinkHandle } from '../support/tracking.factories';

/** Counts a link's clicks over a connection of our own: the app's pool is closed by then. */
async function countClicks(t: TestApp, linkId: string): Promise<number> {
  const client = new Client({ connectionString: t.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM clicks WHERE link_id = $1', [linkId]);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

async function dispose(t: TestApp): Promise<void> {
  await dropDatabase(t.databaseName);
  await deleteRedisKeys(`{${t.queuePrefix}}*`);
}

describe('click durability on a graceful stop', () => {
  let t: TestApp;
  let link: LinkHandle;
  let advertiserId: string;

  beforeEach(async () => {
    // The slowest flush interval allowed, so clicks are still buffered when the stop begins.
    t = await createTestApp({ env: { CLICK_FLUSH_INTERVAL_MS: '200' } });
    const setup = await createLinkedSetup(t);
    ({ link } = setup);
    advertiserId = setup.advertiser.id;
  });
  afterEach(() => dispose(t));

  it('writes the buffered clicks on app.close(), before the pool closes', async () => {
    for (let i = 0; i < 20; i++) expect((await click(t, link.code)).status).toBe(302);
    await t.app.close();
    expect(await countClicks(t, link.id)).toBe(20);
    expect(t.logs.join('\n')).not.toMatch(/could not be written/);
  });

  it('stores exactly the clicks it served when stopped in the middle of a load', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const total = 3000;
    const outcome = { served: 0, refused: 0, failed: 0 };
    const requests = Array.from(
      { length: total },
      (_, i) =>
        new Promise<void>((resolve) => {
          const req = http.get({ host: '127.0.0.1', port, path: `/c/${link.code}?sub1=${i}`, agent, headers: { 'user-agent': `load-${i % 50}` } }, (res) => {
            if (res.statusCode === 302) outcome.served++;
            else outcome.refused++;
            res.resume();
            res.on('end', resolve);
            res.on('error', resolve);
          });
          req.on('error', () => {
            outcome.failed++;
            resolve();
          });
        }),
    );
    while (outcome.served < total / 3) await new Promise((resolve) => setTimeout(resolve, 1));
    const closing = t.app.close();
    await Promise.all(requests);
    await closing;
    agent.destroy();

    expect(outcome.served).toBeGreaterThanOrEqual(total / 3);
    expect(outcome.served + outcome.refused + outcome.failed).toBe(total);
    expect(await countClicks(t, link.id)).toBe(outcome.served);
  });

  it('runs in a process without an HTTP server (the worker) and writes its buffer on close', async () => {
    // createTestApp left this app's environment in process.env: the context uses the same database.
    const context = await NestFactory.createApplicationContext(AppModule.forRoot({ workers: false }), { logger: false });
    try {
      const clickedAt = new Date();
      const id = context.get(ClickIdService).issue(link.id, clickedAt);
      await context.get(ClickBuffer).push({
        id,
        clickedAt,
        linkId: link.id,
        offerId: link.offerId,
        affiliateId: link.affiliateId,
        advertiserId,
        channel: 'other',
        sub1: 'worker',
        sub2: null,
        sub3: null,
        sub4: null,
        sub5: null,
        ip: null,
        userAgent: null,
        referrer: null,
        status: 'ok',
      });
    } finally {
      await context.close();
    }
    await t.app.close();
    expect(await countClicks(t, link.id)).toBe(1);
  });
});
