import Stripe from 'stripe';
import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

const MERCHANT_SECRET = 'whsec_test_merchant_0123456789';
const CONNECT_SECRET = 'whsec_test_platform_connect_0123456789';

interface ConversionView {
  id: string;
  status: string;
  txnId: string;
  saleAmount: number | null;
  payout: number;
  revenue: number;
  currency: string;
  affiliateId: string | null;
  customerId: string | null;
  coupon: string | null;
  reason: string | null;
}

describe('Stripe-native conversions', () => {
  let t: TestApp;
  /** The advertiser's own Stripe account. */
  let merchant: StripeEmulator;
  let sdk: Stripe;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let offer: OfferHandle;

  async function clickId(aff: PrincipalHandle = affiliate): Promise<string> {
    const link = await t.http.post('/v1/links').set(auth(aff.apiKey)).send({ offerId: offer.id }).expect(201);
    return t.app.get(ClickIdService).issue(link.body.id, new Date(Date.now() - 60_000));
  }

  async function conversionsOf(txnId: string): Promise<ConversionView[]> {
    return (await t.http.get('/v1/conversions').query({ txnId }).set(auth(finance.apiKey)).expect(200)).body.data;
  }

  async function earnings(aff: PrincipalHandle): Promise<{ pending: number; available: number; clawback: number; paid: number }> {
    const res = await t.http.get('/v1/earnings').set(auth(aff.apiKey)).expect(200);
    return res.body.balances.find((b: { currency: string }) => b.currency === 'USD') ?? { pending: 0, available: 0, clawback: 0, paid: 0 };
  }

  /** A Checkout Session created through the real SDK, then paid by the customer (the emulator emits checkout.session.completed). */
  async function checkout(params: Partial<Stripe.Checkout.SessionCreateParams> & { amount: number; mode?: 'payment' | 'subscription' }) {
    const { amount, mode = 'payment', ...rest } = params;
    const session = await sdk.checkout.sessions.create({
      mode,
      success_url: 'https://shop.example/thanks',
      line_items: [{ price_data: { currency: 'usd', unit_amount: amount, product_data: { name: 'Plan' } }, quantity: 1 }],
      ...rest,
    });
    const completed = merchant.completeCheckoutSession(session.id);
    await settle();
    return completed;
  }

  async function settle(): Promise<void> {
    await merchant.flushWebhooks();
    await drainQueues(t);
  }

  const lastDelivery = () => merchant.webhookDeliveries().at(-1)!;

  beforeAll(async () => {
    // One emulator plays Stripe: the advertiser's account (its events go to the advertiser's endpoint, signed with
    // the advertiser's secret) and the platform's Connect (affiliates' accounts, for the payout of the clawback test).
    merchant = new StripeEmulator({
      webhookSecret: MERCHANT_SECRET,
      connectWebhookSecret: CONNECT_SECRET,
      enabledEvents: ['checkout.session.completed', 'invoice.paid', 'charge.refunded', 'account.updated'],
    });
    const { port, url } = await merchant.start();
    sdk = new Stripe('sk_test_merchant', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
    t = await createTestApp({
      workers: true,
      listen: true,
      env: {
        STRIPE_SECRET_KEY: 'sk_test_afflux',
        STRIPE_API_URL: url,
        STRIPE_WEBHOOK_SECRET: 'whsec_test_platform_0123456789',
        STRIPE_CONNECT_WEBHOOK_SECRET: CONNECT_SECRET,
        STRIPE_TIMEOUT_MS: '1000',
      },
    });
    merchant.setConnectWebhookUrl(`${t.baseUrl}/webhooks/stripe/connect`);
    [advertiser, affiliate, finance] = await Promise.all([createAdvertiser(t), createAffiliate(t), createFinanceUser(t)]);
    // 15% revenue, 10% payout on sales; approved after 30 days.
    offer = await createOffer(t, advertiser);
  });
  afterAll(async () => {
    await t?.close();
    await merchant?.stop();
  });
  afterEach(async () => {
    await settle();
    await expectLedgerVerified(t);
  });

  describe('PUT /v1/integrations/stripe', () => {
    it('connects an advertiser’s own offer and goal and answers the endpoint to paste; only advertisers, only their own', async () => {
      const other = await createAdvertiser(t, 'other');
      const otherOffer = await createOffer(t, other);
      await t.http.get('/v1/integrations/stripe').set(auth(advertiser.apiKey)).expect(404);

      const res = await t.http.put('/v1/integrations/stripe').set(auth(advertiser.apiKey)).send({ offerId: offer.id, goal: 'sale', webhookSecret: MERCHANT_SECRET }).expect(200);
      expect(res.body).toMatchObject({ endpointUrl: `http://afflux.test/webhooks/advertisers/${advertiser.id}/stripe`, offerId: offer.id, goal: 'sale' });
      expect(res.body.events).toEqual(expect.arrayContaining(['checkout.session.completed', 'invoice.paid', 'charge.refunded']));
      expect(res.body).not.toHaveProperty('webhookSecret');
      expect((await t.http.get('/v1/integrations/stripe').set(auth(advertiser.apiKey)).expect(200)).body.endpointUrl).toBe(res.body.endpointUrl);
      merchant.setWebhookUrl(`${t.baseUrl}/webhooks/advertisers/${advertiser.id}/stripe`);

      // Another advertiser's offer: 404, and its own connection is untouched.
      await t.http.put('/v1/integrations/stripe').set(auth(other.apiKey)).send({ offerId: offer.id, goal: 'sale', webhookSecret: MERCHANT_SECRET }).expect(404);
      await t.http.put('/v1/integrations/stripe').set(auth(advertiser.apiKey)).send({ offerId: otherOffer.id, goal: 'sale', webhookSecret: MERCHANT_SECRET }).expect(404);
      await t.http.get('/v1/integrations/stripe').set(auth(other.apiKey)).expect(404);
      for (const key of [affiliate.apiKey, finance.apiKey, t.adminKey]) {
        await t.http.put('/v1/integrations/stripe').set(auth(key)).send({ offerId: offer.id, goal: 'sale', webhookSecret: MERCHANT_SECRET }).expect(403);
        await t.http.get('/v1/integrations/stripe').set(auth(key)).expect(403);
      }
      await t.http.put('/v1/integrations/stripe').send({ offerId: offer.id, goal: 'sale', webhookSecret: MERCHANT_SECRET }).expect(401);
    });

    it.each([
      [{ offerId: 'x', goal: 'sale', webhookSecret: MERCHANT_SECRET }, 'offerId'],
      [{ offerId: undefined, goal: 'sale', webhookSecret: MERCHANT_SECRET }, 'offerId'],
      [{ goal: 'nope', webhookSecret: MERCHANT_SECRET }, 'goal'],
      [{ goal: 'sale', webhookSecret: 'secret' }, 'webhookSecret'],
      [{ goal: 'sale', webhookSecret: MERCHANT_SECRET, extra: 1 }, 'extra'],
      [{ goal: 'sale', webhookSecret: MERCHANT_SECRET, apiKey: 'pk_test_public' }, 'apiKey'],
    ])('refuses %j with a 400 naming %s, changing nothing', async (body, field) => {
      const res = await t.http
        .put('/v1/integrations/stripe')
        .set(auth(advertiser.apiKey))
        .send({ offerId: offer.id, ...body })
        .expect(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect((await t.http.get('/v1/integrations/stripe').set(auth(advertiser.apiKey)).expect(200)).body).toMatchObject({ offerId: offer.id, goal: 'sale' });
    });
  });

  describe('events', () => {
    it('turns a paid Checkout Session with our click id into a conversion, once however often Stripe sends it', async () => {
      const session = await checkout({ amount: 4999, client_reference_id: await clickId() });
      expect(lastDelivery()).toMatchObject({ type: 'checkout.session.completed', status: 200 });
      const [conversion] = await conversionsOf(session.id);
      expect(conversion).toMatchObject({
        status: 'pending',
        affiliateId: affiliate.id,
        saleAmount: 4999,
        revenue: 750,
        payout: 500,
        currency: 'USD',
        customerId: session.customer,
      });

      const again = await merchant.redeliver(lastDelivery().eventId);
      expect(again?.status).toBe(200);
      await settle();
      expect(await conversionsOf(session.id)).toHaveLength(1);
    });

    it('reads the click id from metadata.afx_click_id too, and converts amounts from Stripe’s representation', async () => {
      const session = await checkout({ amount: 1000, metadata: { afx_click_id: await clickId() } });
      expect(await conversionsOf(session.id)).toEqual([expect.objectContaining({ affiliateId: affiliate.id, saleAmount: 1000, payout: 100 })]);
    });

    it('reads amounts in Stripe’s representation: ISK is two-decimal at Stripe, zero-decimal in ISO', async () => {
      const adv = await createAdvertiser(t, 'icelandic');
      const isk = await createOffer(t, adv, { currency: 'ISK' });
      const secret = 'whsec_test_icelandic_0123456789';
      await t.http.put('/v1/integrations/stripe').set(auth(adv.apiKey)).send({ offerId: isk.id, goal: 'sale', webhookSecret: secret }).expect(200);
      const link = await t.http.post('/v1/links').set(auth(affiliate.apiKey)).send({ offerId: isk.id }).expect(201);
      const click = t.app.get(ClickIdService).issue(link.body.id, new Date(Date.now() - 60_000));
      const payload = JSON.stringify({
        id: 'evt_isk_session',
        object: 'event',
        type: 'checkout.session.completed',
        created: Math.floor(Date.now() / 1000),
        data: {
          object: {
            id: 'cs_test_isk',
            object: 'checkout.session',
            payment_status: 'paid',
            client_reference_id: click,
            amount_total: 1250000,
            currency: 'isk',
            customer: 'cus_isk',
            payment_intent: 'pi_isk',
            metadata: {},
          },
        },
      });
      await t.http
        .post(`/webhooks/advertisers/${adv.id}/stripe`)
        .set('content-type', 'application/json')
        .set('stripe-signature', Stripe.webhooks.generateTestHeaderString({ payload, secret }))
        .send(payload)
        .expect(200);
      // 12 500.00 at Stripe = ISK 12 500; 10% payout = 1 250.
      expect(await conversionsOf('cs_test_isk')).toEqual([expect.objectContaining({ currency: 'ISK', saleAmount: 12500, payout: 1250, affiliateId: affiliate.id })]);
    });

    it('attributes a session whose promotion code is an affiliate’s coupon', async () => {
      await t.http.post('/v1/coupons').set(auth(advertiser.apiKey)).send({ offerId: offer.id, affiliateId: affiliate.id, code: 'SPRING25' }).expect(201);
      const promo = await sdk.promotionCodes.create({ code: 'spring25', promotion: { type: 'coupon', coupon: 'co_spring' } } as Stripe.PromotionCodeCreateParams);
      // Stripe's event names the promotion code by id: without a key to read it, it cannot be matched (and says so).
      const blind = await checkout({ amount: 2000, discounts: [{ promotion_code: promo.id }] });
      expect(await conversionsOf(blind.id)).toEqual([]);
      const [seen] = await t.dataSource.query(`SELECT outcome FROM stripe_integration_events WHERE event_id = $1`, [lastDelivery().eventId]);
      expect(seen.outcome).toBe(`promotion code ${promo.id} left unread (no apiKey to read it): not attributed`);

      await t.http
        .put('/v1/integrations/stripe')
        .set(auth(advertiser.apiKey))
        .send({ offerId: offer.id, goal: 'sale', webhookSecret: MERCHANT_SECRET, apiKey: 'rk_test_readpromotions' })
        .expect(200)
        .expect((res) => expect(res.body.promotionCodesReadable).toBe(true));
      const session = await checkout({ amount: 2000, discounts: [{ promotion_code: promo.id }] });
      expect(await conversionsOf(session.id)).toEqual([expect.objectContaining({ affiliateId: affiliate.id, coupon: 'SPRING25', saleAmount: 2000 })]);
      // Or the code in the session's metadata.
      const tagged = await checkout({ amount: 2000, metadata: { afx_coupon: 'Spring25' } });
      expect(await conversionsOf(tagged.id)).toEqual([expect.objectContaining({ affiliateId: affiliate.id, coupon: 'SPRING25' })]);
    });

    it('ignores a session with neither a click id nor a coupon', async () => {
      const session = await checkout({ amount: 2000 });
      expect(lastDelivery().status).toBe(200);
      expect(await conversionsOf(session.id)).toEqual([]);
    });

    it('refuses unsigned, wrongly signed and stale events with a 400, and an advertiser without a connection with a 404, writing nothing', async () => {
      const session = await sdk.checkout.sessions.create({
        mode: 'payment',
        client_reference_id: await clickId(),
        success_url: 'https://shop.example/thanks',
        line_items: [{ price_data: { currency: 'usd', unit_amount: 700, product_data: { name: 'Plan' } }, quantity: 1 }],
      });
      merchant.setWebhookUrl(undefined);
      merchant.completeCheckoutSession(session.id);
      const event = merchant.events().find((e) => e.type === 'checkout.session.completed' && (e.data.object as { id: string }).id === session.id)!;
      const payload = JSON.stringify(event);
      const path = `/webhooks/advertisers/${advertiser.id}/stripe`;
      const post = (signature?: string, to = path) => {
        const req = t.http.post(to).set('content-type', 'application/json');
        return (signature ? req.set('stripe-signature', signature) : req).send(payload);
      };
      expect((await post().expect(400)).body.error.code).toBe('invalid_signature');
      await post(Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_someone_else_123' })).expect(400);
      // A captured delivery replayed later than Stripe's tolerance (5 minutes).
      await post(Stripe.webhooks.generateTestHeaderString({ payload, secret: MERCHANT_SECRET, timestamp: Math.floor(Date.now() / 1000) - 600 })).expect(400);
      const stranger = await createAdvertiser(t, 'unconnected');
      await post(Stripe.webhooks.generateTestHeaderString({ payload, secret: MERCHANT_SECRET }), `/webhooks/advertisers/${stranger.id}/stripe`).expect(404);
      await post(Stripe.webhooks.generateTestHeaderString({ payload, secret: MERCHANT_SECRET }), `/webhooks/advertisers/not-an-id/stripe`).expect(404);
      expect(await conversionsOf(session.id)).toEqual([]);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_integration_events WHERE event_id = $1`, [event.id]);
      expect(n).toBe(0);

      // Signed properly, the same payload is applied.
      const ok = await post(Stripe.webhooks.generateTestHeaderString({ payload, secret: MERCHANT_SECRET })).expect(200);
      expect(ok.body).toMatchObject({ received: true, duplicate: false });
      expect(await conversionsOf(session.id)).toHaveLength(1);
      const repeat = await post(Stripe.webhooks.generateTestHeaderString({ payload, secret: MERCHANT_SECRET })).expect(200);
      expect(repeat.body).toMatchObject({ received: true, duplicate: true });
      merchant.setWebhookUrl(`${t.baseUrl}${path}`);
    });

    it('records each paid renewal of a subscription as a conversion of its customer, not the first invoice twice', async () => {
      const session = await checkout({ amount: 3000, mode: 'subscription', client_reference_id: await clickId() });
      expect(await conversionsOf(session.id)).toEqual([expect.objectContaining({ affiliateId: affiliate.id, customerId: session.customer, saleAmount: 3000 })]);
      const first = merchant.invoices().find((i) => i.id === session.invoice)!;
      expect(await conversionsOf(first.id as string)).toEqual([]);

      const renewals = [merchant.renewSubscription(session.subscription as string), merchant.renewSubscription(session.subscription as string)];
      await settle();
      for (const invoice of renewals) {
        // Without a click: attributed to the customer's first affiliate where recurring commissions apply, else stored unattributed.
        expect(await conversionsOf(invoice.id as string)).toEqual([expect.objectContaining({ customerId: session.customer, saleAmount: 3000, currency: 'USD' })]);
      }

      // A refund of the first payment (the subscription's first invoice) reverses the session's conversion.
      const firstPayment = (first as unknown as { payments: { data: { payment: { payment_intent: string } }[] } }).payments.data[0].payment.payment_intent;
      await sdk.refunds.create({ payment_intent: firstPayment });
      await settle();
      expect(lastDelivery()).toMatchObject({ type: 'charge.refunded', status: 200 });
      expect((await conversionsOf(session.id))[0].status).toBe('reversed');
    });

    it('attributes renewals to the customer’s affiliate (attributedBy customer) when the goal pays recurring commissions', async () => {
      const goals = (recurring: { months: number } | null) => [
        { key: 'sale', revenue: { type: 'percent', bps: 1500 }, payout: { type: 'percent', bps: 1000 }, recurring },
        { key: 'lead', revenue: { type: 'flat', amount: 500 }, payout: { type: 'flat', amount: 300 } },
      ];
      await t.http
        .patch(`/v1/offers/${offer.id}`)
        .set(auth(advertiser.apiKey))
        .send({ goals: goals({ months: 12 }) })
        .expect(200);
      try {
        const session = await checkout({ amount: 3000, mode: 'subscription', client_reference_id: await clickId() });
        const renewal = merchant.renewSubscription(session.subscription as string);
        await settle();
        expect(await conversionsOf(renewal.id as string)).toEqual([
          expect.objectContaining({ customerId: session.customer, affiliateId: affiliate.id, attributedBy: 'customer', saleAmount: 3000, payout: 300 }),
        ]);
      } finally {
        await t.http
          .patch(`/v1/offers/${offer.id}`)
          .set(auth(advertiser.apiKey))
          .send({ goals: goals(null) })
          .expect(200);
      }
    });

    it('reduces the commission by the refunded share on a partial refund, and reverses the conversion on the rest', async () => {
      const aff = await createAffiliate(t);
      const session = await checkout({ amount: 10000, client_reference_id: await clickId(aff) });
      const [conversion] = await conversionsOf(session.id);
      expect(conversion).toMatchObject({ payout: 1000, status: 'pending' });
      await drainQueues(t);
      expect(await earnings(aff)).toMatchObject({ pending: 1000, available: 0, clawback: 0 });

      // A quarter refunded: a quarter of the payout (250) comes off, as an adjustment (the balance is pending, so a clawback).
      await sdk.refunds.create({ payment_intent: session.payment_intent as string, amount: 2500 });
      await settle();
      expect(lastDelivery()).toMatchObject({ type: 'charge.refunded', status: 200 });
      expect((await conversionsOf(session.id))[0].status).toBe('pending');
      expect(await earnings(aff)).toMatchObject({ pending: 1000, available: 0, clawback: 250 });
      const adjustments = (await t.http.get('/v1/adjustments').query({ affiliateId: aff.id }).set(auth(finance.apiKey)).expect(200)).body.data;
      expect(adjustments).toEqual([expect.objectContaining({ amount: -250, currency: 'USD', clawback: 250 })]);
      // The same event again posts nothing more.
      await merchant.redeliver(lastDelivery().eventId);
      await settle();
      expect((await t.http.get('/v1/adjustments').query({ affiliateId: aff.id }).set(auth(finance.apiKey)).expect(200)).body.data).toHaveLength(1);

      // The rest: the conversion is reversed, and the 250 taken off before is given back (the reversal takes the whole 1000).
      await sdk.refunds.create({ payment_intent: session.payment_intent as string });
      await settle();
      expect((await conversionsOf(session.id))[0]).toMatchObject({ status: 'reversed' });
      const after = await earnings(aff);
      expect(after.pending).toBe(0);
      expect(after.available - after.clawback).toBe(0);
    });

    it('applies an event once when it arrives several times at once (a sale, then a partial refund)', async () => {
      const aff = await createAffiliate(t);
      const path = `/webhooks/advertisers/${advertiser.id}/stripe`;
      const deliver = (payload: string) =>
        Promise.all(
          Array.from({ length: 6 }, () =>
            t.http
              .post(path)
              .set('content-type', 'application/json')
              .set('stripe-signature', Stripe.webhooks.generateTestHeaderString({ payload, secret: MERCHANT_SECRET }))
              .send(payload),
          ),
        );
      const session = {
        id: `cs_test_burst_${Date.now()}`,
        object: 'checkout.session',
        payment_status: 'paid',
        client_reference_id: await clickId(aff),
        amount_total: 8000,
        currency: 'usd',
        customer: 'cus_burst',
        payment_intent: `pi_burst_${Date.now()}`,
        metadata: {},
      };
      const sale = await deliver(
        JSON.stringify({
          id: `evt_burst_sale_${Date.now()}`,
          object: 'event',
          type: 'checkout.session.completed',
          created: Math.floor(Date.now() / 1000),
          data: { object: session },
        }),
      );
      expect(sale.map((r) => r.status)).toEqual(Array(6).fill(200));
      expect(sale.filter((r) => r.body.duplicate === false)).toHaveLength(1);
      expect(await conversionsOf(session.id)).toHaveLength(1);

      const charge = {
        id: `ch_burst_${Date.now()}`,
        object: 'charge',
        amount: 8000,
        amount_refunded: 2000,
        currency: 'usd',
        payment_intent: session.payment_intent,
        refunded: false,
      };
      const refund = await deliver(
        JSON.stringify({ id: `evt_burst_refund_${Date.now()}`, object: 'event', type: 'charge.refunded', created: Math.floor(Date.now() / 1000), data: { object: charge } }),
      );
      expect(refund.map((r) => r.status)).toEqual(Array(6).fill(200));
      expect(refund.filter((r) => r.body.duplicate === false)).toHaveLength(1);
      // A quarter of the 800 payout, once.
      expect((await t.http.get('/v1/adjustments').query({ affiliateId: aff.id }).set(auth(finance.apiKey)).expect(200)).body.data).toEqual([
        expect.objectContaining({ amount: -200 }),
      ]);
    });

    it('refuses a refund larger than the sale with a 400 and posts nothing', async () => {
      const aff = await createAffiliate(t);
      const session = await checkout({ amount: 1000, client_reference_id: await clickId(aff) });
      const charge = merchant.sales.charges.all().find((c) => c.payment_intent === session.payment_intent)!;
      // A forged charge whose refunded amount is beyond the sale, signed with the advertiser's secret.
      const payload = JSON.stringify({
        id: 'evt_forged_refund',
        object: 'event',
        type: 'charge.refunded',
        created: Math.floor(Date.now() / 1000),
        data: { object: { ...charge, amount_refunded: 1500, refunded: true } },
      });
      const res = await t.http
        .post(`/webhooks/advertisers/${advertiser.id}/stripe`)
        .set('content-type', 'application/json')
        .set('stripe-signature', Stripe.webhooks.generateTestHeaderString({ payload, secret: MERCHANT_SECRET }))
        .send(payload)
        .expect(400);
      expect(res.body.error).toMatchObject({ code: 'refund_exceeds_sale', details: [expect.objectContaining({ field: 'data.object.amount_refunded' })] });
      expect((await conversionsOf(session.id))[0].status).toBe('pending');
      expect((await t.http.get('/v1/adjustments').query({ affiliateId: aff.id }).set(auth(finance.apiKey)).expect(200)).body.data).toEqual([]);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_integration_events WHERE event_id = 'evt_forged_refund'`);
      expect(n).toBe(0);
    });

    it('claws back a refund after the payout', async () => {
      const aff = await createAffiliate(t);
      const account = await t.http.post('/v1/payout-accounts').set(auth(aff.apiKey)).send({}).expect(201);
      merchant.completeOnboarding(account.body.accountId);
      const session = await checkout({ amount: 10000, client_reference_id: await clickId(aff) });
      const [conversion] = await conversionsOf(session.id);
      await t.http.post(`/v1/conversions/${conversion.id}/approve`).set(auth(advertiser.apiKey)).send({}).expect(200);
      await settle();
      await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
      await settle();
      expect((await conversionsOf(session.id))[0].status).toBe('paid');
      expect(await earnings(aff)).toMatchObject({ available: 0, paid: 1000, clawback: 0 });

      await sdk.refunds.create({ payment_intent: session.payment_intent as string });
      await settle();
      expect((await conversionsOf(session.id))[0].status).toBe('reversed');
      // The next payout nets it off.
      expect(await earnings(aff)).toMatchObject({ available: 0, pending: 0, paid: 1000, clawback: 1000 });
    });
  });
});
