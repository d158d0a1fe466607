import IORedis from 'ioredis';
import { QUEUES } from '../../src/queue/queues';
import { ApiProc, Deployment } from './support/deployment';
import { EmulatorProc } from './support/emulator';
import { seededRandom, SEED, sleep, waitFor } from './support/env';
import { payoutRunCompleted } from './support/payout-runs';
import { addFigure } from './support/figures';
import { loadUntil } from './support/load';
import { clickIdFor, smallNetwork } from './support/network';
import { PrivateRedis } from './support/redis-server';
import { seedPayableAffiliates } from './support/seed';

const AFFILIATES = 2000;
const KILLS = 10;

/**
 * What BullMQ would do 30–60 s after a worker died holding a job (its lock expires, the stalled
 * checker of another worker sees it), done at once so ten crashes fit in a test run.
 */
async function expireJobLock(d: Deployment, queue: string, jobId: string): Promise<void> {
  const redis = new IORedis(d.redisUrl);
  try {
    const prefix = `{${d.queuePrefix}}:${queue}`;
    await redis.del(`${prefix}:${jobId}:lock`);
    await redis.sadd(`${prefix}:stalled`, jobId);
    await redis.del(`${prefix}:stalled-check`); // lets the next worker's first stalled check run now
  } finally {
    redis.disconnect();
  }
}

