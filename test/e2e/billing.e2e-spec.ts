import { StripeClient } from '../../src/integrations/stripe/stripe.client';
import { BillingService } from '../../src/modules/billing/billing.service';
import { PayoutRails } from '../../src/modules/payouts/rails/payout-rails';
import { ReconciliationService } from '../../src/modules/reconciliation/reconciliation.service';
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

  /** Until a pass brings no new Stripe event: a job may call Stripe, whose events come back as webhooks. */
  async function settle(): Promise<void> {
    for (let seen = -1; seen !== stripe.events().length;) {
      seen = stripe.events().length;
      await stripe.flushWebhooks();
      await drainQueues(t);
    }
  }

  /** An advertiser of its own with one USD offer, so a test's invoices are only its own. */
  async function freshAdvertiser(name: string, offer: Record<string, unknown> = {}): Promise<{ adv: PrincipalHandle; offer: OfferHandle }> {
    const adv = await createAdvertiser(t, name);
    return { adv, offer: await createOffer(t, adv, { lockPeriodDays: 0, ...offer }) };
  }

  async function converted(adv: PrincipalHandle, offer: OfferHandle, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await convert(t, adv, affiliate, offer)).id);
    await settle();
    return ids;
  }

  async function runInvoices(
    body: Record<string, string> = period(),
  ): Promise<{ id: string; status: string; failures: { invoiceId: string; advertiserId: string; error: string }[] }> {
    const started = await t.http.post('/v1/invoice-runs').set(auth(finance.apiKey)).send(body).expect(202);
    await settle();
    return (await t.http.get(`/v1/invoice-runs/${started.body.id}`).set(auth(finance.apiKey)).expect(200)).body;
  }

  async function invoicesOf(adv: PrincipalHandle): Promise<{ id: string; amount: number; conversions: number; status: string; stripeInvoiceId: string; runId: string }[]> {
    return (await t.http.get('/v1/invoices').set(auth(adv.apiKey)).expect(200)).body.data;
  }

  async function receivableOf(adv: PrincipalHandle): Promise<number> {
    const res = await t.http.get('/v1/ledger/accounts').query({ ownerId: adv.id, type: 'advertiser_receivable', currency: 'USD' }).set(auth(finance.apiKey)).expect(200);
    return res.body.data[0]?.balance ?? 0;
  }

  const reverse = (adv: PrincipalHandle, id: string) => t.http.post(`/v1/conversions/${id}/reverse`).set(auth(adv.apiKey)).send({ reason: 'refunded order' }).expect(200);

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
    const byKey = Object.fromEntries(
      invoices.body.data.map((i: { advertiserId: string; currency: string }) => [`${i.advertiserId === acme.id ? 'acme' : 'globex'}-${i.currency}`, i]),
    );
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

    const receivable = async () =>
      (await t.http.get('/v1/ledger/accounts').query({ ownerId: acme.id, type: 'advertiser_receivable', currency: 'USD' }).set(auth(finance.apiKey))).body.data[0].balance;
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

  it('bills a result in the period it is approved in, however long before it was recorded, and only once', async () => {
    const { adv, offer } = await freshAdvertiser('Late Approvals', { lockPeriodDays: 30 });
    const [id] = await converted(adv, offer, 1);
    // Recorded in "March", 40 days ago; the 30-day lock approves it in "April", now.
    await t.dataSource.query(`UPDATE conversions SET created_at = created_at - interval '40 days' WHERE id = $1`, [id]);
    const march = { from: new Date(Date.now() - 45 * 86_400_000).toISOString(), to: new Date(Date.now() - 20 * 86_400_000).toISOString() };
    await runInvoices(march);
    expect(await invoicesOf(adv)).toEqual([]);
    await t.http.post(`/v1/conversions/${id}/approve`).set(auth(adv.apiKey)).send({}).expect(200);
    await settle();
    await runInvoices();
    expect(await invoicesOf(adv)).toEqual([expect.objectContaining({ amount: 500, conversions: 1, status: 'open' })]);
    await runInvoices(march);
    await runInvoices();
    expect(await invoicesOf(adv)).toHaveLength(1);
  });

  it('bills each result once when two overlapping runs (one for USD, one for all currencies) plan at the same moment', async () => {
    const { adv, offer } = await freshAdvertiser('Overlap');
    const ids = await converted(adv, offer, 3);
    // Hold the conversions so both runs are planning at once, as two workers would.
    const blocker = t.dataSource.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    try {
      await blocker.query(`SELECT id FROM conversions WHERE id = ANY($1::uuid[]) FOR UPDATE`, [ids]);
      const { from, to } = period();
      await t.http.post('/v1/invoice-runs').set(auth(finance.apiKey)).send({ from, to, currency: 'USD' }).expect(202);
      await t.http
        .post('/v1/invoice-runs')
        .set(auth(finance.apiKey))
        .send({ from: new Date(Date.parse(from) - 60_000).toISOString(), to })
        .expect(202);
      const waiting = async () =>
        (await t.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0].n;
      for (let i = 0; i < 100 && (await waiting()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await blocker.commitTransaction();
      await blocker.release();
    }
    await settle();
    const invoices = await invoicesOf(adv);
    expect(invoices.reduce((sum, i) => sum + i.amount, 0)).toBe(1500);
    expect(invoices).toEqual([expect.objectContaining({ amount: 1500, conversions: 3 })]);
  });

  it('reconcile and the ledger verification report an invoice that does not match its conversions', async () => {
    const { adv, offer } = await freshAdvertiser('Planted');
    await converted(adv, offer, 2);
    await runInvoices();
    const [invoice] = await invoicesOf(adv);
    const reconciliation = new ReconciliationService(t.dataSource, t.app.get(StripeClient), t.app.get(PayoutRails));
    const about = async () => (await reconciliation.reconcile()).differences.filter((d) => d.subject === `invoice ${invoice.id}`);
    expect(await about()).toEqual([]);
    await t.dataSource.query(`UPDATE invoices SET amount = amount + 100 WHERE id = $1`, [invoice.id]);
    try {
      expect(await about()).toContainEqual(expect.objectContaining({ code: 'invoice_conversions_mismatch', message: expect.stringContaining('1100') }));
      await expect(expectLedgerVerified(t)).rejects.toThrow(/every invoice bills exactly its conversions/);
    } finally {
      await t.dataSource.query(`UPDATE invoices SET amount = amount - 100 WHERE id = $1`, [invoice.id]);
    }
  });

  it('credits a reversed result: refunded from a paid invoice, taken off an open one; the receivable ends at zero', async () => {
    const { adv, offer } = await freshAdvertiser('Refunds');
    const [first] = await converted(adv, offer, 4);
    await runInvoices();
    const [paid] = await invoicesOf(adv);
    expect(paid.amount).toBe(2000);
    stripe.payInvoice(paid.stripeInvoiceId);
    await settle();
    await reverse(adv, first);
    await settle();
    expect(stripe.creditNotes().filter((n) => n.invoice === paid.stripeInvoiceId)).toEqual([expect.objectContaining({ amount: 500, refund_amount: 500, type: 'post_payment' })]);
    expect(await receivableOf(adv)).toBe(0);

    const [second] = await converted(adv, offer, 2);
    await runInvoices();
    const open = (await invoicesOf(adv)).find((i) => i.status === 'open')!;
    expect(open.amount).toBe(1000);
    await reverse(adv, second);
    await settle();
    expect(stripe.creditNotes().filter((n) => n.invoice === open.stripeInvoiceId)).toEqual([expect.objectContaining({ amount: 500, type: 'pre_payment' })]);
    expect(stripe.invoices().find((i) => i.id === open.stripeInvoiceId)).toMatchObject({ amount_due: 500 });
    stripe.payInvoice(open.stripeInvoiceId);
    await settle();
    expect(await receivableOf(adv)).toBe(0);
    // Reversing again, or a replayed job, credits nothing twice.
    await t.http.post(`/v1/conversions/${first}/reverse`).set(auth(adv.apiKey)).send({});
    await settle();
    expect(stripe.creditNotes().filter((n) => [paid.stripeInvoiceId, open.stripeInvoiceId].includes(n.invoice as string))).toHaveLength(2);
  });

  it('credits a billed result rejected after billing (an approved pixel superseded by its postback, or a rejection by hand)', async () => {
    const { adv, offer } = await freshAdvertiser('Rejections');
    const [first] = await converted(adv, offer, 2);
    await runInvoices();
    const [open] = await invoicesOf(adv);
    expect(open.amount).toBe(1000);
    await t.http.post(`/v1/conversions/${first}/reject`).set(auth(adv.apiKey)).send({ reason: 'fraud' }).expect(200);
    await settle();
    expect(stripe.creditNotes().filter((n) => n.invoice === open.stripeInvoiceId)).toEqual([expect.objectContaining({ amount: 500, type: 'pre_payment' })]);
    stripe.payInvoice(open.stripeInvoiceId);
    await settle();
    expect(await receivableOf(adv)).toBe(0);
  });

  it('an invoice whose every result was reversed and credited, then paid at zero, reconciles', async () => {
    const { adv, offer } = await freshAdvertiser('Credited Away');
    const ids = await converted(adv, offer, 2);
    await runInvoices();
    const [invoice] = await invoicesOf(adv);
    for (const id of ids) await reverse(adv, id);
    await settle();
    // Nothing is due any more: Stripe closes the invoice as paid, with amount_paid 0.
    expect((await invoicesOf(adv))[0]).toMatchObject({ status: 'paid', amountPaid: 0 });
    expect(await receivableOf(adv)).toBe(0);
    const reconciliation = await new ReconciliationService(t.dataSource, t.app.get(StripeClient), t.app.get(PayoutRails)).reconcile();
    expect(reconciliation.differences.filter((d) => d.subject === `invoice ${invoice.id}`)).toEqual([]);
  });

  it('a voided invoice releases its results to the next run, an uncollectible one is written off, a payment settles what Stripe collected', async () => {
    const { adv, offer } = await freshAdvertiser('Troubled');
    await converted(adv, offer, 2);
    await runInvoices();
    const [voided] = await invoicesOf(adv);
    stripe.voidInvoice(voided.stripeInvoiceId);
    await settle();
    expect(await receivableOf(adv)).toBe(1000);
    await runInvoices();
    const again = (await invoicesOf(adv)).find((i) => i.id !== voided.id)!;
    expect(again).toMatchObject({ amount: 1000, conversions: 2, status: 'open' });
    expect((await invoicesOf(adv)).find((i) => i.id === voided.id)).toMatchObject({ status: 'void' });

    stripe.markInvoiceUncollectible(again.stripeInvoiceId);
    await settle();
    expect((await invoicesOf(adv)).find((i) => i.id === again.id)).toMatchObject({ status: 'uncollectible' });
    expect(await receivableOf(adv)).toBe(0);

    await converted(adv, offer, 2);
    await runInvoices();
    const partial = (await invoicesOf(adv)).find((i) => i.status === 'open')!;
    // Our row lost its Stripe id (a run stopped between finalizing and recording): the metadata still names it.
    await t.dataSource.query(`UPDATE invoices SET stripe_invoice_id = NULL WHERE id = $1`, [partial.id]);
    stripe.payInvoice(partial.stripeInvoiceId, 600);
    await settle();
    expect((await invoicesOf(adv)).find((i) => i.id === partial.id)).toMatchObject({ status: 'paid', stripeInvoiceId: partial.stripeInvoiceId, amountPaid: 600 });
    expect(await receivableOf(adv)).toBe(400);
  });

  it("finance's advertiser summary counts a voided invoice's results once and what Stripe collected as paid", async () => {
    const { adv, offer } = await freshAdvertiser('Summarised');
    await converted(adv, offer, 2);
    await runInvoices();
    const [voided] = await invoicesOf(adv);
    stripe.voidInvoice(voided.stripeInvoiceId);
    await settle();
    await runInvoices();
    const again = (await invoicesOf(adv)).find((i) => i.id !== voided.id)!;
    stripe.payInvoice(again.stripeInvoiceId, 600);
    await settle();
    const day = new Date().toISOString().slice(0, 10);
    const summary = await t.http.get('/v1/statements/summary/advertisers').query({ from: day, to: day }).set(auth(finance.apiKey)).expect(200);
    const row = summary.body.data.find((r: { advertiserId: string }) => r.advertiserId === adv.id);
    expect(row).toMatchObject({ currency: 'USD', billed: 1000, paid: 600, outstanding: 400 });
  });

  it('an uncollectible invoice paid after all brings back its write-off, less what a credit note took off it', async () => {
    const { adv, offer } = await freshAdvertiser('Late Payer');
    const [first] = await converted(adv, offer, 2);
    await runInvoices();
    const [invoice] = await invoicesOf(adv);
    stripe.markInvoiceUncollectible(invoice.stripeInvoiceId);
    await settle();
    expect(await receivableOf(adv)).toBe(0);
    await reverse(adv, first);
    await settle();
    expect(stripe.creditNotes().filter((n) => n.invoice === invoice.stripeInvoiceId)).toEqual([expect.objectContaining({ amount: 500 })]);
    expect(await receivableOf(adv)).toBe(0);
    stripe.payInvoice(invoice.stripeInvoiceId);
    await settle();
    expect((await invoicesOf(adv))[0]).toMatchObject({ status: 'paid', amountPaid: 500, writtenOff: 1000, credited: 500 });
    expect(await receivableOf(adv)).toBe(0);
  });

  it('finishes an invoice run when one invoice fails, releases what it could not bill and records why', async () => {
    const [x, y] = await Promise.all([freshAdvertiser('Fails X'), freshAdvertiser('Fails Y')]);
    await converted(x.adv, x.offer, 1);
    await converted(y.adv, y.offer, 1);
    stripe.injectFault({ kind: 'insufficient_funds', method: 'POST', path: '/v1/invoiceitems', times: 1 });
    const run = await runInvoices();
    expect(run).toMatchObject({ status: 'completed', failures: [expect.objectContaining({ error: expect.stringMatching(/insufficient/) })] });
    const [failure] = run.failures;
    const runInvoicesList = (await t.http.get('/v1/invoices').query({ runId: run.id }).set(auth(finance.apiKey)).expect(200)).body.data;
    expect(runInvoicesList.find((i: { id: string }) => i.id === failure.invoiceId)).toMatchObject({ status: 'failed' });
    expect(runInvoicesList.filter((i: { status: string }) => i.status === 'open').length).toBeGreaterThanOrEqual(1);
    expect(await t.dataSource.query(`SELECT id FROM conversions WHERE invoice_id = $1`, [failure.invoiceId])).toEqual([]);
    expect(stripe.invoices().filter((i) => i.metadata?.invoice_id === failure.invoiceId)).toEqual([]);
    // The next run bills what the failed one released.
    const next = await runInvoices();
    expect(next.failures).toEqual([]);
    const failedAdvertiser = failure.advertiserId === x.adv.id ? x.adv : y.adv;
    expect((await invoicesOf(failedAdvertiser)).filter((i) => i.status === 'open')).toEqual([expect.objectContaining({ amount: 500, runId: next.id })]);
  });

  it('a request joins the live run or starts one, never fails, while the live run completes under it', async () => {
    const billing = t.app.get(BillingService);
    const actor = { id: finance.id, role: 'finance' as const, name: 'finance', keyId: 'test' };
    const failures: string[] = [];
    for (let i = 0; i < 150; i++) {
      // A period of its own per round, far in the past: nothing to bill, nothing shared with the other tests.
      const from = new Date(Date.UTC(2001, 0, 1) + i * 86_400_000);
      const to = new Date(from.getTime() + 86_400_000);
      const [{ id }] = await t.dataSource.query(`INSERT INTO invoice_runs (period_from, period_to, status, requested_by) VALUES ($1, $2, 'queued', $3) RETURNING id`, [
        from,
        to,
        finance.id,
      ]);
      const [joined] = await Promise.allSettled([
        billing.request(actor, { from: from.toISOString(), to: to.toISOString() }),
        t.dataSource.query(`UPDATE invoice_runs SET status = 'completed', finished_at = now() WHERE id = $1`, [id]),
      ]);
      if (joined.status === 'rejected') failures.push(String(joined.reason?.message ?? joined.reason));
    }
    await settle();
    expect(failures).toEqual([]);
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
