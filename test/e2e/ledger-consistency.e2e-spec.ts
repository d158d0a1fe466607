import { randomUUID } from 'node:crypto';
import { COMMISSION_CHECKS } from '../../src/modules/commissions/commission.checks';
import { CommissionsService } from '../../src/modules/commissions/commissions.service';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify';
import { LedgerService } from '../../src/modules/ledger/ledger.service';
import { PayoutRunsService } from '../../src/modules/payouts/payout-runs.service';
import { QUEUES } from '../../src/queue/queues';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues, queue } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

const WEBHOOK_SECRET = 'whsec_test_consistency_0123456789';

/**
 * Conversion status and the ledger move together: a status change posts its entry in its own
 * transaction, so a payout run can never see one without the other. The commissions queue is
 * paused where a test needs to prove that no job was needed.
 */
describe('status and ledger in step', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let advertiser: PrincipalHandle;
  let finance: PrincipalHandle;
  let instant: OfferHandle;
  let locked: OfferHandle;

  async function payableAffiliate(): Promise<PrincipalHandle & { accountId: string }> {
    const affiliate = await createAffiliate(t);
    const res = await t.http.post('/v1/payout-accounts').set(auth(affiliate.apiKey)).send({}).expect(201);
    stripe.completeOnboarding(res.body.accountId);
    await stripe.flushWebhooks();
    await drainQueues(t);
    return { ...affiliate, accountId: res.body.accountId };
  }

  /** A payout run driven to its end without waiting for the (maybe paused) commissions queue. */
  async function runPayouts(currency: string): Promise<{ id: string; status: string }> {
    const started = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency }).expect(202);
    for (let i = 0; i < 600; i++) {
      const run = (await t.http.get(`/v1/payout-runs/${started.body.id}`).set(auth(finance.apiKey)).expect(200)).body;
      if (run.status === 'completed' || run.status === 'failed') return run;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('payout run did not finish');
  }

  const transfersTo = (accountId: string) =>
    stripe
      .transfers()
      .filter((tr) => tr.destination === accountId)
      .map((tr) => tr.amount);
  const available = async (affiliateId: string) => (await t.app.get(LedgerService).balances(null, affiliateId, 'USD'))[0];

  beforeAll(async () => {
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({
      workers: true,
      listen: true,
      env: { STRIPE_SECRET_KEY: 'sk_test_afflux', STRIPE_API_URL: url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET },
    });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    [advertiser, finance] = await Promise.all([createAdvertiser(t), createFinanceUser(t)]);
    instant = await createOffer(t, advertiser, { lockPeriodDays: 0 });
    locked = await createOffer(t, advertiser, { lockPeriodDays: 30 });
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });
  afterEach(async () => {
    await queue(t, QUEUES.commissions).resume();
    await stripe.flushWebhooks();
    await drainQueues(t);
    await expectLedgerVerified(t);
  });

  it('posts a reversal with the status change: a payout run right after it never pays the reversed commission', async () => {
    const a = await payableAffiliate();
    const ids: string[] = [];
    // Five leads of 300: 1500 available, 1200 once one is reversed (the threshold is 1000).
    for (let i = 0; i < 5; i++) ids.push((await convert(t, advertiser, a, instant)).id);
    await drainQueues(t);
    await queue(t, QUEUES.commissions).pause();
    await t.http.post(`/v1/conversions/${ids[0]}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'chargeback' }).expect(200);
    const run = await runPayouts('USD');
    expect(run.status).toBe('completed');
    expect(transfersTo(a.accountId)).toEqual([1200]);
    await queue(t, QUEUES.commissions).resume();
    await drainQueues(t);
    expect(await available(a.id)).toMatchObject({ available: 0, clawback: 0, paid: 1200 });
  });

  it('posts an approval by hand with the status change: a payout run pays every conversion it marks paid', async () => {
    const a = await payableAffiliate();
    for (let i = 0; i < 4; i++) await convert(t, advertiser, a, instant);
    const late = await convert(t, advertiser, a, locked);
    await drainQueues(t);
    await queue(t, QUEUES.commissions).pause();
    await t.http.post(`/v1/conversions/${late.id}/approve`).set(auth(advertiser.apiKey)).send({}).expect(200);
    await runPayouts('USD');
    const [paid] = await t.dataSource.query(`SELECT coalesce(sum(payout), 0)::int AS total FROM conversions WHERE affiliate_id = $1 AND status = 'paid'`, [a.id]);
    expect(transfersTo(a.accountId)).toEqual([paid.total]);
    expect(paid.total).toBe(1500);
  });

  it('refuses, in the database, a posting that takes an available balance below zero', async () => {
    const a = await createAffiliate(t);
    const ledger = t.app.get(LedgerService);
    const overdraw = t.dataSource.transaction((m) =>
      ledger.post(m, {
        kind: 'adjustment',
        causeType: 'adjustment',
        causeId: randomUUID(),
        lines: [
          { account: { type: 'affiliate_available', ownerId: a.id, currency: 'USD' }, amount: 100 },
          { account: { type: 'network_margin', currency: 'USD' }, amount: -100 },
        ],
      }),
    );
    await expect(overdraw).rejects.toMatchObject({ code: 'insufficient_available' });
    const [row] = await t.dataSource.query(`SELECT count(*)::int AS n FROM ledger_accounts WHERE owner_id = $1 AND balance <> 0`, [a.id]);
    expect(row.n).toBe(0);
  });

  it('turns the part of a reversal from approved that available cannot cover into a clawback', async () => {
    const a = await createAffiliate(t);
    const [first] = [(await convert(t, advertiser, a, instant)).id, (await convert(t, advertiser, a, instant)).id];
    await drainQueues(t);
    // Available is 600; an adjustment takes 500 of it, so reversing a 300 approval finds only 100.
    await t.dataSource.transaction((m) =>
      t.app.get(LedgerService).post(m, {
        kind: 'adjustment',
        causeType: 'adjustment',
        causeId: randomUUID(),
        lines: [
          { account: { type: 'affiliate_available', ownerId: a.id, currency: 'USD' }, amount: 500 },
          { account: { type: 'network_margin', currency: 'USD' }, amount: -500 },
        ],
      }),
    );
    await t.http.post(`/v1/conversions/${first}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'fraud' }).expect(200);
    expect(await available(a.id)).toMatchObject({ available: 0, clawback: 200, pending: 0 });
  });

  it('has ledger:verify name a missing available guard and a conversion whose entries do not match its status', async () => {
    const failing = async () => (await verifyLedger(t.dataSource, COMMISSION_CHECKS)).checks.filter((c) => !c.ok).map((c) => c.name);
    await t.dataSource.query(`ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_available_not_negative`);
    try {
      expect(await failing()).toEqual(['the database guard on available balances is in place and validated']);
    } finally {
      await t.dataSource.query(`ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_available_not_negative CHECK (type <> 'affiliate_available' OR balance <= 0)`);
    }
    const a = await createAffiliate(t);
    const { id } = await convert(t, advertiser, a, locked);
    await drainQueues(t);
    // A status changed behind the ledger's back: reversed, with no reversal entry.
    await t.dataSource.query(`UPDATE conversions SET status = 'reversed' WHERE id = $1`, [id]);
    try {
      expect(await failing()).toContain("a conversion's entries leave its affiliate its payout while accepted, nothing once rejected or reversed");
    } finally {
      await t.dataSource.query(`UPDATE conversions SET status = 'pending' WHERE id = $1`, [id]);
    }
  });

  it('runs a commission batch and a payout planning of the same affiliates at once without a deadlock', async () => {
    const commissions = t.app.get(CommissionsService);
    const payouts = t.app.get(PayoutRunsService);
    const affiliates = await Promise.all([payableAffiliate(), payableAffiliate(), payableAffiliate()]);
    const errors: string[] = [];
    for (let round = 0; round < 12; round++) {
      // Approved at record, posted by nobody yet: the batch posts commission and approval together.
      await queue(t, QUEUES.commissions).pause();
      const ids: string[] = [];
      for (const a of affiliates) for (let i = 0; i < 2; i++) ids.push((await convert(t, advertiser, a, instant)).id);
      await queue(t, QUEUES.payouts).pause();
      const started = await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
      await t.dataSource.query(`UPDATE outbox SET relayed_at = now() WHERE topic = 'payout_run.requested' AND aggregate_id = $1`, [started.body.id]);
      const logsBefore = t.logs.length;
      const outcomes = await Promise.allSettled([commissions.postMissingMany([...ids].reverse()), payouts.execute(started.body.id), commissions.postMissingMany(ids)]);
      for (const o of outcomes) if (o.status === 'rejected') errors.push(String((o.reason as Error).message));
      errors.push(...t.logs.slice(logsBefore).filter((line) => /deadlock/i.test(line)));
      await queue(t, QUEUES.payouts).resume();
      await queue(t, QUEUES.commissions).resume();
      await drainQueues(t);
    }
    expect(errors).toEqual([]);
  });
});