describe('crashes', () => {
  it(`pays ${AFFILIATES} affiliates exactly once through ${KILLS} kill -9 of the worker at random points of the run`, async () => {
    const random = seededRandom(SEED);
    const emulator = await EmulatorProc.start();
    const d = await Deployment.create({ env: emulator.env });
    try {
      const api = await d.api();
      const payables = await seedPayableAffiliates(d, emulator, AFFILIATES, 'USD', () => 1000 + Math.floor(random() * 49_000));
      await emulator.setWebhookUrl(`${api.url}/webhooks/stripe`);
      let worker = await d.worker();

      const started = await api.as(d.adminKey)('POST', '/v1/payout-runs', { body: { currency: 'USD' } });
      expect({ status: started.status, body: started.body }).toMatchObject({ status: 202 });
      const runId: string = started.body.id;
      // Work units: a payout planned, then a payout paid. Each kill lands at a random unit.
      const units = () => d.count(`SELECT (SELECT count(*) FROM payouts WHERE run_id = $1) + (SELECT count(*) FROM payouts WHERE run_id = $1 AND status = 'paid')`, [runId]);
      const killAt = Array.from({ length: KILLS }, () => Math.floor(random() * AFFILIATES * 2 * 0.95)).sort((a, b) => a - b);
      const killedAt: number[] = [];
      for (const threshold of killAt) {
        await waitFor(`the run to reach ${threshold} units (seed ${SEED})`, async () => (await units()) >= threshold, 180_000, 20);
        killedAt.push(await units());
        await worker.kill('SIGKILL');
        await expireJobLock(d, QUEUES.payouts, `payout-run-${runId}`);
        worker = await d.worker();
      }
      addFigure('crashes injected: worker kill -9 during a payout run', killedAt.length);
      process.stderr.write(`payout crash test (seed ${SEED}): killed at units ${killedAt.join(', ')}\n`);

      const run = await payoutRunCompleted(d.db, runId, 240_000);
      expect(run).toMatchObject({ done_count: AFFILIATES, failed_count: 0, total_count: AFFILIATES });

      const transfers = await emulator.transfers();
      const byAccount = new Map<string, number[]>();
      for (const t of transfers) byAccount.set(t.destination as string, [...(byAccount.get(t.destination as string) ?? []), t.amount]);
      const doubled = payables.filter((p) => (byAccount.get(p.accountId) ?? []).length > 1);
      const missed = payables.filter((p) => (byAccount.get(p.accountId) ?? []).length === 0);
      const wrong = payables.filter((p) => (byAccount.get(p.accountId) ?? [p.amount])[0] !== p.amount);
      addFigure('affiliates paid twice', doubled.length);
      addFigure('affiliates not paid', missed.length);
      expect({ transfers: transfers.length, doubled: doubled.length, missed: missed.length, wrongAmount: wrong.length }).toEqual({
        transfers: AFFILIATES,
        doubled: 0,
        missed: 0,
        wrongAmount: 0,
      });
      expect(killedAt.some((u) => u < AFFILIATES) && killedAt.some((u) => u >= AFFILIATES)).toBe(true); // both while planning and while transferring

      const verify = await d.cli('ledger-verify');
      expect(verify).toMatchObject({ code: 0 });
      const reconcile = await d.cli('reconcile');
      expect(reconcile.output).toMatch(/no difference/);
      expect(reconcile.code).toBe(0);
    } finally {
      await d.close();
      await emulator.kill('SIGTERM');
    }
  }, 900_000);

  it('posts the commission of a conversion whose API died before relaying its outbox row', async () => {
    const redis = await PrivateRedis.start();
    const d = await Deployment.create({ redisUrl: redis.url });
    try {
      let api: ApiProc = await d.api();
      const { advertiser, link } = await smallNetwork(d, (key) => api.as(key), { lockPeriodDays: 0 });
      // Redis goes away for the API: it still accepts conversions (PostgreSQL), but cannot relay them.
      await redis.down();
      const accepted: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await api.as()('GET', '/postback', { query: { token: advertiser.postbackToken, click_id: clickIdFor(d, link.id), goal: 'lead', txn_id: `crash-${i}` } });
        expect(res.status).toBe(201);
        accepted.push(res.body.id);
      }
      expect(await d.count(`SELECT count(*) FROM outbox WHERE relayed_at IS NULL AND topic = 'conversion.recorded'`)).toBe(20);
      await api.kill('SIGKILL');
      addFigure('crashes injected: API kill -9 with unrelayed outbox rows', 1);

      await redis.up();
      api = await d.api();
      await d.worker();
      await waitFor(
        'every commission to be posted',
        async () => (await d.count(`SELECT count(*) FROM journal_entries WHERE kind = 'commission' AND cause_id = ANY($1)`, [accepted])) === accepted.length,
        60_000,
        100,
      );
      expect(await d.count(`SELECT count(*) FROM journal_entries WHERE kind IN ('commission', 'approval') AND cause_id = ANY($1)`, [accepted])).toBe(40);
      addFigure('conversions lost', accepted.length - (await d.count(`SELECT count(*) FROM conversions WHERE id = ANY($1)`, [accepted])));
      expect((await d.cli('ledger-verify')).code).toBe(0);
    } finally {
      await d.close();
      await redis.down();
    }
  });

  it('stores every click it redirected when stopped with SIGTERM under load', async () => {
    const d = await Deployment.create();
    try {
      const api = await d.api();
      const { link } = await smallNetwork(d, (key) => api.as(key));
      let stopping = false;
      const served: string[] = [];
      const failed: string[] = [];
      const loadDone = loadUntil(
        () => !api.running,
        16,
        50_000,
        async (i) => {
          try {
            const res = await fetch(`${api.url}/c/${link.code}?sub1=load${i}`, { redirect: 'manual', headers: { 'user-agent': `load ${i}` } });
            await res.arrayBuffer();
            if (res.status === 302) served.push(/afx_click=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '');
            else failed.push(String(res.status));
          } catch (error) {
            failed.push(stopping ? 'refused while stopping' : (error as Error).message);
            await sleep(5);
          }
        },
      );
      await waitFor('clicks to flow', () => served.length > 500, 30_000, 20);
      stopping = true;
      const exit = await api.kill('SIGTERM');
      await loadDone;
      // Nest closes the app, then re-raises the signal on itself: either way, no crash.
      expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
      const stored = await d.count(`SELECT count(*) FROM clicks WHERE link_id = $1`, [link.id]);
      const { rows } = await d.db.query<{ id: string }>(`SELECT id FROM clicks WHERE id = ANY($1)`, [served]);
      addFigure('clicks redirected during SIGTERM test', served.length);
      addFigure('clicks lost after SIGTERM', served.length - rows.length);
      expect(rows.length).toBe(served.length);
      expect(stored).toBeGreaterThanOrEqual(served.length);
      expect(failed.filter((f) => f !== 'refused while stopping' && !/fetch failed|ECONNRESET|ECONNREFUSED|socket/.test(f))).toEqual([]);
    } finally {
      await d.close();
    }
  });
});
