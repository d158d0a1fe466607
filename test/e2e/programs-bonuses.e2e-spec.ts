import { InvoiceSettlementService } from '../../src/modules/billing/invoice-settlement.service';
import { BonusesService } from '../../src/modules/programs/bonuses.service';
import { StripeClient } from '../../src/integrations/stripe/stripe.client';
import { PayoutRails } from '../../src/modules/payouts/rails/payout-rails';
import { ReconciliationService } from '../../src/modules/reconciliation/reconciliation.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

const WEBHOOK_SECRET = 'whsec_test_bonuses_0123456789';
const bonusBody = (extra: Record<string, unknown> = {}) => ({
  name: 'Three leads a month',
  goal: 'lead',
  metric: 'conversions',
  threshold: 3,
  period: 'month',
  amount: 1000,
  ...extra,
});

describe('commission programs: bonuses', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let advertiser: PrincipalHandle;
  let otherAdvertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;

  async function settle(): Promise<void> {
    await stripe.flushWebhooks();
    await drainQueues(t);
  }

  const awardsOf = async (key: string, query: Record<string, string> = {}) => (await t.http.get('/v1/bonuses').query(query).set(auth(key)).expect(200)).body.data;
  const entries = async (kind: string, causeId: string) =>
    (await t.dataSource.query(`SELECT count(*)::int AS n FROM journal_entries WHERE cause_type = 'bonus_award' AND kind = $1 AND cause_id = $2`, [kind, causeId]))[0].n;

  beforeAll(async () => {
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({ workers: true, listen: true, env: { STRIPE_SECRET_KEY: 'sk_test_afflux', STRIPE_API_URL: url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    [advertiser, otherAdvertiser, affiliate, finance] = await Promise.all([createAdvertiser(t), createAdvertiser(t), createAffiliate(t), createFinanceUser(t)]);
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });
  afterEach(async () => {
    await settle();
    await expectLedgerVerified(t);
  });

  describe('the API', () => {
    let offer: OfferHandle;
    beforeAll(async () => {
      offer = await createOffer(t, advertiser);
    });

    it('creates a bonus for the advertiser and admin, and lists it to whoever sees the offer', async () => {
      const created = await t.http.post(`/v1/offers/${offer.id}/bonuses`).set(auth(advertiser.apiKey)).send(bonusBody()).expect(201);
      expect(created.body).toEqual({
        id: expect.any(String),
        offerId: offer.id,
        name: 'Three leads a month',
        goal: 'lead',
        metric: 'conversions',
        threshold: 3,
        period: 'month',
        amount: 1000,
        currency: 'USD',
        createdAt: expect.any(String),
      });
      await t.http
        .post(`/v1/offers/${offer.id}/bonuses`)
        .set(auth(t.adminKey))
        .send(bonusBody({ goal: undefined, name: 'Any goal, ever', period: 'all_time', metric: 'saleAmount', threshold: 100_000 }))
        .expect(201);
      for (const key of [advertiser.apiKey, affiliate.apiKey, finance.apiKey, t.adminKey]) {
        const list = await t.http.get(`/v1/offers/${offer.id}/bonuses`).set(auth(key)).expect(200);
        expect(list.body.data.map((b: { name: string }) => b.name)).toEqual(['Three leads a month', 'Any goal, ever']);
      }
    });

    it("refuses other roles, another advertiser's offer, and bad input by field, writing nothing", async () => {
      const count = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM bonuses`))[0].n;
      const before = await count();
      await t.http.post(`/v1/offers/${offer.id}/bonuses`).set(auth(affiliate.apiKey)).send(bonusBody()).expect(403);
      await t.http.post(`/v1/offers/${offer.id}/bonuses`).set(auth(finance.apiKey)).send(bonusBody()).expect(403);
      await t.http.post(`/v1/offers/${offer.id}/bonuses`).set(auth(otherAdvertiser.apiKey)).send(bonusBody()).expect(404);
      await t.http.get(`/v1/offers/${offer.id}/bonuses`).set(auth(otherAdvertiser.apiKey)).expect(404);
      for (const [body, field] of [
        [bonusBody({ goal: 'signup' }), 'goal'],
        [bonusBody({ threshold: 0 }), 'threshold'],
        [bonusBody({ threshold: -3 }), 'threshold'],
        [bonusBody({ amount: 0 }), 'amount'],
        [bonusBody({ metric: 'clicks' }), 'metric'],
        [bonusBody({ period: 'week' }), 'period'],
        [bonusBody({ name: '' }), 'name'],
      ] as const) {
        const res = await t.http.post(`/v1/offers/${offer.id}/bonuses`).set(auth(advertiser.apiKey)).send(body);
        expect(res.status).toBe(400);
        expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      }
      expect(await count()).toBe(before);
    });
  });

  it('is earned once when approved conversions reach the threshold, billed, in earnings and statements, and clawed back by a reversal', async () => {
    const offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });
    const bonus = (await t.http.post(`/v1/offers/${offer.id}/bonuses`).set(auth(advertiser.apiKey)).send(bonusBody()).expect(201)).body;
    const other = await createAffiliate(t);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await convert(t, advertiser, affiliate, offer)).id);
    await convert(t, advertiser, other, offer);
    await settle();
    expect(await awardsOf(affiliate.apiKey)).toEqual([]);

    ids.push((await convert(t, advertiser, affiliate, offer)).id);
    ids.push((await convert(t, advertiser, affiliate, offer)).id);
    await settle();
    const [award] = await awardsOf(affiliate.apiKey);
    expect(await awardsOf(affiliate.apiKey)).toHaveLength(1);
    expect(award).toEqual({
      id: expect.any(String),
      bonusId: bonus.id,
      affiliateId: affiliate.id,
      offerId: offer.id,
      period: new Date().toISOString().slice(0, 7),
      amount: 1000,
      currency: 'USD',
      status: 'earned',
      earnedAt: expect.any(String),
      clawedBackAt: null,
    });
    expect(await entries('bonus', award.id)).toBe(1);
    // Scoped: the other affiliate earned nothing; the advertiser and staff see it; another advertiser does not.
    expect(await awardsOf(other.apiKey)).toEqual([]);
    expect((await awardsOf(advertiser.apiKey, { offerId: offer.id })).map((a: { id: string }) => a.id)).toEqual([award.id]);
    expect((await awardsOf(finance.apiKey, { affiliateId: affiliate.id, offerId: offer.id })).map((a: { id: string }) => a.id)).toEqual([award.id]);
    expect(await awardsOf(otherAdvertiser.apiKey)).toEqual([]);
    const earnings = (await t.http.get('/v1/earnings').set(auth(affiliate.apiKey)).expect(200)).body;
    expect(earnings.bonuses).toEqual([{ currency: 'USD', earned: 1000, clawedBack: 0 }]);
    expect(earnings.balances[0].available).toBe(4 * 300 + 1000);

    // Reversals in the same period: 4 → 3 keeps it; 3 → 2 takes it back, once.
    await t.http.post(`/v1/conversions/${ids[0]}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'refund' }).expect(200);
    await settle();
    expect((await awardsOf(affiliate.apiKey))[0].status).toBe('earned');
    await t.http.post(`/v1/conversions/${ids[1]}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'refund' }).expect(200);
    await settle();
    const [lost] = await awardsOf(affiliate.apiKey);
    expect(lost).toMatchObject({ id: award.id, status: 'clawed_back', clawedBackAt: expect.any(String) });
    expect(await entries('bonus_clawback', award.id)).toBe(1);
    const after = (await t.http.get('/v1/earnings').set(auth(affiliate.apiKey)).expect(200)).body;
    expect(after.bonuses).toEqual([{ currency: 'USD', earned: 1000, clawedBack: 1000 }]);
    expect(after.balances[0].available).toBe(2 * 300);

    // The statement shows both, reconciled.
    const today = new Date().toISOString().slice(0, 10);
    const statement = (await t.http.get('/v1/statements').query({ from: today, to: today }).set(auth(affiliate.apiKey)).expect(200)).body;
    const usd = statement.sections.find((s: { currency: string }) => s.currency === 'USD');
    expect(usd.lines.filter((l: { type: string }) => l.type.startsWith('bonus'))).toEqual([
      expect.objectContaining({ type: 'bonus', amount: 1000, reference: `Three leads a month ${award.period}` }),
      expect.objectContaining({ type: 'bonus_clawback', amount: -1000 }),
    ]);
    expect(usd.totals.bonuses).toBe(0);
  });

  it('is earned once however many evaluations run at once', async () => {
    const offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });
    await t.http
      .post(`/v1/offers/${offer.id}/bonuses`)
      .set(auth(advertiser.apiKey))
      .send(bonusBody({ threshold: 1, name: 'First lead' }))
      .expect(201);
    const racer = await createAffiliate(t);
    const { id } = await convert(t, advertiser, racer, offer);
    const bonuses = t.app.get(BonusesService);
    await Promise.all(Array.from({ length: 8 }, () => bonuses.evaluate([id])));
    await settle();
    const awards = await awardsOf(racer.apiKey);
    expect(awards).toHaveLength(1);
    expect(await entries('bonus', awards[0].id)).toBe(1);
  });

  it('counts only approved conversions, and a bonus earned is billed to the advertiser on its invoice', async () => {
    const adv = await createAdvertiser(t, 'Bonus payer');
    const offer = await createOffer(t, adv, { lockPeriodDays: 30 });
    await t.http
      .post(`/v1/offers/${offer.id}/bonuses`)
      .set(auth(adv.apiKey))
      .send(bonusBody({ name: 'Two leads', threshold: 2, amount: 2500 }))
      .expect(201);
    const ids = [(await convert(t, adv, affiliate, offer)).id, (await convert(t, adv, affiliate, offer)).id];
    await settle();
    expect(await awardsOf(adv.apiKey)).toEqual([]);
    for (const id of ids) await t.http.post(`/v1/conversions/${id}/approve`).set(auth(adv.apiKey)).send({}).expect(200);
    await settle();
    expect((await awardsOf(adv.apiKey)).map((a: { amount: number; status: string }) => [a.amount, a.status])).toEqual([[2500, 'earned']]);

    const run = await t.http
      .post('/v1/invoice-runs')
      .set(auth(finance.apiKey))
      .send({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() })
      .expect(202);
    await settle();
    expect((await t.http.get(`/v1/invoice-runs/${run.body.id}`).set(auth(finance.apiKey)).expect(200)).body.status).toBe('completed');
    const [invoice] = (await t.http.get('/v1/invoices').set(auth(adv.apiKey)).expect(200)).body.data;
    // Two leads at 5.00 and the bonus of 25.00.
    expect(invoice).toMatchObject({ amount: 2 * 500 + 2500, conversions: 2, status: 'open' });
    expect(invoice.lines).toEqual(expect.arrayContaining([expect.objectContaining({ offerName: 'Bonus: Two leads', goal: 'bonus', conversions: 1, amount: 2500 })]));
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM bonus_awards WHERE advertiser_id = $1 AND invoice_id = $2`, [adv.id, invoice.id]);
    expect(n).toBe(1);
  });

  /** An advertiser whose issued invoice bills two approved leads (5.00 each) and the bonus they earned (25.00). */
  async function billedBonus(name: string) {
    const adv = await createAdvertiser(t, name);
    const offer = await createOffer(t, adv, { lockPeriodDays: 0 });
    await t.http
      .post(`/v1/offers/${offer.id}/bonuses`)
      .set(auth(adv.apiKey))
      .send(bonusBody({ name: 'Two leads', threshold: 2, amount: 2500 }))
      .expect(201);
    const ids = [(await convert(t, adv, affiliate, offer)).id, (await convert(t, adv, affiliate, offer)).id];
    await settle();
    await t.http
      .post('/v1/invoice-runs')
      .set(auth(finance.apiKey))
      .send({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() })
      .expect(202);
    await settle();
    const [invoice] = (await t.http.get('/v1/invoices').set(auth(adv.apiKey)).expect(200)).body.data;
    expect(invoice).toMatchObject({ amount: 2 * 500 + 2500, status: 'open' });
    const [award] = await awardsOf(adv.apiKey);
    return { adv, ids, invoice, award };
  }
  const creditsOf = (invoiceId: string) =>
    t.dataSource.query(`SELECT conversion_id, bonus_award_id, amount::int AS amount, invoice_status FROM invoice_credits WHERE invoice_id = $1 ORDER BY amount`, [invoiceId]);

  it('credits a bonus clawed back after its invoice was issued on that invoice, once', async () => {
    const { adv, ids, invoice, award } = await billedBonus('Bonus credited');
    await t.http.post(`/v1/conversions/${ids[0]}/reverse`).set(auth(adv.apiKey)).send({ reason: 'refunded order' }).expect(200);
    await settle();
    expect((await awardsOf(adv.apiKey))[0]).toMatchObject({ id: award.id, status: 'clawed_back' });
    // The reversed lead and the bonus, each by its own credit note: the invoice now asks for 5.00.
    expect(await creditsOf(invoice.id)).toEqual([
      { conversion_id: ids[0], bonus_award_id: null, amount: 500, invoice_status: 'open' },
      { conversion_id: null, bonus_award_id: award.id, amount: 2500, invoice_status: 'open' },
    ]);
    const notes = stripe.creditNotes().filter((n) => n.invoice === invoice.stripeInvoiceId);
    expect(notes.find((n) => n.metadata?.bonus_award_id === award.id)).toMatchObject({ amount: 2500 });
    expect(stripe.invoices().find((i) => i.id === invoice.stripeInvoiceId)).toMatchObject({ amount_remaining: 500 });
    // The job again credits nothing twice.
    expect(await t.app.get(InvoiceSettlementService).creditBonusClawback(award.id)).toBe('already credited');
    expect(stripe.creditNotes().filter((n) => n.invoice === invoice.stripeInvoiceId)).toHaveLength(2);
    // Our credits and Stripe's credit notes agree.
    const reconciliation = await new ReconciliationService(t.dataSource, t.app.get(StripeClient), t.app.get(PayoutRails)).reconcile();
    expect(reconciliation.differences.filter((d) => d.subject === `invoice ${invoice.id}`)).toEqual([]);
  });

  it('refunds a bonus clawed back after its invoice was paid, with its credit entry', async () => {
    const { adv, ids, invoice, award } = await billedBonus('Bonus refunded');
    stripe.payInvoice(invoice.stripeInvoiceId);
    await settle();
    await t.http.post(`/v1/conversions/${ids[1]}/reverse`).set(auth(adv.apiKey)).send({ reason: 'refunded order' }).expect(200);
    await settle();
    expect((await creditsOf(invoice.id)).find((c: { bonus_award_id: string | null }) => c.bonus_award_id === award.id)).toMatchObject({ amount: 2500, invoice_status: 'paid' });
    expect(stripe.creditNotes().find((n) => n.metadata?.bonus_award_id === award.id)).toMatchObject({ amount: 2500, refund_amount: 2500 });
    expect(await entries('invoice_credit', award.id)).toBe(1);
  });
});
