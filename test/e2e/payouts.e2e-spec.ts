import Stripe from 'stripe';
import { STRIPE_EVENT_OWNERS, StripeEventsService } from '../../src/integrations/stripe/stripe-events.service';
import { TRANSFER_CONCURRENCY } from '../../src/modules/payouts/payout-limits';
import { PayoutRunsService } from '../../src/modules/payouts/payout-runs.service';
import { PayoutRails } from '../../src/modules/payouts/rails/payout-rails';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues, queue } from '../support/drain';
import { OutboxRelay } from '../../src/queue/outbox/outbox.relay';
import { QUEUES } from '../../src/queue/queues';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

const WEBHOOK_SECRET = 'whsec_test_payouts_0123456789';
const CONNECT_WEBHOOK_SECRET = 'whsec_test_payouts_connect_0123456789';

describe('payouts to affiliates through Stripe', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let advertiser: PrincipalHandle;
  let finance: PrincipalHandle;
  let usd: OfferHandle;
  let eur: OfferHandle;

  /** An affiliate with a Stripe account onboarded through the real endpoint and webhook. */
  async function payableAffiliate(): Promise<PrincipalHandle & { accountId: string }> {
    const affiliate = await createAffiliate(t);
    const res = await t.http.post('/v1/payout-accounts').set(auth(affiliate.apiKey)).send({}).expect(201);
    expect(res.body.url).toMatch(/^http/);
    stripe.completeOnboarding(res.body.accountId);
    return { ...affiliate, accountId: res.body.accountId };
  }

  /** Until a pass brings no new Stripe event: a job may call Stripe, whose events come back as webhooks. */
  async function settle(): Promise<void> {
    for (let seen = -1; seen !== stripe.events().length;) {
      seen = stripe.events().length;
      await stripe.flushWebhooks();
      await drainQueues(t);
    }
  }

  async function earn(affiliate: PrincipalHandle, offer: OfferHandle, times: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < times; i++) ids.push((await convert(t, advertiser, affiliate, offer)).id);
    return ids;
  }

  async function run(currency: string) {
    const started = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency }).expect(202);
    await drainQueues(t);
    return (await t.http.get(`/v1/payout-runs/${started.body.id}`).set(auth(finance.apiKey)).expect(200)).body;
  }

  const transfersTo = (accountId: string) => stripe.transfers().filter((tr) => tr.destination === accountId);

  beforeAll(async () => {
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET, connectWebhookSecret: CONNECT_WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({
      workers: true,
      listen: true,
      env: {
        STRIPE_SECRET_KEY: 'sk_test_afflux',
        STRIPE_API_URL: url,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_CONNECT_WEBHOOK_SECRET: CONNECT_WEBHOOK_SECRET,
        STRIPE_TIMEOUT_MS: '1000',
        STRIPE_MAX_NETWORK_RETRIES: '2',
      },
    });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    // Two endpoints, as registered in Stripe's dashboard: the platform's events, and Connect's (connected accounts).
    stripe.setConnectWebhookUrl(`${t.baseUrl}/webhooks/stripe/connect`);
    [advertiser, finance] = await Promise.all([createAdvertiser(t), createFinanceUser(t)]);
    // Approved at once (lock 0), 300 minor units per lead: four leads cross the default threshold of 1000.
    usd = await createOffer(t, advertiser, { lockPeriodDays: 0 });
    eur = await createOffer(t, advertiser, { lockPeriodDays: 0, currency: 'EUR' });
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });
  afterEach(async () => {
    stripe.clearFaults();
    await settle();
    await expectLedgerVerified(t);
  });

  it('onboards an affiliate: account.updated turns payouts on', async () => {
    const affiliate = await payableAffiliate();
    await settle();
    const [row] = await t.dataSource.query('SELECT payouts_enabled FROM payout_accounts WHERE affiliate_id = $1', [affiliate.id]);
    expect(row.payouts_enabled).toBe(true);
    const again = await t.http.post('/v1/payout-accounts').set(auth(affiliate.apiKey)).send({}).expect(201);
    expect(again.body.accountId).toBe(affiliate.accountId);
    expect(stripe.accounts().filter((a) => a.metadata?.affiliate_id === affiliate.id)).toHaveLength(1);
    for (const key of [advertiser.apiKey, finance.apiKey, t.adminKey]) await t.http.post('/v1/payout-accounts').set(auth(key)).send({}).expect(403);
  });

  it('pays many affiliates in two currencies, once each, above their thresholds only; a dry run changes nothing', async () => {
    const due = await Promise.all(Array.from({ length: 12 }, () => payableAffiliate()));
    const below = await payableAffiliate();
    const lowThreshold = await payableAffiliate();
    const notOnboarded = await createAffiliate(t);
    await settle();
    await t.http.patch(`/v1/affiliates/${lowThreshold.id}`).set(auth(t.adminKey)).send({ payoutThreshold: 500 }).expect(200);
    for (const a of due) await earn(a, usd, 4);
    for (const a of due.slice(0, 5)) await earn(a, eur, 4);
    await earn(below, usd, 3);
    await earn(lowThreshold, usd, 2);
    await earn(notOnboarded, usd, 5);
    await settle();

    const ledgerBefore = await t.dataSource.query('SELECT count(*)::int AS n FROM journal_entries');
    const dry = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD', dryRun: true }).expect(202);
    expect(dry.body).toMatchObject({ dryRun: true, status: 'completed', progress: { done: 0, total: 13 }, amounts: { done: 0, total: 12 * 1200 + 600 } });
    expect(dry.body.preview.map((p: { affiliateId: string }) => p.affiliateId).sort()).toEqual([...due.map((a) => a.id), lowThreshold.id].sort());
    expect(await t.dataSource.query('SELECT count(*)::int AS n FROM journal_entries')).toEqual(ledgerBefore);
    expect(stripe.transfers()).toHaveLength(0);

    const usdRun = await run('USD');
    expect(usdRun).toMatchObject({ status: 'completed', progress: { done: 13, total: 13 }, amounts: { done: 15_000, total: 15_000 }, paid: 13, failed: 0 });
    const eurRun = await run('EUR');
    expect(eurRun).toMatchObject({ status: 'completed', paid: 5, amounts: { done: 6000 } });
    for (const a of due)
      expect(
        transfersTo(a.accountId)
          .map((tr) => tr.currency)
          .sort(),
      ).toEqual(due.indexOf(a) < 5 ? ['eur', 'usd'] : ['usd']);
    expect(transfersTo(below.accountId)).toHaveLength(0);
    expect(transfersTo(lowThreshold.accountId).map((tr) => tr.amount)).toEqual([600]);

    const earnings = await t.http.get('/v1/earnings').set(auth(due[0].apiKey)).expect(200);
    expect(earnings.body.balances).toEqual(
      expect.arrayContaining([expect.objectContaining({ currency: 'USD', available: 0, paid: 1200 }), expect.objectContaining({ currency: 'EUR', available: 0, paid: 1200 })]),
    );
    const mine = await t.http.get('/v1/payouts').set(auth(due[0].apiKey)).expect(200);
    expect(mine.body.data).toHaveLength(2);
    expect(mine.body.data.every((p: { affiliateId: string; stripeTransferId: string }) => p.affiliateId === due[0].id && /^tr_/.test(p.stripeTransferId))).toBe(true);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions WHERE affiliate_id = $1 AND status = 'paid'`, [due[0].id]);
    expect(n).toBe(8);

    // Nothing is due any more: a second run pays nobody.
    const empty = await run('USD');
    expect(empty).toMatchObject({ status: 'completed', progress: { total: 0 } });
  });

  it('answers concurrent run requests with one run', async () => {
    const a = await payableAffiliate();
    await settle();
    await earn(a, usd, 4);
    await settle();
    const responses = await Promise.all(Array.from({ length: 10 }, () => t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' })));
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    await drainQueues(t);
    expect(transfersTo(a.accountId)).toHaveLength(1);
  });

  it('nets a clawback from a reversed paid conversion off the next payout', async () => {
    const a = await payableAffiliate();
    await settle();
    const [first] = await earn(a, usd, 4);
    await settle();
    await run('USD');
    await t.http.post(`/v1/conversions/${first}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'chargeback' }).expect(200);
    await settle();
    const owed = await t.http.get('/v1/earnings').set(auth(a.apiKey)).expect(200);
    expect(owed.body.balances[0]).toMatchObject({ currency: 'USD', clawback: 300, available: 0, paid: 1200 });
    await earn(a, usd, 5);
    await settle();
    await run('USD');
    expect(transfersTo(a.accountId).map((tr) => tr.amount)).toEqual([1200, 1200]);
    const payouts = await t.http.get('/v1/payouts').query({ affiliateId: a.id }).set(auth(finance.apiKey)).expect(200);
    expect(payouts.body.data[0]).toMatchObject({ amount: 1200, clawbackNetted: 300 });
    const after = await t.http.get('/v1/earnings').set(auth(a.apiKey)).expect(200);
    expect(after.body.balances[0]).toMatchObject({ clawback: 0, available: 0 });
  });

  // Before any 429 of the tests below: a 429 halves the requests let in flight for a while (payout-runs.service.ts).
  it('keeps at most TRANSFER_CONCURRENCY transfers in flight, and uses them all; transfer.created is stored applied, without a job', async () => {
    const affiliates = await Promise.all(Array.from({ length: TRANSFER_CONCURRENCY + 3 }, () => payableAffiliate()));
    await settle();
    for (const a of affiliates) await earn(a, usd, 4);
    await settle();
    // Each transfer takes 200 ms on Stripe's side, so the run's transfers overlap as far as it lets them.
    stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'delay', delayMs: 200, times: affiliates.length });
    stripe.resetInFlightPeak();
    const result = await run('USD');
    expect(result).toMatchObject({ status: 'completed', paid: affiliates.length, progress: { done: affiliates.length, total: affiliates.length } });
    expect(stripe.inFlightPeak()).toBe(TRANSFER_CONCURRENCY);
    for (const a of affiliates) expect(transfersTo(a.accountId)).toHaveLength(1);

    await settle();
    const ids = affiliates.flatMap((a) => transfersTo(a.accountId).map((tr) => tr.id));
    const events = await t.dataSource.query(
      `SELECT e.processed_at IS NOT NULL AS processed, e.outcome, (SELECT count(*)::int FROM outbox o WHERE o.topic = 'stripe.event' AND o.aggregate_id = e.id) AS jobs
         FROM stripe_events e WHERE e.type = 'transfer.created' AND e.payload->'data'->'object'->>'id' = ANY($1)`,
      [ids],
    );
    expect(events).toHaveLength(affiliates.length);
    expect(events.every((e: { processed: boolean; outcome: string; jobs: number }) => e.processed && e.outcome === 'ignored' && e.jobs === 0)).toBe(true);
  });

  it('rides out Stripe 500s, a lost answer and a 429 without a second transfer', async () => {
    const affiliates = await Promise.all(Array.from({ length: 3 }, () => payableAffiliate()));
    await settle();
    for (const a of affiliates) await earn(a, usd, 4);
    await settle();
    stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'error500', times: 2 });
    stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'reset_after_commit', times: 1 });
    stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'rate_limit', times: 1 });
    const result = await run('USD');
    expect(result).toMatchObject({ status: 'completed', paid: 3 });
    for (const a of affiliates) expect(transfersTo(a.accountId)).toHaveLength(1);
  });

  it("honours Stripe's rate limit: 429s pause the run's transfers, each is paid once, within the job's first attempt", async () => {
    const affiliates = await Promise.all(Array.from({ length: 10 }, () => payableAffiliate()));
    await settle();
    for (const a of affiliates) await earn(a, usd, 4);
    await settle();
    const logged = stripe.requestLog().length;
    stripe.setRateLimit(3); // Stripe's basic limiter at 3 writes a second: most of the first burst is refused
    let result;
    try {
      result = await run('USD');
    } finally {
      stripe.setRateLimit(null);
    }
    expect(result).toMatchObject({ status: 'completed', paid: 10, failed: 0 });
    for (const a of affiliates) expect(transfersTo(a.accountId)).toHaveLength(1);
    const creates = stripe
      .requestLog()
      .slice(logged)
      .filter((r) => r.method === 'POST' && r.path === '/v1/transfers');
    expect(creates.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(creates.filter((r) => r.status === 200)).toHaveLength(10);
    // Waited out in the run, not failed back to the queue: one claim per payout.
    const [{ max }] = await t.dataSource.query(`SELECT max(attempts)::int AS max FROM payouts WHERE run_id = $1`, [result.id]);
    expect(max).toBe(1);
  });

  it('resumes a run whose claimed payouts never reached Stripe: each is looked up first, then sent once', async () => {
    const affiliates = await Promise.all(Array.from({ length: 4 }, () => payableAffiliate()));
    await settle();
    for (const a of affiliates) await earn(a, usd, 4);
    await settle();
    const runs = t.app.get(PayoutRunsService);
    await queue(t, QUEUES.payouts).pause();
    try {
      const started = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
      // Every create fails before Stripe acts (500s through the SDK's retries): the attempt ends with
      // the payouts claimed ('transferring', one attempt each) and nothing sent, as a kill after the claim would.
      stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'error500', times: 3 * affiliates.length });
      await expect(runs.execute(started.body.id)).rejects.toThrow();
      stripe.clearFaults();
      const claimed = await t.dataSource.query(`SELECT status, attempts FROM payouts WHERE run_id = $1`, [started.body.id]);
      expect(claimed).toEqual(affiliates.map(() => ({ status: 'transferring', attempts: 1 })));
      expect(affiliates.flatMap((a) => transfersTo(a.accountId))).toHaveLength(0);
      const logged = stripe.requestLog().length;
      const resumed = await runs.execute(started.body.id);
      expect(resumed).toMatchObject({ status: 'completed', doneCount: 4, doneAmount: 4 * 1200 });
      for (const a of affiliates) expect(transfersTo(a.accountId)).toHaveLength(1);
      const after = stripe.requestLog().slice(logged);
      expect(after.filter((r) => r.method === 'GET' && r.path === '/v1/transfers')).toHaveLength(4);
    } finally {
      await queue(t, QUEUES.payouts).resume();
    }
  });

  it('resumes a run killed after Stripe made transfers it never recorded, even once Stripe forgot the keys', async () => {
    const affiliates = await Promise.all(Array.from({ length: 6 }, () => payableAffiliate()));
    await settle();
    for (const a of affiliates) await earn(a, usd, 4);
    await settle();
    const done = await run('USD');
    expect(done.paid).toBe(6);
    for (const a of affiliates) expect(transfersTo(a.accountId)).toHaveLength(1);
    // Put the run back into the state a kill -9 between Stripe's answer and our commit leaves:
    // three payouts "transferring" with no transfer id, the run still running.
    await t.dataSource.query(
      `UPDATE payouts SET status = 'transferring', stripe_transfer_id = NULL, paid_at = NULL
        WHERE id IN (SELECT id FROM payouts WHERE run_id = $1 ORDER BY id LIMIT 3)`,
      [done.id],
    );
    await t.dataSource.query(`UPDATE payout_runs SET status = 'running', done_count = done_count - 3, done_amount = done_amount - 3600, finished_at = NULL WHERE id = $1`, [
      done.id,
    ]);
    stripe.forgetIdempotencyKeys();
    const resumed = await t.app.get(PayoutRunsService).execute(done.id);
    expect(resumed).toMatchObject({ status: 'completed', doneCount: 6, doneAmount: 7200 });
    for (const a of affiliates) expect(transfersTo(a.accountId)).toHaveLength(1);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM payouts WHERE run_id = $1 AND status = 'paid' AND stripe_transfer_id IS NOT NULL`, [done.id]);
    expect(n).toBe(6);
  });

  it('returns the money when a transfer fails or is reversed', async () => {
    const [poor, reversed] = await Promise.all([payableAffiliate(), payableAffiliate()]);
    await settle();
    await earn(poor, eur, 4);
    await settle();
    stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'insufficient_funds', times: 1 });
    const failedRun = await run('EUR');
    expect(failedRun).toMatchObject({ status: 'completed', failed: 1, paid: 0 });
    const back = await t.http.get('/v1/earnings').set(auth(poor.apiKey)).expect(200);
    expect(back.body.balances[0]).toMatchObject({ currency: 'EUR', available: 1200, paid: 0 });
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions WHERE affiliate_id = $1 AND status = 'approved'`, [poor.id]);
    expect(n).toBe(4);

    await earn(reversed, usd, 4);
    await settle();
    await run('USD');
    const [transfer] = transfersTo(reversed.accountId);
    stripe.reverseTransfer(transfer.id);
    await settle();
    const payouts = await t.http.get('/v1/payouts').query({ affiliateId: reversed.id }).set(auth(finance.apiKey)).expect(200);
    expect(payouts.body.data[0]).toMatchObject({ status: 'failed', failureCode: 'transfer_reversed' });
    expect((await t.http.get('/v1/earnings').set(auth(reversed.apiKey))).body.balances[0]).toMatchObject({ available: 1200, paid: 0 });
    // The returned money is paid again by the next run.
    await run('USD');
    expect(transfersTo(reversed.accountId)).toHaveLength(2);
  });

  it('pays a conversion recorded approved (lock 0) whose commission job has not run yet, in the payout that marks it paid', async () => {
    const a = await payableAffiliate();
    await settle();
    await earn(a, usd, 4);
    await settle();
    // The fifth is recorded approved, but its commission job waits: the ledger does not hold it yet.
    await queue(t, QUEUES.commissions).pause();
    try {
      const [late] = await earn(a, usd, 1);
      await drainQueues(t, { except: [QUEUES.maintenance, QUEUES.commissions] });
      const started = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
      await drainQueues(t, { except: [QUEUES.maintenance, QUEUES.commissions] });
      await t.http.get(`/v1/payout-runs/${started.body.id}`).set(auth(finance.apiKey)).expect(200);
      const [payout] = (await t.http.get('/v1/payouts').query({ affiliateId: a.id }).set(auth(finance.apiKey)).expect(200)).body.data;
      const [{ linked }] = await t.dataSource.query(`SELECT coalesce(sum(payout), 0)::int AS linked FROM conversions WHERE payout_id = $1`, [payout.id]);
      // A payout pays exactly the conversions it marks paid.
      expect({ amount: payout.amount, linked }).toEqual({ amount: 1500, linked: 1500 });
      expect((await t.http.get(`/v1/conversions/${late}`).set(auth(finance.apiKey)).expect(200)).body).toMatchObject({ status: 'paid' });
    } finally {
      await queue(t, QUEUES.commissions).resume();
    }
    await settle();
    expect((await t.http.get('/v1/earnings').set(auth(a.apiKey))).body.balances[0]).toMatchObject({ available: 0, paid: 1500 });
  });

  it('pays exactly once when recording a made transfer fails (markPaid throws once), across runs', async () => {
    const a = await payableAffiliate();
    await settle();
    await earn(a, usd, 4);
    await settle();
    // The first UPDATE of this affiliate's payout to 'paid' raises, as a dropped connection or a
    // failing commit would, after Stripe has made the transfer (a sequence is not rolled back).
    await t.dataSource.query(`CREATE SEQUENCE test_fail_paid_once`);
    await t.dataSource.query(`
      CREATE FUNCTION test_fail_paid_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'paid' AND OLD.status <> 'paid' AND NEW.affiliate_id = '${a.id}' AND nextval('test_fail_paid_once') = 1 THEN
          RAISE EXCEPTION 'injected: connection lost while recording the transfer';
        END IF;
        RETURN NEW;
      END $$`);
    await t.dataSource.query(`CREATE TRIGGER test_fail_paid_once BEFORE UPDATE ON payouts FOR EACH ROW EXECUTE FUNCTION test_fail_paid_once()`);
    let first;
    try {
      first = await run('USD');
      await run('USD');
    } finally {
      await t.dataSource.query(`DROP TRIGGER test_fail_paid_once ON payouts; DROP FUNCTION test_fail_paid_once(); DROP SEQUENCE test_fail_paid_once`);
    }
    expect(transfersTo(a.accountId).map((tr) => tr.amount)).toEqual([1200]);
    expect(first).toMatchObject({ status: 'completed', paid: 1, failed: 0 });
    const [payout] = (await t.http.get('/v1/payouts').query({ affiliateId: a.id }).set(auth(finance.apiKey)).expect(200)).body.data;
    expect(payout).toMatchObject({ status: 'paid', stripeTransferId: transfersTo(a.accountId)[0].id });
    expect((await t.http.get('/v1/earnings').set(auth(a.apiKey))).body.balances[0]).toMatchObject({ available: 0, paid: 1200 });
  });

  it('settles every payout of a run that gives up: no transfer on Stripe ⇒ failed with the money back; a new run of the currency pays', async () => {
    const a = await payableAffiliate();
    await settle();
    await earn(a, usd, 4);
    await settle();
    stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'error500' });
    const started = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
    // Every attempt meets a 500; the backoff between attempts is skipped so the attempts run out quickly.
    const payouts = queue(t, QUEUES.payouts);
    const deadline = Date.now() + 90_000;
    let given: { status: string } = { status: 'queued' };
    while (given.status !== 'failed' && Date.now() < deadline) {
      await t.app.get(OutboxRelay).drain();
      for (const job of await payouts.getDelayed()) await job.promote().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
      given = (await t.http.get(`/v1/payout-runs/${started.body.id}`).set(auth(finance.apiKey)).expect(200)).body;
    }
    expect(given).toMatchObject({ status: 'failed', paid: 0, failed: 1 });
    stripe.clearFaults();
    expect(transfersTo(a.accountId)).toHaveLength(0);
    const [payout] = (await t.http.get('/v1/payouts').query({ affiliateId: a.id }).set(auth(finance.apiKey)).expect(200)).body.data;
    expect(payout).toMatchObject({ status: 'failed' });
    expect((await t.http.get('/v1/earnings').set(auth(a.apiKey))).body.balances[0]).toMatchObject({ available: 1200, paid: 0 });
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions WHERE affiliate_id = $1 AND status = 'approved' AND payout_id IS NULL`, [a.id]);
    expect(n).toBe(4);
    const next = await run('USD');
    expect(next).toMatchObject({ status: 'completed', paid: 1 });
    expect(transfersTo(a.accountId).map((tr) => tr.amount)).toEqual([1200]);
  }, 120_000);

  it('settles a given-up run against Stripe: a transfer found by its group ⇒ the payout is paid, never returned', async () => {
    const affiliates = await Promise.all(Array.from({ length: 2 }, () => payableAffiliate()));
    await settle();
    for (const a of affiliates) await earn(a, usd, 4);
    await settle();
    const done = await run('USD');
    // The state a run that ran out of attempts after Stripe made the transfers leaves behind.
    await t.dataSource.query(`UPDATE payouts SET status = 'transferring', stripe_transfer_id = NULL, paid_at = NULL WHERE run_id = $1`, [done.id]);
    await t.dataSource.query(`UPDATE payout_runs SET status = 'running', done_count = 0, done_amount = 0, finished_at = NULL WHERE id = $1`, [done.id]);
    await t.app.get(PayoutRunsService).markFailed(done.id, 'attempts spent');
    const given = await t.app.get(PayoutRunsService).get(done.id);
    expect(given).toMatchObject({ status: 'failed', doneCount: 2, failedCount: 0 });
    const rows = await t.dataSource.query(`SELECT status, stripe_transfer_id FROM payouts WHERE run_id = $1`, [done.id]);
    expect(rows.every((r: { status: string; stripe_transfer_id: string }) => r.status === 'paid' && /^tr_/.test(r.stripe_transfer_id))).toBe(true);
    for (const a of affiliates) {
      expect(transfersTo(a.accountId)).toHaveLength(1);
      expect((await t.http.get('/v1/earnings').set(auth(a.apiKey))).body.balances[0]).toMatchObject({ available: 0, paid: 1200 });
    }
  });

  it('applies a partial transfer.reversed for what was newly reversed only, once per reversal; the whole reversal returns the payout', async () => {
    const a = await payableAffiliate();
    await settle();
    await earn(a, usd, 4);
    await settle();
    await run('USD');
    const [transfer] = transfersTo(a.accountId);
    const payoutOf = async () => (await t.http.get('/v1/payouts').query({ affiliateId: a.id }).set(auth(finance.apiKey)).expect(200)).body.data[0];
    const balance = async () => (await t.http.get('/v1/earnings').set(auth(a.apiKey))).body.balances[0];
    const paidConversions = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions WHERE affiliate_id = $1 AND status = 'paid'`, [a.id]))[0].n;

    stripe.reverseTransfer(transfer.id, 500);
    await settle();
    expect(await payoutOf()).toMatchObject({ status: 'paid', reversedAmount: 500, stripeTransferId: transfer.id });
    expect(await balance()).toMatchObject({ available: 500, paid: 700 });
    expect(await paidConversions()).toBe(4);
    // A replay of the same event, and an older event arriving late, change nothing.
    const first = stripe
      .events()
      .filter((e) => e.type === 'transfer.reversed')
      .at(-1)!;
    await stripe.redeliver(first.id);
    stripe.reverseTransfer(transfer.id, 300);
    await settle();
    await t.dataSource.query(`UPDATE stripe_events SET processed_at = NULL WHERE id = $1`, [first.id]);
    await t.app.get(StripeEventsService).apply(first.id);
    expect(await payoutOf()).toMatchObject({ status: 'paid', reversedAmount: 800 });
    expect(await balance()).toMatchObject({ available: 800, paid: 400 });

    const day = new Date().toISOString().slice(0, 10);
    const statement = (await t.http.get('/v1/statements').query({ from: day, to: day }).set(auth(a.apiKey)).expect(200)).body.sections[0];
    const reversals = statement.lines.filter((l: { type: string }) => l.type === 'payout_reversed');
    expect(reversals.map((l: { amount: number; reference: string }) => [l.amount, l.reference])).toEqual([
      [500, transfer.id],
      [300, transfer.id],
    ]);
    expect(statement.totals.paid).toBe(-400);
    expect(statement.opening + statement.lines.reduce((sum: number, l: { amount: number }) => sum + l.amount, 0)).toBe(statement.closing);

    // The rest reversed: the whole transfer is back, so the payout fails and its conversions are payable again.
    stripe.reverseTransfer(transfer.id);
    await settle();
    expect(await payoutOf()).toMatchObject({ status: 'failed', failureCode: 'transfer_reversed', reversedAmount: 1200 });
    expect(await balance()).toMatchObject({ available: 1200, paid: 0 });
    expect(await paidConversions()).toBe(0);
  });

  it('sends Stripe its own representation of each currency; what Stripe cannot carry stays in the balance; a currency Stripe cannot move is refused', async () => {
    const goals = (payout: number) => [{ key: 'lead', revenue: { type: 'flat', amount: 2 * payout }, payout: { type: 'flat', amount: payout } }];
    const cases = [
      // ISO zero-decimal, two-decimal at Stripe: ISK 1200 is 120000.
      { currency: 'ISK', payout: 300, planned: 1200, sent: 120_000, left: 0 },
      // Two-decimal, transfers in whole forints: 13.32 → 13.00, 0.32 stays.
      { currency: 'HUF', payout: 333, planned: 1300, sent: 1300, left: 32 },
      // Three-decimal, the last digit 0: 1.332 → 1.330, 0.002 stays.
      { currency: 'KWD', payout: 333, planned: 1330, sent: 1330, left: 2 },
      // ISO two-decimal, zero-decimal at Stripe: 13.32 → 13, 0.32 stays.
      { currency: 'MGA', payout: 333, planned: 1300, sent: 13, left: 32 },
    ];
    for (const c of cases) {
      stripe.setBalance(c.currency, 10 ** 12);
      const a = await payableAffiliate();
      await settle();
      await earn(a, await createOffer(t, advertiser, { lockPeriodDays: 0, currency: c.currency, goals: goals(c.payout) }), 4);
      await settle();
      const result = await run(c.currency);
      expect([c.currency, result.status, result.paid, result.amounts.done]).toEqual([c.currency, 'completed', 1, c.planned]);
      expect([c.currency, transfersTo(a.accountId).map((tr) => [tr.amount, tr.currency])]).toEqual([c.currency, [[c.sent, c.currency.toLowerCase()]]]);
      const [payout] = (await t.http.get('/v1/payouts').query({ affiliateId: a.id }).set(auth(finance.apiKey)).expect(200)).body.data;
      expect(payout).toMatchObject({ status: 'paid', amount: c.planned });
      expect((await t.http.get('/v1/earnings').set(auth(a.apiKey))).body.balances[0]).toMatchObject({ currency: c.currency, available: c.left, paid: c.planned });
    }
    for (const dryRun of [false, true]) {
      const refused = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'IQD', dryRun }).expect(400);
      expect(refused.body.error).toMatchObject({ code: 'currency_not_supported_by_stripe', message: expect.stringContaining('IQD') });
    }
    expect(await t.dataSource.query(`SELECT id FROM payout_runs WHERE currency = 'IQD'`)).toEqual([]);
  });

  describe('webhooks', () => {
    it('refuses a bad signature with 400 and changes nothing; a replay has no second effect', async () => {
      const before = await t.dataSource.query('SELECT count(*)::int AS n FROM stripe_events');
      const bad = await t.http
        .post('/webhooks/stripe')
        .set('stripe-signature', 't=1,v1=deadbeef')
        .set('content-type', 'application/json')
        .send('{"id":"evt_x","type":"account.updated"}');
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_signature');
      await t.http.post('/webhooks/stripe').set('content-type', 'application/json').send('{}').expect(400);
      expect(await t.dataSource.query('SELECT count(*)::int AS n FROM stripe_events')).toEqual(before);

      const a = await payableAffiliate();
      await settle();
      const event = stripe
        .events()
        .filter((e) => e.type === 'account.updated')
        .at(-1);
      const replay = await stripe.redeliver(event!.id);
      expect(replay?.status).toBe(200);
      await settle();
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_events WHERE id = $1`, [event!.id]);
      expect(n).toBe(1);
      expect((await t.dataSource.query('SELECT payouts_enabled FROM payout_accounts WHERE affiliate_id = $1', [a.id]))[0].payouts_enabled).toBe(true);
    });
  });

  describe('webhooks of connected accounts and of objects not recorded yet', () => {
    it('takes account.updated at the Connect endpoint, verified with its own secret only', async () => {
      const a = await payableAffiliate();
      await settle();
      const delivery = stripe
        .webhookDeliveries()
        .filter((d) => d.type === 'account.updated')
        .at(-1)!;
      expect(delivery).toMatchObject({ url: `${t.baseUrl}/webhooks/stripe/connect`, status: 200 });
      expect((await t.dataSource.query('SELECT payouts_enabled FROM payout_accounts WHERE affiliate_id = $1', [a.id]))[0].payouts_enabled).toBe(true);
      const payload = JSON.stringify({
        id: 'evt_connect_wrong_secret',
        object: 'event',
        type: 'account.updated',
        account: a.accountId,
        created: 1,
        data: { object: stripe.accounts().find((x) => x.id === a.accountId) },
      });
      const signed = (secret: string) => Stripe.webhooks.generateTestHeaderString({ payload, secret });
      for (const [path, secret] of [
        ['/webhooks/stripe/connect', WEBHOOK_SECRET],
        ['/webhooks/stripe', CONNECT_WEBHOOK_SECRET],
      ]) {
        const res = await t.http.post(path).set('stripe-signature', signed(secret)).set('content-type', 'application/json').send(payload);
        expect([path, res.status, res.body.error?.code]).toEqual([path, 400, 'invalid_signature']);
      }
      await t.http.post('/webhooks/stripe/connect').set('stripe-signature', signed(CONNECT_WEBHOOK_SECRET)).set('content-type', 'application/json').send(payload).expect(200);
    });

    it('finds the payout of a transfer.reversed by its metadata before the transfer id is stored, and keeps an event it cannot place until the payout is paid', async () => {
      const [byMetadata, unknown] = await Promise.all([payableAffiliate(), payableAffiliate()]);
      await settle();
      for (const a of [byMetadata, unknown]) await earn(a, usd, 4);
      await settle();
      const done = await run('USD');
      // As if the worker died between Stripe's answer and recording it: no transfer id stored yet.
      await t.dataSource.query(`UPDATE payouts SET status = 'transferring', stripe_transfer_id = NULL, paid_at = NULL WHERE run_id = $1`, [done.id]);
      await t.dataSource.query(`UPDATE payout_runs SET status = 'running', done_count = 0, done_amount = 0, finished_at = NULL WHERE id = $1`, [done.id]);
      const [first] = transfersTo(byMetadata.accountId);
      stripe.reverseTransfer(first.id, 200);
      // A transfer.reversed we cannot place (no metadata, transfer id unknown): kept, not dropped.
      const [second] = transfersTo(unknown.accountId);
      stripe.setWebhookUrl(undefined);
      stripe.reverseTransfer(second.id, 100);
      stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
      const kept = stripe.sendEvent('transfer.reversed', { ...stripe.transfers().find((tr) => tr.id === second.id)!, metadata: {} });
      await settle();
      const payoutOf = async (a: PrincipalHandle) => (await t.http.get('/v1/payouts').query({ affiliateId: a.id }).set(auth(finance.apiKey)).expect(200)).body.data[0];
      expect(await payoutOf(byMetadata)).toMatchObject({ status: 'transferring', reversedAmount: 200 });
      expect((await t.http.get('/v1/earnings').set(auth(byMetadata.apiKey))).body.balances[0]).toMatchObject({ available: 200 });
      const [record] = await t.dataSource.query(`SELECT processed_at, outcome FROM stripe_events WHERE id = $1`, [kept.id]);
      expect(record).toMatchObject({ processed_at: null, outcome: expect.stringMatching(/^deferred/) });

      // The run resumes and records the transfers: the kept event is applied then.
      await t.app.get(PayoutRunsService).execute(done.id);
      await settle();
      expect(await payoutOf(byMetadata)).toMatchObject({ status: 'paid', reversedAmount: 200 });
      expect(await payoutOf(unknown)).toMatchObject({ status: 'paid', reversedAmount: 100, stripeTransferId: second.id });
      expect((await t.http.get('/v1/earnings').set(auth(unknown.apiKey))).body.balances[0]).toMatchObject({ available: 100, paid: 1100 });
      expect((await t.dataSource.query(`SELECT processed_at FROM stripe_events WHERE id = $1`, [kept.id]))[0].processed_at).not.toBeNull();
    });
  });

  describe('access', () => {
    it('lets only finance and admin run payouts; affiliates read their own payouts', async () => {
      for (const key of [advertiser.apiKey]) {
        await t.http.post('/v1/payout-runs').set(auth(key)).send({ currency: 'USD' }).expect(403);
        await t.http.get('/v1/payouts').set(auth(key)).expect(403);
      }
      const a = await createAffiliate(t);
      await t.http.post('/v1/payout-runs').set(auth(a.apiKey)).send({ currency: 'USD' }).expect(403);
      const runRes = await t.http.post('/v1/payout-runs').set(auth(t.adminKey)).send({ currency: 'GBP', dryRun: true }).expect(202);
      await t.http.get(`/v1/payout-runs/${runRes.body.id}`).set(auth(a.apiKey)).expect(403);
      await t.http.get('/v1/payout-runs/00000000-0000-4000-8000-000000000000').set(auth(finance.apiKey)).expect(404);
      const own = await t.http.get('/v1/payouts').query({ affiliateId: '00000000-0000-4000-8000-000000000000' }).set(auth(a.apiKey)).expect(200);
      expect(own.body.data).toEqual([]);
      for (const body of [{ currency: 'usd' }, { currency: 'USD', dryRun: 'yes' }, { currency: 'USD', extra: 1 }, {}]) {
        await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send(body).expect(400);
      }
    });
  });

  describe('payout rails', () => {
    it('wires every payout event of the Stripe rail and every invoice event of billing when the app starts', () => {
      expect(t.app.get(StripeEventsService).registered()).toEqual(Object.keys(STRIPE_EVENT_OWNERS).sort());
      expect(t.app.get(PayoutRails).default).toMatchObject({ name: 'stripe', clearingLedgerAccount: 'stripe_clearing' });
    });

    it("writes the rail's columns and, until the Stripe columns are dropped, keeps them equal whichever side is written", async () => {
      const onboarded = await payableAffiliate();
      const [account] = await t.dataSource.query(`SELECT rail, external_account_id, stripe_account_id FROM payout_accounts WHERE affiliate_id = $1`, [onboarded.id]);
      expect(account).toEqual({ rail: 'stripe', external_account_id: onboarded.accountId, stripe_account_id: onboarded.accountId });
      // A writer of the previous release fills the Stripe column only.
      const older = await createAffiliate(t);
      await t.dataSource.query(`INSERT INTO payout_accounts (affiliate_id, stripe_account_id) VALUES ($1, 'acct_written_the_old_way')`, [older.id]);
      const [old] = await t.dataSource.query(`SELECT rail, external_account_id FROM payout_accounts WHERE affiliate_id = $1`, [older.id]);
      expect(old).toEqual({ rail: 'stripe', external_account_id: 'acct_written_the_old_way' });
      // Another rail's account has no Stripe id.
      const elsewhere = await createAffiliate(t);
      await t.dataSource.query(`INSERT INTO payout_accounts (affiliate_id, rail, external_account_id) VALUES ($1, 'other', 'other-1')`, [elsewhere.id]);
      const [other] = await t.dataSource.query(`SELECT stripe_account_id FROM payout_accounts WHERE affiliate_id = $1`, [elsewhere.id]);
      expect(other.stripe_account_id).toBeNull();
      await t.dataSource.query(`DELETE FROM payout_accounts WHERE affiliate_id = ANY($1::uuid[])`, [[older.id, elsewhere.id]]);
      // Every payout the tests above made, whichever columns they wrote.
      const [{ paid, apart }] = await t.dataSource.query(
        `SELECT count(*) FILTER (WHERE external_id IS NOT NULL)::int AS paid,
                count(*) FILTER (WHERE external_id IS DISTINCT FROM stripe_transfer_id OR external_account_id IS DISTINCT FROM stripe_account_id)::int AS apart
           FROM payouts`,
      );
      expect(paid).toBeGreaterThan(0);
      expect(apart).toBe(0);
    });
  });
});
