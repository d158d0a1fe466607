import { ApiProc, Deployment } from './support/deployment';
import type { Proc } from './support/processes';
import { EmulatorProc } from './support/emulator';
import { waitFor } from './support/env';
import { addFigure } from './support/figures';
import { load, tally } from './support/load';
import { clickIdFor, expectCreated, smallNetwork } from './support/network';

/**
 * Two API processes and two worker processes on one database and one Redis, as a scaled-out
 * production runs: every race below is between processes, not just between promises.
 */
describe('concurrency across processes', () => {
  let emulator: EmulatorProc;
  let d: Deployment;
  let apis: ApiProc[];
  let workers: Proc[];
  let net: Awaited<ReturnType<typeof smallNetwork>>;
  const pick = (i: number) => apis[i % apis.length];

  beforeAll(async () => {
    emulator = await EmulatorProc.start();
    d = await Deployment.create({ env: emulator.env });
    apis = await Promise.all([d.api(), d.api()]);
    workers = await Promise.all([d.worker(), d.worker()]);
    await emulator.setWebhookUrl(`${apis[0].url}/webhooks/stripe`);
    net = await smallNetwork(d, (key) => apis[0].as(key), { lockPeriodDays: 30 });
  }, 180_000);
  afterAll(async () => {
    await d?.close();
    await emulator?.kill('SIGTERM');
  });

  // Settled: every message relayed and every conversion's ledger caught up with its status (commission, approval, reversal).
  const behind = `SELECT count(*) FROM conversions c
     WHERE c.affiliate_id IS NOT NULL AND c.currency IS NOT NULL AND CASE
       WHEN c.status IN ('pending', 'approved', 'paid') THEN NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_id = c.id::text AND e.kind = 'commission')
       ELSE EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_id = c.id::text AND e.kind = 'commission')
        AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_id = c.id::text AND e.kind = 'reversal') END
        OR (c.status = 'approved' AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.cause_id = c.id::text AND e.kind = 'approval'))`;
  const idle = () =>
    waitFor(
      'the outbox and queues to settle',
      async () => (await d.count(`SELECT count(*) FROM outbox WHERE relayed_at IS NULL`)) === 0 && (await d.count(behind)) === 0,
      120_000,
      100,
    );
  const verified = async () => expect(await d.cli('ledger-verify')).toMatchObject({ code: 0 });

  it('records 1 000 identical postbacks sent at once to two APIs as one conversion, answering each with its id', async () => {
    const clickId = clickIdFor(d, net.link.id);
    const query = { token: net.advertiser.postbackToken as string, click_id: clickId, goal: 'lead', txn_id: 'SAME-ORDER-1' };
    const answers = await load(1000, 1000, (i) => pick(i).as()('GET', '/postback', { query, timeoutMs: 120_000 }));
    addFigure('identical postbacks sent at once', answers.length);
    expect(tally(answers, (a) => a.status)).toEqual({ 200: 999, 201: 1 });
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await d.count(`SELECT count(*) FROM conversions WHERE txn_id = 'SAME-ORDER-1'`)).toBe(1);
    await idle();
    expect(await d.count(`SELECT count(*) FROM journal_entries WHERE cause_id = $1`, [answers[0].body.id])).toBe(1);
    addFigure('conversions doubled', (await d.count(`SELECT count(*) FROM conversions WHERE txn_id = 'SAME-ORDER-1'`)) - 1);
  });

  it('answers 50 concurrent payout-run requests on two APIs with one run', async () => {
    // No worker meanwhile: a run with nobody to pay would otherwise complete within the burst,
    // and a request after that rightly starts a new run.
    await Promise.all(workers.map((w) => w.kill('SIGTERM', 15_000)));
    const answers = await load(50, 50, (i) => pick(i).as(d.adminKey)('POST', '/v1/payout-runs', { body: { currency: 'EUR' } }));
    workers = await Promise.all([d.worker(), d.worker()]);
    expect(tally(answers, (a) => a.status)).toEqual({ 202: 50 });
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await d.count(`SELECT count(*) FROM payout_runs WHERE currency = 'EUR' AND NOT dry_run`)).toBe(1);
    addFigure('concurrent payout-run requests', 50);
  });

  it('keeps the ledger consistent when approvals race reversals on every conversion', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await pick(i).as()('GET', '/postback', {
        query: { token: net.advertiser.postbackToken as string, click_id: clickIdFor(d, net.link.id), goal: 'lead', txn_id: `RACE-${i}` },
      });
      ids.push((await expectCreated('postback', res)).id);
    }
    // Half race before their commission is posted, half after.
    await idle();
    const adv = (i: number) => pick(i).as(net.advertiser.apiKey);
    const moves = await Promise.all(
      ids.flatMap((id, i) => [
        adv(i)('POST', `/v1/conversions/${id}/approve`, { body: {} }),
        adv(i + 1)('POST', `/v1/conversions/${id}/reverse`, { body: { reason: 'race' } }),
        pick(i).as()('GET', '/postback', { query: { token: net.advertiser.postbackToken as string, goal: 'lead', txn_id: `RACE-${i}`, status: 'reversed' } }),
      ]),
    );
    addFigure('approve/reverse races', ids.length);
    expect(moves.filter((m) => m.status >= 500)).toEqual([]);
    expect(moves.every((m) => [200, 409].includes(m.status))).toBe(true);
    await idle();
    const statuses = await d.db.query(`SELECT status, count(*)::int AS n FROM conversions WHERE id = ANY($1) GROUP BY 1`, [ids]);
    expect(statuses.rows).toEqual([{ status: 'reversed', n: 40 }]);
    // Every reversed conversion gave back exactly what it earned: nothing pending or available is left from it.
    const [left] = (
      await d.db.query(
        `SELECT coalesce(sum(l.amount), 0)::int AS net FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id JOIN ledger_accounts a ON a.id = l.account_id
        WHERE e.cause_id = ANY($1) AND a.type IN ('affiliate_pending', 'affiliate_available', 'advertiser_receivable')`,
        [ids],
      )
    ).rows;
    expect(left.net).toBe(0);
    await verified();
  });

  it('pays through two workers exactly once, with the same figures a single process gives', async () => {
    const payees = [];
    for (let i = 0; i < 6; i++) {
      const aff = await expectCreated(
        'affiliate',
        await apis[0].as(d.adminKey)('POST', '/v1/affiliates', { body: { name: `Payee ${i}`, email: `payee-${i}-${Date.now()}@example.test` } }),
      );
      d.remember(aff.apiKey);
      const onboard = await expectCreated('onboard', await pick(i).as(aff.apiKey)('POST', '/v1/payout-accounts'));
      await emulator.completeOnboarding(onboard.accountId);
      const quick = await expectCreated(
        'offer',
        await apis[0].as(net.advertiser.apiKey)('POST', '/v1/offers', {
          body: {
            name: `Quick ${i}`,
            landingUrl: 'https://shop.example/?c={click_id}',
            currency: 'USD',
            visibility: 'public',
            lockPeriodDays: 0,
            goals: [{ key: 'lead', revenue: { type: 'flat', amount: 500 }, payout: { type: 'flat', amount: 300 } }],
          },
        }),
      );
      const link = await expectCreated('link', await apis[1].as(aff.apiKey)('POST', '/v1/links', { body: { offerId: quick.id } }));
      for (let k = 0; k < 4; k++) {
        await expectCreated(
          'postback',
          await pick(k).as()('GET', '/postback', {
            query: { token: net.advertiser.postbackToken as string, click_id: clickIdFor(d, link.id), goal: 'lead', txn_id: `PAY-${i}-${k}` },
          }),
        );
      }
      payees.push({ ...aff, accountId: onboard.accountId as string });
    }
    await emulator.flushWebhooks();
    await idle();
    await waitFor('payout accounts enabled', async () => (await d.count(`SELECT count(*) FROM payout_accounts WHERE payouts_enabled`)) >= 6, 60_000);
    const runs = await Promise.all(apis.map((api) => api.as(d.adminKey)('POST', '/v1/payout-runs', { body: { currency: 'USD' } })));
    expect(new Set(runs.map((r) => r.body.id)).size).toBe(1);
    const run = await waitFor(
      'the run to complete',
      async () => {
        const r = await apis[1].as(d.adminKey)('GET', `/v1/payout-runs/${runs[0].body.id}`);
        return r.body.status === 'completed' ? r.body : null;
      },
      120_000,
      200,
    );
    expect(run).toMatchObject({ paid: 6, failed: 0, amounts: { done: 6 * 1200, total: 6 * 1200 } });
    const transfers = await emulator.transfers();
    for (const p of payees) expect(transfers.filter((t) => t.destination === p.accountId).map((t) => t.amount)).toEqual([1200]);
    addFigure('transfers doubled', transfers.length - new Set(transfers.map((t) => t.destination)).size);
    await verified();
  });
});
