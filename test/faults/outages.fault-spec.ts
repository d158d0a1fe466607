import { Deployment } from './support/deployment';
import { sleep, waitFor } from './support/env';
import { addFigure } from './support/figures';
import { loadUntil, tally } from './support/load';
import { clickIdFor, smallNetwork } from './support/network';
import { PrivatePostgres } from './support/postgres-server';
import { PrivateRedis } from './support/redis-server';

/** A Prometheus counter's value (summed over its labels) as the API reports it. */
async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('outages', () => {
  it('answers or cleanly refuses every postback while Redis is down for 10 s, loses none, and posts every commission after', async () => {
    const redis = await PrivateRedis.start();
    const d = await Deployment.create({ redisUrl: redis.url });
    try {
      const api = await d.api();
      await d.worker();
      const { advertiser, link } = await smallNetwork(d, (key) => api.as(key), { lockPeriodDays: 0 });
      let phase: 'before' | 'down' | 'after' | 'done' = 'before';
      const answers = loadUntil(
        () => phase === 'done',
        8,
        20_000,
        async (i) => {
          try {
            const res = await api.as()('GET', '/postback', {
              query: { token: advertiser.postbackToken as string, click_id: clickIdFor(d, link.id), goal: 'lead', txn_id: `OUT-${i}` },
              timeoutMs: 20_000,
            });
            return { status: res.status, id: res.body?.id as string | undefined, code: res.body?.error?.code as string | undefined, phase };
          } catch (error) {
            return { status: 0, id: undefined, code: (error as Error).message, phase };
          }
        },
      );
      await sleep(2000);
      await redis.down();
      phase = 'down';
      await sleep(10_000);
      await redis.up();
      phase = 'after';
      await sleep(3000);
      phase = 'done';
      const results = await answers;
      addFigure('postbacks sent through a 10 s Redis outage', results.length);
      expect(results.filter((r) => r.phase === 'down').length).toBeGreaterThan(10);
      const unclean = results.filter((r) => r.status !== 201 && !(r.status === 503 && r.code));
      expect(tally(unclean, (r) => `${r.status} ${r.code}`)).toEqual({});
      const accepted = results.filter((r) => r.status === 201).map((r) => r.id as string);
      await waitFor(
        'every accepted postback to have its commission',
        async () => (await d.count(`SELECT count(*) FROM journal_entries WHERE kind = 'commission' AND cause_id = ANY($1)`, [accepted])) === accepted.length,
        90_000,
        200,
      );
      const stored = await d.count(`SELECT count(*) FROM conversions WHERE id = ANY($1)`, [accepted]);
      addFigure('conversions lost in the Redis outage', accepted.length - stored);
      expect(stored).toBe(accepted.length);
      expect((await d.cli('ledger-verify')).code).toBe(0);
    } finally {
      await d.close();
      await redis.down();
    }
  });

  it('keeps redirecting through a PostgreSQL restart, stores what it can, counts what it cannot, and never crashes', async () => {
    const pg = await PrivatePostgres.start();
    const d = await Deployment.create({ databaseUrl: pg.url('afflux_outage') });
    try {
      const api = await d.api({ CLICK_LINK_CACHE_TTL_MS: '300000' });
      const { link } = await smallNetwork(d, (key) => api.as(key));
      let stop = false;
      const served: string[] = [];
      const other: string[] = [];
      const loadDone = loadUntil(
        () => stop,
        8,
        100_000,
        async (i) => {
          try {
            const res = await fetch(`${api.url}/c/${link.code}?sub1=${i}`, { redirect: 'manual', headers: { 'user-agent': `pg ${i}` }, signal: AbortSignal.timeout(10_000) });
            await res.arrayBuffer();
            if (res.status === 302) served.push(/afx_click=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '');
            else other.push(String(res.status));
          } catch (error) {
            other.push((error as Error).message);
          }
        },
      );
      await waitFor('clicks to flow', () => served.length > 200, 30_000, 20);
      pg.down();
      await waitFor('the API to see the outage', async () => (await api.as()('GET', '/health')).status === 503, 20_000, 100);
      await sleep(3000);
      const duringOutage = served.length;
      pg.up();
      await waitFor('the API to recover by itself', async () => (await api.as()('GET', '/health')).status === 200, 60_000, 200);
      await waitFor('clicks to be stored again', async () => (await d.count(`SELECT count(*) FROM clicks`)) > duringOutage, 60_000, 200);
      stop = true;
      await loadDone;
      await waitFor(
        'the buffer to drain',
        async () => {
          const stored = await d.count(`SELECT count(*) FROM clicks WHERE id = ANY($1)`, [served]);
          const dropped = await counter(api.url, 'afx_clicks_dropped_total');
          return stored + dropped >= served.length;
        },
        60_000,
        200,
      );
      const stored = await d.count(`SELECT count(*) FROM clicks WHERE id = ANY($1)`, [served]);
      const dropped = await counter(api.url, 'afx_clicks_dropped_total');
      addFigure('clicks redirected through a PostgreSQL restart', served.length);
      addFigure('clicks lost uncounted in the PostgreSQL restart', served.length - stored - dropped);
      expect(stored + dropped).toBe(served.length);
      expect(api.running).toBe(true);
      expect(other.filter((o) => /^5/.test(o) && o !== '503')).toEqual([]);
    } finally {
      await d.close();
      pg.destroy();
    }
  });
});
