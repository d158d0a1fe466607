import { QUEUES } from '../../src/queue/queues';
import { OutboxService } from '../../src/queue/outbox/outbox.service';
import { verifyWebhook } from '../../src/modules/webhooks/webhook-signature';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { convert } from '../support/network';
import { PartnerPostbackReceiver, Received } from '../support/partner-postback-receiver';
import { StripeEmulator } from '../support/stripe-emulator/emulator';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  secret: string;
}

interface Delivery {
  eventId: string;
  eventType: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  outcome: string;
}

/** The body a receiver got, checked against its endpoint's secret first. */
function signedBody(call: Received, secret: string): { id: string; type: string; createdAt: string; data: Record<string, unknown> } {
  const header = call.headers['afflux-signature'];
  expect(typeof header).toBe('string');
  expect(verifyWebhook(secret, call.body, header as string)).toBe(true);
  return JSON.parse(call.body);
}

const WEBHOOK_SECRET = 'whsec_test_webhooks_0123456789';

describe('outgoing webhooks', () => {
  let t: TestApp;
  let stripe: StripeEmulator;
  let advertiser: PrincipalHandle;
  let other: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let offer: OfferHandle;
  const receiver = new PartnerPostbackReceiver();
  let base: string;

  const create = (who: PrincipalHandle, body: Record<string, unknown>) => t.http.post('/v1/webhook-endpoints').set(auth(who.apiKey)).send(body);
  async function endpoint(who: PrincipalHandle, path: string, events: string[]): Promise<Endpoint> {
    const res = await create(who, { url: `${base}${path}`, events }).expect(201);
    return res.body;
  }
  async function deliveries(who: PrincipalHandle, id: string): Promise<Delivery[]> {
    return (await t.http.get(`/v1/webhook-endpoints/${id}/deliveries`).set(auth(who.apiKey)).expect(200)).body.data.reverse();
  }
  const callsTo = (path: string) => receiver.received.filter((r) => r.url === path);
  async function settle(): Promise<void> {
    await stripe.flushWebhooks();
    await drainQueues(t);
  }

  beforeAll(async () => {
    base = await receiver.start();
    stripe = new StripeEmulator({ webhookSecret: WEBHOOK_SECRET });
    const { url } = await stripe.start();
    t = await createTestApp({
      workers: true,
      listen: true,
      env: {
        POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RETRY_BASE_MS: '50',
        WEBHOOK_RETRY_MAX_DELAY_MS: '300',
        WEBHOOK_RETRY_WINDOW_MS: '3000',
        WEBHOOK_TIMEOUT_MS: '1000',
        STRIPE_SECRET_KEY: 'sk_test_afflux',
        STRIPE_API_URL: url,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_TIMEOUT_MS: '1000',
      },
    });
    stripe.setWebhookUrl(`${t.baseUrl}/webhooks/stripe`);
    [advertiser, other, affiliate, finance] = await Promise.all([createAdvertiser(t), createAdvertiser(t, 'other'), createAffiliate(t), createFinanceUser(t)]);
    offer = await createOffer(t, advertiser, { lockPeriodDays: 30 });
  });
  afterAll(async () => {
    await receiver.stop();
    await t?.close();
    await stripe?.stop();
  });
  beforeEach(() => receiver.received.splice(0));
  afterEach(async () => {
    await settle();
    await expectLedgerVerified(t);
  });

  describe('endpoints', () => {
    it('serves advertisers and affiliates, each only its own; admin and finance are refused', async () => {
      const mine = await endpoint(advertiser, '/adv', ['conversion.created']);
      expect(mine).toMatchObject({ url: `${base}/adv`, events: ['conversion.created'] });
      expect(mine.secret).toMatch(/^whsec_/);
      const theirs = await endpoint(affiliate, '/aff', ['payout.paid']);

      const listed = await t.http.get('/v1/webhook-endpoints').set(auth(advertiser.apiKey)).expect(200);
      expect(listed.body.data.map((e: Endpoint) => e.id)).toEqual([mine.id]);
      // The secret is shown once, at creation.
      expect(listed.body.data[0].secret).toBeUndefined();
      await t.http.get(`/v1/webhook-endpoints/${mine.id}`).set(auth(advertiser.apiKey)).expect(200);

      for (const [who, id] of [
        [other, mine.id],
        [affiliate, mine.id],
        [advertiser, theirs.id],
      ] as const) {
        await t.http.get(`/v1/webhook-endpoints/${id}`).set(auth(who.apiKey)).expect(404);
        await t.http.get(`/v1/webhook-endpoints/${id}/deliveries`).set(auth(who.apiKey)).expect(404);
        await t.http.delete(`/v1/webhook-endpoints/${id}`).set(auth(who.apiKey)).expect(404);
      }
      await t.http.get('/v1/webhook-endpoints/not-an-id').set(auth(advertiser.apiKey)).expect(404);
      for (const key of [t.adminKey, finance.apiKey]) {
        await t.http
          .post('/v1/webhook-endpoints')
          .set(auth(key))
          .send({ url: `${base}/x`, events: ['conversion.created'] })
          .expect(403);
        await t.http.get('/v1/webhook-endpoints').set(auth(key)).expect(403);
        await t.http.get(`/v1/webhook-endpoints/${mine.id}/deliveries`).set(auth(key)).expect(403);
      }
      await t.http.get('/v1/webhook-endpoints').expect(401);

      await t.http.delete(`/v1/webhook-endpoints/${mine.id}`).set(auth(advertiser.apiKey)).expect(204);
      await t.http.get(`/v1/webhook-endpoints/${mine.id}`).set(auth(advertiser.apiKey)).expect(404);
      await t.http.delete(`/v1/webhook-endpoints/${theirs.id}`).set(auth(affiliate.apiKey)).expect(204);
    });

    it.each([
      [{ url: 'ftp://hooks.example/x', events: ['conversion.created'] }, 'url'],
      [{ url: 'not a url', events: ['conversion.created'] }, 'url'],
      [{ url: 'https://hooks.example/x', events: [] }, 'events'],
      [{ url: 'https://hooks.example/x', events: ['conversion.paid'] }, 'events'],
      [{ url: 'https://hooks.example/x' }, 'events'],
      [{ url: 'https://hooks.example/x', events: ['conversion.created'], secret: 'mine' }, 'secret'],
    ])('refuses %j (400 naming %s), writing nothing', async (body, field) => {
      const res = await create(advertiser, body).expect(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect((await t.http.get('/v1/webhook-endpoints').set(auth(advertiser.apiKey)).expect(200)).body.data).toEqual([]);
    });

    it('refuses the event types of another role', async () => {
      const res = await create(affiliate, { url: `${base}/x`, events: ['conversion.created', 'invoice.issued', 'funding.low'] }).expect(400);
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'events', message: expect.stringContaining('invoice.issued, funding.low') })]);
      await create(advertiser, { url: `${base}/x`, events: ['payout.paid'] }).expect(400);
    });
  });

  describe('conversion events', () => {
    it('sends each status change to the advertiser without payout and to the affiliate without revenue, signed', async () => {
      const aff = await createAffiliate(t);
      const adv = await endpoint(advertiser, '/c-adv', ['conversion.created', 'conversion.approved', 'conversion.reversed']);
      const mine = await endpoint(aff, '/c-aff', ['conversion.created', 'conversion.approved', 'conversion.rejected', 'conversion.reversed']);
      // Only its own principal's events reach an endpoint: another affiliate's conversion reaches neither.
      await convert(t, advertiser, affiliate, offer);
      await drainQueues(t);
      expect(callsTo('/c-aff')).toHaveLength(0);
      receiver.received.splice(0);

      const conversion = await convert(t, advertiser, aff, offer, { amount: '100.00', goal: 'sale' });
      await drainQueues(t);
      await t.http.post(`/v1/conversions/${conversion.id}/approve`).set(auth(advertiser.apiKey)).send({}).expect(200);
      await drainQueues(t);
      await t.http.post(`/v1/conversions/${conversion.id}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'refund' }).expect(200);
      await drainQueues(t);

      const toAdvertiser = callsTo('/c-adv').map((c) => signedBody(c, adv.secret));
      const toAffiliate = callsTo('/c-aff').map((c) => signedBody(c, mine.secret));
      expect(toAdvertiser.map((e) => [e.type, e.data.status])).toEqual([
        ['conversion.created', 'pending'],
        ['conversion.approved', 'approved'],
        ['conversion.reversed', 'reversed'],
      ]);
      expect(toAffiliate.map((e) => e.type)).toEqual(['conversion.created', 'conversion.approved', 'conversion.reversed']);
      for (const e of toAdvertiser) {
        expect(e.data).toMatchObject({ id: conversion.id, revenue: 1500, saleAmount: 10000, currency: 'USD' });
        expect(e.data).not.toHaveProperty('payout');
      }
      for (const e of toAffiliate) {
        expect(e.data).toMatchObject({ id: conversion.id, payout: 1000, affiliateId: aff.id });
        expect(e.data).not.toHaveProperty('revenue');
        expect(e.data).not.toHaveProperty('advertiserId');
      }
      // Each principal gets its own event id; the advertiser's and the affiliate's are different events.
      expect(new Set([...toAdvertiser, ...toAffiliate].map((e) => e.id)).size).toBe(6);
      expect(callsTo('/c-adv')[0].headers['content-type']).toBe('application/json');
      expect((await deliveries(aff, mine.id)).map((d) => [d.eventType, d.attempt, d.outcome, d.statusCode])).toEqual([
        ['conversion.created', 1, 'delivered', 200],
        ['conversion.approved', 1, 'delivered', 200],
        ['conversion.reversed', 1, 'delivered', 200],
      ]);
      await t.http.delete(`/v1/webhook-endpoints/${adv.id}`).set(auth(advertiser.apiKey)).expect(204);
    });

    it('announces a rejection', async () => {
      const aff = await createAffiliate(t);
      const hook = await endpoint(aff, '/rej', ['conversion.created', 'conversion.rejected']);
      const first = await convert(t, advertiser, aff, offer);
      await t.http.post(`/v1/conversions/${first.id}/reject`).set(auth(advertiser.apiKey)).send({ reason: 'fraud' }).expect(200);
      await drainQueues(t);
      expect(callsTo('/rej').map((c) => signedBody(c, hook.secret).type)).toEqual(['conversion.created', 'conversion.rejected']);
    });

    it('retries a failing endpoint with backoff, with the same event id, until it answers 2xx', async () => {
      const aff = await createAffiliate(t);
      const hook = await endpoint(aff, '/flaky', ['conversion.created']);
      receiver.answer('error', { status: 302, headers: { location: `${base}/elsewhere` } }, 'ok');
      await convert(t, advertiser, aff, offer);
      await drainQueues(t);
      const calls = callsTo('/flaky');
      expect(calls).toHaveLength(3);
      expect(receiver.received.some((r) => r.url === '/elsewhere')).toBe(false);
      const ids = calls.map((c) => signedBody(c, hook.secret).id);
      expect(new Set(ids).size).toBe(1);
      // Backoff (base 50 ms here): at least 50 ms before the first retry, at least 100 ms before the second.
      expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(45);
      expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(95);
      expect((await deliveries(aff, hook.id)).map((d) => [d.eventId, d.attempt, d.statusCode, d.outcome, d.error])).toEqual([
        [ids[0], 1, 500, 'failed', 'HTTP 500'],
        [ids[0], 2, 302, 'failed', 'HTTP 302 (redirects are not followed)'],
        [ids[0], 3, 200, 'delivered', null],
      ]);
    });

    it('gives up when the retry window after the event is over, and logs the last try', async () => {
      const aff = await createAffiliate(t);
      const hook = await endpoint(aff, '/down', ['conversion.created']);
      receiver.answer(...Array.from({ length: 100 }, () => 'error' as const));
      const started = Date.now();
      await convert(t, advertiser, aff, offer);
      await drainQueues(t);
      receiver.answer();
      const log = await deliveries(aff, hook.id);
      expect(log.length).toBeGreaterThan(3);
      expect(log.slice(0, -1).every((d) => d.outcome === 'failed')).toBe(true);
      expect(log[log.length - 1].outcome).toBe('gave_up');
      // Within the window (3 s here; a day by default), not beyond it by more than one delay.
      expect(Date.now() - started).toBeLessThan(3000 + 300 + 2000);
      expect(new Set(log.map((d) => d.eventId)).size).toBe(1);
    });

    it('stops calling a deleted endpoint, and sends nothing for types it did not ask for', async () => {
      const aff = await createAffiliate(t);
      const hook = await endpoint(aff, '/gone', ['conversion.approved']);
      await convert(t, advertiser, aff, offer);
      await drainQueues(t);
      expect(callsTo('/gone')).toHaveLength(0);
      await t.http.delete(`/v1/webhook-endpoints/${hook.id}`).set(auth(aff.apiKey)).expect(204);
      const later = await convert(t, advertiser, aff, offer);
      await t.http.post(`/v1/conversions/${later.id}/approve`).set(auth(advertiser.apiKey)).send({}).expect(200);
      await drainQueues(t);
      expect(callsTo('/gone')).toHaveLength(0);
    });
  });

  describe('other events', () => {
    it('sends payout.paid to the paid affiliate only', async () => {
      const aff = await createAffiliate(t);
      const hook = await endpoint(aff, '/paid', ['payout.paid', 'payout.failed']);
      const bystander = await createAffiliate(t);
      await endpoint(bystander, '/bystander', ['payout.paid']);
      const account = await t.http.post('/v1/payout-accounts').set(auth(aff.apiKey)).send({}).expect(201);
      stripe.completeOnboarding(account.body.accountId);
      const instant = await createOffer(t, advertiser, { lockPeriodDays: 0 });
      for (let i = 0; i < 4; i++) await convert(t, advertiser, aff, instant);
      await settle();
      await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
      await settle();
      const [paid] = callsTo('/paid').map((c) => signedBody(c, hook.secret));
      expect(paid).toMatchObject({ type: 'payout.paid', data: { amount: 1200, currency: 'USD', status: 'paid', transferId: expect.stringMatching(/^tr_/) } });
      expect(callsTo('/paid')).toHaveLength(1);
      expect(callsTo('/bystander')).toHaveLength(0);
    });

    it('sends payout.failed when the transfer is refused (the money back in the balance)', async () => {
      const aff = await createAffiliate(t);
      const hook = await endpoint(aff, '/failed', ['payout.failed']);
      const account = await t.http.post('/v1/payout-accounts').set(auth(aff.apiKey)).send({}).expect(201);
      stripe.completeOnboarding(account.body.accountId);
      const instant = await createOffer(t, advertiser, { lockPeriodDays: 0 });
      for (let i = 0; i < 4; i++) await convert(t, advertiser, aff, instant);
      await settle();
      stripe.injectFault({ method: 'POST', path: '/v1/transfers', kind: 'insufficient_funds', times: 1 });
      await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }).expect(202);
      await settle();
      stripe.clearFaults();
      const calls = callsTo('/failed').map((c) => signedBody(c, hook.secret));
      expect(calls).toEqual([
        expect.objectContaining({ type: 'payout.failed', data: expect.objectContaining({ amount: 1200, status: 'failed', failureCode: expect.any(String) }) }),
      ]);
    });

    it('sends invoice.issued to the invoiced advertiser', async () => {
      const adv = await createAdvertiser(t, 'invoiced');
      const hook = await endpoint(adv, '/invoice', ['invoice.issued']);
      const instant = await createOffer(t, adv, { lockPeriodDays: 0 });
      await convert(t, adv, affiliate, instant);
      await settle();
      const period = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
      await t.http.post('/v1/invoice-runs').set(auth(finance.apiKey)).send(period).expect(202);
      await settle();
      const [issued] = callsTo('/invoice').map((c) => signedBody(c, hook.secret));
      expect(issued).toMatchObject({ type: 'invoice.issued', data: { amount: 500, currency: 'USD', status: 'open', stripeInvoiceId: expect.stringMatching(/^in_/) } });
    });

    it('delivers what any feature writes to the webhook.dispatch topic, once per event key', async () => {
      const adv = await createAdvertiser(t, 'funded');
      const hook = await endpoint(adv, '/funding', ['funding.low']);
      const outbox = t.app.get(OutboxService);
      const payload = { principalId: adv.id, type: 'funding.low', data: { currency: 'USD', available: 900, threshold: 1000 } };
      await t.dataSource.transaction(async (manager) => {
        await outbox.enqueue(manager, 'webhook.dispatch', `${adv.id}-USD-1`, payload);
        // The same key again (a producer's retry): one event.
        await outbox.enqueue(manager, 'webhook.dispatch', `${adv.id}-USD-1`, payload);
      });
      outbox.notify();
      await drainQueues(t);
      const calls = callsTo('/funding').map((c) => signedBody(c, hook.secret));
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ type: 'funding.low', data: payload.data });
    });
  });
});

describe('outgoing webhooks to private networks', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let offer: OfferHandle;
  const receiver = new PartnerPostbackReceiver();

  beforeAll(async () => {
    await receiver.start();
    t = await createTestApp({ workers: true, env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: undefined, WEBHOOK_RETRY_WINDOW_MS: '100', WEBHOOK_TIMEOUT_MS: '1000' } });
    advertiser = await createAdvertiser(t);
    offer = await createOffer(t, advertiser);
  });
  afterAll(async () => {
    await receiver.stop();
    await t?.close();
  });

  it('refuses a literal private address when the endpoint is created', async () => {
    for (const host of ['127.0.0.1', '[::1]', '10.0.0.1', '169.254.169.254']) {
      const res = await t.http
        .post('/v1/webhook-endpoints')
        .set(auth(advertiser.apiKey))
        .send({ url: `http://${host}/hook`, events: ['conversion.created'] })
        .expect(400);
      expect(res.body.error.details[0].field).toBe('url');
    }
  });

  it('refuses to call a name that resolves to a private address, as partner postbacks do', async () => {
    const aff = await createAffiliate(t);
    const hook = await t.http
      .post('/v1/webhook-endpoints')
      .set(auth(aff.apiKey))
      .send({ url: `http://localhost:${receiver.port}/hook`, events: ['conversion.created'] })
      .expect(201);
    await convert(t, advertiser, aff, offer);
    await drainQueues(t, { except: [QUEUES.maintenance] });
    const log = (await t.http.get(`/v1/webhook-endpoints/${hook.body.id}/deliveries`).set(auth(aff.apiKey)).expect(200)).body.data;
    expect(log.map((d: Delivery) => [d.error, d.outcome])).toEqual([['target resolves to a private address', 'gave_up']]);
    expect(receiver.received).toEqual([]);
  });
});
