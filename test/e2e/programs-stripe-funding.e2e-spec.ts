import { StripeClient } from '../../src/integrations/stripe/stripe.client';
import { PayoutRails } from '../../src/modules/payouts/rails/payout-rails';
import { ReconciliationService } from '../../src/modules/reconciliation/reconciliation.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

const WEBHOOK_SECRET = 'whsec_test_programs_funding_0123456789';
const lead = (revenue: number) => [{ key: 'lead', revenue: { type: 'flat', amount: revenue }, payout: { type: 'flat', amount: Math.floor(revenue / 2) } }];

describe('commission programs: a prepaid top-up paid through a Stripe invoice', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let n = 0;
  const unique = (label: string) => `${label}${Date.now().toString(36)}${++n}`.toUpperCase();

  async function settle(): Promise<void> {
    await stripe.flushWebhooks();
    await drainQueues(t);
  }

  beforeAll(async () => {
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({ workers: true, listen: true, env: { STRIPE_SECRET_KEY: 'sk_test_afflux', STRIPE_API_URL: url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    [affiliate, finance] = await Promise.all([createAffiliate(t), createFinanceUser(t)]);
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });
  afterEach(async () => {
    await settle();
    await expectLedgerVerified(t);
  });

  async function prepaid(revenue: number): Promise<{ adv: PrincipalHandle; offer: OfferHandle; code: string }> {
    const adv = await createAdvertiser(t);
    await t.http.patch(`/v1/advertisers/${adv.id}`).set(auth(t.adminKey)).send({ billingMode: 'prepaid' }).expect(200);
    const offer = await createOffer(t, adv, { lockPeriodDays: 0, goals: lead(revenue) });
    const code = unique('STR');
    await t.http.post('/v1/coupons').set(auth(adv.apiKey)).send({ offerId: offer.id, affiliateId: affiliate.id, code }).expect(201);
    return { adv, offer, code };
  }
  const usd = async (adv: PrincipalHandle) =>
    (await t.http.get(`/v1/advertisers/${adv.id}/funding`).set(auth(adv.apiKey)).expect(200)).body.balances.find((b: { currency: string }) => b.currency === 'USD');
  const postback = (adv: PrincipalHandle, code: string) => t.http.get('/postback').query({ token: adv.postbackToken, coupon: code, goal: 'lead', txn_id: unique('T') });
  const conversion = async (id: string) => (await t.http.get(`/v1/conversions/${id}`).set(auth(t.adminKey)).expect(200)).body;
  const fundingEntries = async (fundingId: string) =>
    (await t.dataSource.query(`SELECT count(*)::int AS n FROM journal_entries WHERE cause_type = 'funding' AND cause_id = $1`, [fundingId]))[0].n;

  it('invoices the top-up on Stripe, posts nothing until it is paid, then posts it once and covers what waits', async () => {
    const { adv, offer, code } = await prepaid(500);
    const held = (await postback(adv, code).expect(201)).body;
    await settle();
    expect(await conversion(held.id)).toMatchObject({ status: 'pending', hold: 'awaiting_funds' });

    const res = await t.http
      .post(`/v1/advertisers/${adv.id}/fundings`)
      .set(auth(finance.apiKey))
      .send({ amount: 2000, currency: 'USD', reference: 'PO 77', via: 'stripe_invoice' })
      .expect(201);
    expect(res.body).toMatchObject({ advertiserId: adv.id, amount: 2000, currency: 'USD', status: 'pending', stripeInvoiceId: expect.stringMatching(/^in_/) });
    const stripeInvoice = stripe.invoices().find((i) => i.id === res.body.stripeInvoiceId);
    expect(stripeInvoice).toMatchObject({ status: 'open', amount_due: 2000, currency: 'usd', metadata: { afx_funding_id: res.body.id } });
    expect(stripe.customers().find((c) => c.id === stripeInvoice!.customer)).toMatchObject({ metadata: { advertiser_id: adv.id } });
    await settle();
    // Not paid yet: nothing in the ledger, the conversion still waits, the offer stays paused.
    expect(await fundingEntries(res.body.id)).toBe(0);
    expect((await usd(adv)) ?? { funded: 0 }).toMatchObject({ funded: 0 });
    expect(await conversion(held.id)).toMatchObject({ status: 'pending', hold: 'awaiting_funds' });
    expect((await t.http.get(`/v1/offers/${offer.id}`).set(auth(adv.apiKey)).expect(200)).body).toMatchObject({ status: 'paused', pausedReason: 'funds' });

    stripe.payInvoice(res.body.stripeInvoiceId);
    await settle();
    expect(await fundingEntries(res.body.id)).toBe(1);
    expect(await usd(adv)).toEqual({ currency: 'USD', funded: 2000, reserved: 0, spent: 500, available: 1500 });
    expect(await conversion(held.id)).toMatchObject({ status: 'approved', hold: null });
    expect((await t.http.get(`/v1/offers/${offer.id}`).set(auth(adv.apiKey)).expect(200)).body).toMatchObject({ status: 'active', pausedReason: null });
    const [row] = await t.dataSource.query(`SELECT status, stripe_invoice_id FROM advertiser_fundings WHERE id = $1`, [res.body.id]);
    expect(row).toEqual({ status: 'posted', stripe_invoice_id: res.body.stripeInvoiceId });
    // Billing's invoices know nothing of it.
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM invoices WHERE stripe_invoice_id = $1`, [res.body.stripeInvoiceId]))[0].n).toBe(0);

    // A replayed invoice.paid posts nothing twice.
    const event = stripe.events().find((e) => e.type === 'invoice.paid' && JSON.stringify(e).includes(res.body.stripeInvoiceId));
    await stripe.redeliver(event!.id);
    await settle();
    expect(await fundingEntries(res.body.id)).toBe(1);
    expect(await usd(adv)).toMatchObject({ funded: 2000 });
    // A top-up's invoice is not one of billing's: reconcile does not report it as unknown.
    const reconciliation = await new ReconciliationService(t.dataSource, t.app.get(StripeClient), t.app.get(PayoutRails)).reconcile();
    expect(reconciliation.differences.filter((d) => d.subject === res.body.stripeInvoiceId)).toEqual([]);
  });

  it('checks roles and input: 400 naming the field with nothing written, 403 for others', async () => {
    const { adv } = await prepaid(500);
    const rows = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM advertiser_fundings WHERE advertiser_id = $1`, [adv.id]))[0].n;
    const invoicesBefore = stripe.invoices().length;
    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await t.http.post(`/v1/advertisers/${adv.id}/fundings`).set(auth(finance.apiKey)).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    };
    await bad({ amount: 500, currency: 'USD', reference: 'x', via: 'cheque' }, 'via');
    await bad({ amount: 500, currency: 'EUR', reference: 'x', via: 'stripe_invoice' }, 'currency');
    // BHD has three decimals, Stripe takes multiples of 10 fils.
    await createOffer(t, adv, { lockPeriodDays: 0, currency: 'BHD', goals: lead(500) });
    await bad({ amount: 1005, currency: 'BHD', reference: 'x', via: 'stripe_invoice' }, 'amount');
    const other = await createAdvertiser(t);
    const invoiceBilled = await t.http
      .post(`/v1/advertisers/${other.id}/fundings`)
      .set(auth(finance.apiKey))
      .send({ amount: 5, currency: 'USD', reference: 'x', via: 'stripe_invoice' });
    expect(invoiceBilled.status).toBe(400);
    for (const key of [adv.apiKey, affiliate.apiKey])
      await t.http.post(`/v1/advertisers/${adv.id}/fundings`).set(auth(key)).send({ amount: 5, currency: 'USD', reference: 'x', via: 'stripe_invoice' }).expect(403);
    expect(await rows()).toBe(0);
    expect(stripe.invoices().length).toBe(invoicesBefore);
    // Admin may too.
    const ok = await t.http.post(`/v1/advertisers/${adv.id}/fundings`).set(auth(t.adminKey)).send({ amount: 5, currency: 'USD', reference: 'x', via: 'stripe_invoice' });
    expect(ok.status).toBe(201);
    expect(ok.body.status).toBe('pending');
  });
});
