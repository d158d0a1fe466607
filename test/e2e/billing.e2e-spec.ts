import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

const WEBHOOK_SECRET = 'whsec_test_billing_0123456789';

describe('advertiser billing through Stripe invoices', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let acme: PrincipalHandle;
  let globex: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let acmeUsd: OfferHandle;
  let acmeEur: OfferHandle;
  let globexUsd: OfferHandle;

  const period = () => ({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() });

  async function settle(): Promise<void> {
    await stripe.flushWebhooks();
    await drainQueues(t);
  }

  beforeAll(async () => {
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({ workers: true, listen: true, env: { STRIPE_SECRET_KEY: 'sk_test_afflux', STRIPE_API_URL: url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    [acme, globex, affiliate, finance] = await Promise.all([createAdvertiser(t, 'Acme'), createAdvertiser(t, 'Globex'), createAffiliate(t), createFinanceUser(t)]);
    acmeUsd = await createOffer(t, acme, { lockPeriodDays: 0 });
    acmeEur = await createOffer(t, acme, { lockPeriodDays: 0, currency: 'EUR' });
    globexUsd = await createOffer(t, globex, { lockPeriodDays: 0 });
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });
  afterEach(async () => {
    await settle();
    await expectLedgerVerified(t);
  });

  it('invoices each advertiser per currency for its approved results once, and a payment settles the receivable', async () => {
    for (let i = 0; i < 3; i++) await convert(t, acme, affiliate, acmeUsd);
    await convert(t, acme, affiliate, acmeUsd, { goal: 'sale', amount: '100.00' });
    for (let i = 0; i < 2; i++) await convert(t, acme, affiliate, acmeEur);
    await convert(t, globex, affiliate, globexUsd);
    const rejected = await convert(t, globex, affiliate, globexUsd);
    await t.http.post(`/v1/conversions/${rejected.id}/reject`).set(auth(globex.apiKey)).send({}).expect(200);
    await settle();

    const started = await t.http.post('/v1/invoice-runs').set(auth(finance.apiKey)).send(period()).expect(202);
    await settle();
    const runView = await t.http.get(`/v1/invoice-runs/${started.body.id}`).set(auth(finance.apiKey)).expect(200);
    expect(runView.body).toMatchObject({ status: 'completed', progress: { done: 3, total: 3 } });

    const invoices = await t.http.get('/v1/invoices').query({ runId: started.body.id }).set(auth(finance.apiKey)).expect(200);
    const byKey = Object.fromEntries(invoices.body.data.map((i: { advertiserId: string; currency: string }) => [`${i.advertiserId === acme.id ? 'acme' : 'globex'}-${i.currency}`, i]));
    // Acme USD: 3 leads × 500 + a 15% sale of 100.00 = 1500 + 1500.
    expect(byKey['acme-USD']).toMatchObject({ amount: 3000, conversions: 4, status: 'open', stripeInvoiceId: expect.stringMatching(/^in_/) });
    expect(byKey['acme-USD'].lines).toEqual(
      expect.arrayContaining([expect.objectContaining({ goal: 'lead', conversions: 3, amount: 1500 }), expect.objectContaining({ goal: 'sale', conversions: 1, amount: 1500 })]),
    );
    expect(byKey['acme-EUR']).toMatchObject({ amount: 1000, conversions: 2 });
    expect(byKey['globex-USD']).toMatchObject({ amount: 500, conversions: 1 });
    const stripeInvoice = stripe.invoices().find((i) => i.id === byKey['acme-USD'].stripeInvoiceId);
    expect(stripeInvoice).toMatchObject({ status: 'open', amount_due: 3000, currency: 'usd' });

    // The same period again bills nothing new.
    const again = await t.http.post('/v1/invoice-runs').set(auth(finance.apiKey)).send(period()).expect(202);
    await settle();
    expect((await t.http.get(`/v1/invoice-runs/${again.body.id}`).set(auth(finance.apiKey))).body.progress).toEqual({ done: 0, total: 0 });

    const receivable = async () => (await t.http.get('/v1/ledger/accounts').query({ ownerId: acme.id, type: 'advertiser_receivable', currency: 'USD' }).set(auth(finance.apiKey))).body.data[0].balance;
    expect(await receivable()).toBe(3000);
    stripe.payInvoice(byKey['acme-USD'].stripeInvoiceId);
    await settle();
    expect(await receivable()).toBe(0);
    const paid = await t.http.get('/v1/invoices').query({ runId: started.body.id, status: 'paid' }).set(auth(acme.apiKey)).expect(200);
    expect(paid.body.data.map((i: { id: string }) => i.id)).toEqual([byKey['acme-USD'].id]);
    // A replayed invoice.paid settles nothing twice.
    const event = stripe.events().find((e) => e.type === 'invoice.paid');
    await stripe.redeliver(event!.id);
    await settle();
    expect(await receivable()).toBe(0);
  });

  it('scopes invoices and refuses bad runs', async () => {
    const mine = await t.http.get('/v1/invoices').set(auth(globex.apiKey)).expect(200);
    expect(mine.body.data.every((i: { advertiserId: string }) => i.advertiserId === globex.id)).toBe(true);
    const spoof = await t.http.get('/v1/invoices').query({ advertiserId: acme.id }).set(auth(globex.apiKey)).expect(200);
    expect(spoof.body.data.every((i: { advertiserId: string }) => i.advertiserId === globex.id)).toBe(true);
    await t.http.get('/v1/invoices').set(auth(affiliate.apiKey)).expect(403);
    for (const key of [acme.apiKey, affiliate.apiKey]) await t.http.post('/v1/invoice-runs').set(auth(key)).send(period()).expect(403);
    const { from, to } = period();
    for (const body of [{ from: to, to: from }, { from: 'yesterday', to }, { from, to, currency: 'XXX' }, { from }]) {
      await t.http.post('/v1/invoice-runs').set(auth(finance.apiKey)).send(body).expect(400);
    }
    await t.http.get('/v1/invoice-runs/00000000-0000-4000-8000-000000000000').set(auth(finance.apiKey)).expect(404);
  });
});
