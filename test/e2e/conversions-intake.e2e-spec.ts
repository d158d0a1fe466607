import { sign } from '../../src/modules/conversions/postback-auth';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { drainQueues } from '../support/drain';
import { flushClicks, forgetCachedLinks } from '../support/tracking.factories';

const MIN = 60_000;

/** Intake hardening: who may claim a txn id, what a signature covers, cookies, ids, decimals, visibility, blocked clicks, time zones. */
describe('conversion intake', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let offer: OfferHandle;
  let txn = 0;
  let ipCounter = 0;
  const nextTxn = () => `I-${Date.now().toString(36)}-${++txn}`;
  /** Every pixel test comes from an address of its own, so the per-IP limit only bites where a test wants it to. */
  const nextIp = () => `203.0.113.${++ipCounter}`;

  async function link(aff: PrincipalHandle, offerId: string): Promise<{ id: string; code: string }> {
    const res = await t.http.post('/v1/links').set(auth(aff.apiKey)).send({ offerId });
    if (res.status !== 201) throw new Error(`link: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** A click through the real redirect: the click id the landing URL received and the cookie as a browser would send it back. */
  async function click(offerId: string, aff = affiliate): Promise<{ clickId: string; cookie: string }> {
    const { code } = await link(aff, offerId);
    const res = await t.http.get(`/c/${code}`).set('user-agent', 'jest');
    expect(res.status).toBe(302);
    const clickId = new URL(res.headers.location).searchParams.get('cid') as string;
    const cookie = ((res.headers['set-cookie'] as unknown as string[]) ?? []).find((c) => c.startsWith('afx_click='));
    return { clickId, cookie: (cookie ?? '').split(';')[0] };
  }

  const postback = (params: Record<string, string | undefined>, token = advertiser.postbackToken as string) => t.http.get('/postback').query({ token, ...params });
  const pixel = (cookie: string, params: Record<string, string>, ip = nextIp()) => t.http.get('/pixel.gif').query(params).set('cookie', cookie).set('x-forwarded-for', ip);
  const rowsOf = (txnId: string) =>
    t.dataSource.query(`SELECT source, status, reason, sale_amount, payout FROM conversions WHERE txn_id = $1 ORDER BY created_at, source`, [txnId]);

  async function ignoredPixels(reason: string): Promise<number> {
    const text = (await t.http.get('/metrics').expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith(`afx_pixels_ignored_total{reason="${reason}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_PIXEL_CLICK: '3', RATE_LIMIT_PIXEL_IP: '5' } });
    [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
    offer = await createOffer(t, advertiser);
  });
  afterAll(() => t.close());

  describe('the pixel cannot squat a txn id', () => {
    it('an authenticated postback after a pixel for the same txn id is recorded, and the pixel one is superseded', async () => {
      const { clickId, cookie } = await click(offer.id);
      const txnId = nextTxn();
      expect((await pixel(cookie, { goal: 'lead', txn_id: txnId })).status).toBe(200);
      expect(await rowsOf(txnId)).toEqual([{ source: 'pixel', status: 'pending', reason: null, sale_amount: null, payout: '300' }]);

      const res = await postback({ click_id: clickId, goal: 'lead', txn_id: txnId });
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('pending');
      const rows = await rowsOf(txnId);
      expect(rows).toHaveLength(2);
      expect(rows).toEqual(
        expect.arrayContaining([
          { source: 'pixel', status: 'rejected', reason: 'superseded_by_postback', sale_amount: null, payout: '300' },
          { source: 'postback', status: 'pending', reason: null, sale_amount: null, payout: '300' },
        ]),
      );
      // Repeats of either change nothing more.
      expect((await postback({ click_id: clickId, goal: 'lead', txn_id: txnId })).body.id).toBe(res.body.id);
      await pixel(cookie, { goal: 'lead', txn_id: txnId });
      expect(await rowsOf(txnId)).toHaveLength(2);
    });

    it('a pixel for a txn id an authenticated call already holds records nothing; a status=reversed postback never touches a pixel conversion', async () => {
      const { clickId, cookie } = await click(offer.id);
      const txnId = nextTxn();
      const api = await t.http.post('/v1/conversions').set(auth(advertiser.apiKey)).send({ clickId, goal: 'lead', txnId }).expect(201);
      const before = await ignoredPixels('txn_taken');
      await pixel(cookie, { goal: 'lead', txn_id: txnId });
      expect(await rowsOf(txnId)).toEqual([{ source: 'api', status: 'pending', reason: null, sale_amount: null, payout: '300' }]);
      expect(await ignoredPixels('txn_taken')).toBe(before + 1);
      expect(api.body.source).toBe('api');

      const pixelOnly = nextTxn();
      await pixel(cookie, { goal: 'lead', txn_id: pixelOnly });
      const reversal = await postback({ goal: 'lead', txn_id: pixelOnly, status: 'reversed' });
      expect(reversal.status).toBe(404);
      expect((await rowsOf(pixelOnly))[0].status).toBe('pending');
    });

    it("ignores a pixel's amount unless the offer trusts pixel amounts; a percent goal without a trusted amount is rejected with the reason", async () => {
      const { cookie } = await click(offer.id);
      const untrusted = nextTxn();
      await pixel(cookie, { goal: 'sale', txn_id: untrusted, amount: '1000.00', currency: 'USD' });
      expect(await rowsOf(untrusted)).toEqual([{ source: 'pixel', status: 'rejected', reason: 'pixel_amount_not_trusted', sale_amount: null, payout: '0' }]);

      const trusting = await createOffer(t, advertiser, { pixelAmounts: true });
      expect(trusting.pixelAmounts).toBe(true);
      expect(offer.pixelAmounts).toBe(false);
      const trusted = nextTxn();
      await pixel((await click(trusting.id)).cookie, { goal: 'sale', txn_id: trusted, amount: '1000.00', currency: 'USD' });
      expect(await rowsOf(trusted)).toEqual([{ source: 'pixel', status: 'pending', reason: null, sale_amount: '100000', payout: '10000' }]);
    });

    it('limits pixels per click and per IP, counting the ignored ones', async () => {
      const { cookie } = await click(offer.id);
      const limited = await ignoredPixels('limited');
      const perClick = [];
      for (let i = 0; i < 4; i++) {
        const txnId = nextTxn();
        expect((await pixel(cookie, { goal: 'lead', txn_id: txnId })).status).toBe(200);
        perClick.push((await rowsOf(txnId)).length);
      }
      expect(perClick).toEqual([1, 1, 1, 0]);
      expect(await ignoredPixels('limited')).toBe(limited + 1);

      const ip = nextIp();
      const perIp = [];
      for (let i = 0; i < 6; i++) {
        const txnId = nextTxn();
        await pixel((await click(offer.id)).cookie, { goal: 'lead', txn_id: txnId }, ip);
        perIp.push((await rowsOf(txnId)).length);
      }
      expect(perIp).toEqual([1, 1, 1, 1, 1, 0]);
    });

    it('counts pixels without a cookie or with a forged one by reason', async () => {
      const [none, bad] = [await ignoredPixels('no_cookie'), await ignoredPixels('bad_cookie')];
      await t.http.get('/pixel.gif').query({ goal: 'lead', txn_id: nextTxn() }).expect(200);
      await pixel('afx_click=forged', { goal: 'lead', txn_id: nextTxn() });
      expect(await ignoredPixels('no_cookie')).toBe(none + 1);
      expect(await ignoredPixels('bad_cookie')).toBe(bad + 1);
    });
  });

  describe('signed postbacks', () => {
    const signedHeader = (payload: string, timestamp = Math.floor(Date.now() / 1000)) => `t=${timestamp},v1=${sign(advertiser.postbackToken as string, timestamp, payload)}`;

    it('refuses query parameters beside a signed POST body: ?status=reversed on a replayed body reverses nothing', async () => {
      const { clickId } = await click(offer.id);
      const body = JSON.stringify({ advertiser_id: advertiser.id, click_id: clickId, goal: 'lead', txn_id: nextTxn() });
      const header = signedHeader(body);
      const first = await t.http.post('/postback').set('content-type', 'application/json').set('x-afflux-signature', header).send(body);
      expect(first.status).toBe(201);
      const altered = await t.http.post('/postback?status=reversed').set('content-type', 'application/json').set('x-afflux-signature', signedHeader(body)).send(body);
      expect(altered.status).toBe(401);
      expect(altered.body.error.code).toBe('unsigned_parameters');
      const view = await t.http.get(`/v1/conversions/${first.body.id}`).set(auth(advertiser.apiKey)).expect(200);
      expect(view.body.status).toBe('pending');
    });

    it('accepts a signature once: a replay is refused with signature_replayed', async () => {
      const { clickId } = await click(offer.id);
      const query = `advertiser_id=${advertiser.id}&click_id=${encodeURIComponent(clickId)}&goal=lead&txn_id=${nextTxn()}`;
      const header = signedHeader(query);
      expect((await t.http.get(`/postback?${query}`).set('x-afflux-signature', header)).status).toBe(201);
      const replay = await t.http.get(`/postback?${query}`).set('x-afflux-signature', header);
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('signature_replayed');
      // Signed afresh, the same postback answers the same conversion.
      expect((await t.http.get(`/postback?${query}`).set('x-afflux-signature', signedHeader(query, Math.floor(Date.now() / 1000) - 1))).status).toBe(200);
    });
  });

  describe("the customer's id", () => {
    it('is taken from a postback and the API, shown to both sides, and never from a pixel', async () => {
      const viaPostback = await postback({ click_id: (await click(offer.id)).clickId, goal: 'lead', txn_id: nextTxn(), customer_id: 'cus_42 (Jane)' }).expect(201);
      const viaApi = await t.http
        .post('/v1/conversions')
        .set(auth(advertiser.apiKey))
        .send({ clickId: (await click(offer.id)).clickId, goal: 'lead', txnId: nextTxn(), customerId: 'cus_42 (Jane)' })
        .expect(201);
      for (const key of [advertiser.apiKey, affiliate.apiKey]) {
        for (const id of [viaPostback.body.id, viaApi.body.id]) {
          expect((await t.http.get(`/v1/conversions/${id}`).set(auth(key)).expect(200)).body).toMatchObject({ customerId: 'cus_42 (Jane)', hold: null });
        }
      }
      const { cookie } = await click(offer.id);
      const txnId = nextTxn();
      await pixel(cookie, { goal: 'lead', txn_id: txnId, customer_id: 'cus_squatter' }).expect(200);
      const [row] = await t.dataSource.query(`SELECT source, customer_id FROM conversions WHERE txn_id = $1`, [txnId]);
      expect(row).toEqual({ source: 'pixel', customer_id: null });
    });

    it('refuses an empty, overlong or unprintable one with the field named, and records nothing', async () => {
      for (const customerId of ['', 'x'.repeat(201), 'a\nb']) {
        const txnId = nextTxn();
        const viaPostback = await postback({ coupon: 'NONE', goal: 'lead', txn_id: txnId, customer_id: customerId });
        expect(viaPostback.status).toBe(400);
        expect(viaPostback.body.error.details.map((d: { field: string }) => d.field)).toEqual(['customer_id']);
        const viaApi = await t.http.post('/v1/conversions').set(auth(advertiser.apiKey)).send({ goal: 'lead', txnId, customerId });
        expect(viaApi.status).toBe(400);
        expect(viaApi.body.error.details.map((d: { field: string }) => d.field)).toEqual(['customerId']);
        expect(await rowsOf(txnId)).toEqual([]);
      }
    });
  });

  describe('ids in capitals', () => {
    it('attributes a signed postback whose advertiser_id is in capitals', async () => {
      const { clickId } = await click(offer.id);
      const query = `advertiser_id=${advertiser.id.toUpperCase()}&click_id=${encodeURIComponent(clickId)}&goal=lead&txn_id=${nextTxn()}`;
      const ts = Math.floor(Date.now() / 1000);
      const res = await t.http.get(`/postback?${query}`).set('x-afflux-signature', `t=${ts},v1=${sign(advertiser.postbackToken as string, ts, query)}`);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.any(String), status: 'pending' });
    });

    it('reads upper-case ids in a route parameter and in a body field', async () => {
      const { clickId } = await click(offer.id);
      const created = await t.http
        .post('/v1/conversions')
        .set(auth(t.adminKey))
        .send({ advertiserId: advertiser.id.toUpperCase(), clickId, goal: 'lead', txnId: nextTxn() })
        .expect(201);
      expect(created.body).toMatchObject({ status: 'pending', advertiserId: advertiser.id, affiliateId: affiliate.id });
      const read = await t.http.get(`/v1/conversions/${created.body.id.toUpperCase()}`).set(auth(advertiser.apiKey)).expect(200);
      expect(read.body.id).toBe(created.body.id);
      const listed = await t.http.get('/v1/conversions').query({ affiliateId: affiliate.id.toUpperCase(), txnId: created.body.txnId }).set(auth(advertiser.apiKey)).expect(200);
      expect(listed.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    });
  });

  describe('decimals', () => {
    it.each([
      ['EUR', '10.500'],
      ['JPY', '1000.0'],
      ['USD', '1.000'],
    ])('refuses %s %s (more decimals than the currency has, even zeros) with a 400', async (currency, amount) => {
      const o = await createOffer(t, advertiser, { currency });
      const { clickId } = await click(o.id);
      const txnId = nextTxn();
      const res = await postback({ click_id: clickId, goal: 'sale', txn_id: txnId, amount, currency });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_amount');
      expect(await rowsOf(txnId)).toEqual([]);
    });

    it('refuses a fractional saleAmount on the API', async () => {
      const res = await t.http.post('/v1/conversions').set(auth(advertiser.apiKey)).send({ goal: 'sale', txnId: nextTxn(), saleAmount: 10.5 });
      expect(res.status).toBe(400);
    });
  });

  describe('who sees what of a conversion', () => {
    it('hides payout from advertisers and revenue from affiliates, on get and list', async () => {
      const { clickId } = await click(offer.id);
      const txnId = nextTxn();
      const res = await postback({ click_id: clickId, goal: 'sale', txn_id: txnId, amount: '49.99' });
      const id = res.body.id;
      for (const body of [
        (await t.http.get(`/v1/conversions/${id}`).set(auth(advertiser.apiKey)).expect(200)).body,
        (await t.http.get('/v1/conversions').query({ txnId }).set(auth(advertiser.apiKey)).expect(200)).body.data[0],
      ]) {
        expect(body).toMatchObject({ id, revenue: 750 });
        expect(body).not.toHaveProperty('payout');
        expect(body).not.toHaveProperty('payoutRule');
        expect(body).not.toHaveProperty('margin');
        expect(JSON.stringify(body.rounding ?? {})).not.toContain('payout');
      }
      for (const body of [
        (await t.http.get(`/v1/conversions/${id}`).set(auth(affiliate.apiKey)).expect(200)).body,
        (await t.http.get('/v1/conversions').query({ txnId }).set(auth(affiliate.apiKey)).expect(200)).body.data[0],
      ]) {
        expect(body).toMatchObject({ id, payout: 500 });
        expect(body).not.toHaveProperty('revenue');
        expect(body).not.toHaveProperty('revenueRule');
        expect(JSON.stringify(body.rounding ?? {})).not.toContain('revenue');
      }
      const admin = (await t.http.get(`/v1/conversions/${id}`).set(auth(t.adminKey)).expect(200)).body;
      expect(admin).toMatchObject({ revenue: 750, payout: 500, margin: 250 });
    });
  });

  describe('blocked links do not earn', () => {
    it('a click on an archived link carries no earning click id or cookie, counts apart, and a conversion on it is rejected', async () => {
      const o = await createOffer(t, advertiser, { fallbackUrl: 'https://shop.example/sorry?cid={click_id}' });
      const { id: linkId, code } = await link(affiliate, o.id);
      await t.http.post(`/v1/links/${linkId}/archive`).set(auth(affiliate.apiKey)).expect(200);
      forgetCachedLinks(t);
      const res = await t.http.get(`/c/${code}`).set('user-agent', 'jest-blocked');
      expect(res.status).toBe(302);
      expect(res.headers.location).toMatch(/^https:\/\/shop\.example\/sorry/);
      expect(res.headers['set-cookie']).toBeUndefined();
      const clickId = new URL(res.headers.location).searchParams.get('cid') as string;

      const conversion = await postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() });
      expect(conversion.body).toMatchObject({ status: 'rejected', reason: 'link_blocked' });

      await flushClicks(t);
      const stats = await t.http
        .get('/v1/reports/stats')
        .query({ groupBy: 'offer', from: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10), to: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) })
        .set(auth(t.adminKey))
        .expect(200);
      const row = stats.body.data.find((r: { offerId: string }) => r.offerId === o.id);
      expect(row).toMatchObject({ clicks: 0, uniqueClicks: 0, blockedClicks: 1 });
    });

    it('a click while the offer is paused yields a conversion rejected offer_inactive even after the offer resumes', async () => {
      const o = await createOffer(t, advertiser, { fallbackUrl: 'https://shop.example/sorry?cid={click_id}' });
      const { code } = await link(affiliate, o.id);
      await t.http.patch(`/v1/offers/${o.id}`).set(auth(advertiser.apiKey)).send({ status: 'paused' }).expect(200);
      forgetCachedLinks(t);
      const res = await t.http.get(`/c/${code}`).set('user-agent', 'jest-paused');
      const clickId = new URL(res.headers.location).searchParams.get('cid') as string;
      await t.http.patch(`/v1/offers/${o.id}`).set(auth(advertiser.apiKey)).send({ status: 'active' }).expect(200);
      const conversion = await postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() });
      expect(conversion.body).toMatchObject({ status: 'rejected', reason: 'offer_inactive' });
    });
  });

  describe("caps in the offer's time zone, and the conversion's own time", () => {
    it('validates the offer time zone and shows it', async () => {
      expect((await createOffer(t, advertiser)).timezone).toBe('UTC');
      const ny = await createOffer(t, advertiser, { timezone: 'America/New_York' });
      expect(ny.timezone).toBe('America/New_York');
      const bad = await t.http
        .post('/v1/offers')
        .set(auth(advertiser.apiKey))
        .send({
          name: 'x',
          landingUrl: 'https://shop.example/',
          currency: 'USD',
          goals: [{ key: 'lead', revenue: { type: 'flat', amount: 2 }, payout: { type: 'flat', amount: 1 } }],
          timezone: 'Mars/Olympus',
        });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.map((d: { field: string }) => d.field)).toContain('timezone');
    });

    /** The latest local midnight of `timeZone` at least two hours ago, as an instant. */
    function lastMidnight(timeZone: string): Date {
      const parts = (at: Date) =>
        Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' }).formatToParts(at).map((p) => [p.type, p.value]));
      let at = new Date(Math.floor((Date.now() - 2 * 3600_000) / MIN) * MIN);
      for (;;) {
        const p = parts(at);
        if (p.hour === '00' && p.minute === '00') return at;
        at = new Date(at.getTime() - MIN);
      }
    }

    async function couponSetup(fields: Record<string, unknown>) {
      const o = await createOffer(t, advertiser, { caps: { dailyConversions: 1 }, ...fields });
      const code = `TZ${Date.now().toString(36)}${++txn}`.toUpperCase();
      await t.http.post('/v1/coupons').set(auth(advertiser.apiKey)).send({ offerId: o.id, affiliateId: affiliate.id, code }).expect(201);
      return (at: Date, format: 'iso' | 'unix' = 'iso') =>
        postback({ coupon: code, goal: 'lead', txn_id: nextTxn(), conversion_time: format === 'iso' ? at.toISOString() : String(Math.floor(at.getTime() / 1000)) });
    }

    it("counts a daily cap by the offer's zone at a day edge, using the conversion time given", async () => {
      const edge = lastMidnight('America/New_York');
      const convert = await couponSetup({ timezone: 'America/New_York' });
      const before = await convert(new Date(edge.getTime() - 30 * MIN));
      const after = await convert(new Date(edge.getTime() + 30 * MIN), 'unix');
      const again = await convert(new Date(edge.getTime() + 45 * MIN));
      expect([before.body.status, after.body.status, again.body.status]).toEqual(['pending', 'pending', 'rejected']);
      expect(again.body.reason).toBe('cap_reached');

      // The same instants around New York's midnight fall on one UTC day (05:00Z is not a UTC edge).
      const utc = await couponSetup({});
      const first = await utc(new Date(edge.getTime() - 30 * MIN));
      const second = await utc(new Date(edge.getTime() + 30 * MIN));
      expect([first.body.status, second.body.status]).toEqual(['pending', 'rejected']);
    });

    it('refuses a conversion time in the future, or older than the attribution window, and credits no click after it', async () => {
      const convert = await couponSetup({});
      const future = await convert(new Date(Date.now() + 3600_000));
      expect(future.status).toBe(400);
      expect(future.body.error.code).toBe('invalid_conversion_time');
      const old = await convert(new Date(Date.now() - 31 * 86_400_000));
      expect(old.status).toBe(400);
      expect(old.body.error.code).toBe('invalid_conversion_time');
      expect((await postback({ coupon: 'X', goal: 'lead', txn_id: nextTxn(), conversion_time: 'yesterday' })).status).toBe(400);

      const { clickId } = await click(offer.id);
      const beforeClick = await postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn(), conversion_time: new Date(Date.now() - 3600_000).toISOString() });
      expect(beforeClick.body).toMatchObject({ status: 'unattributed', reason: 'click_after_conversion' });

      const api = await t.http
        .post('/v1/conversions')
        .set(auth(advertiser.apiKey))
        .send({ clickId: (await click(offer.id)).clickId, goal: 'lead', txnId: nextTxn(), occurredAt: new Date(Date.now() + 1000).toISOString() });
      expect(api.status).toBe(201);
      expect(api.body.occurredAt).toEqual(expect.any(String));
    });
  });
});

/** SameSite=None needs Secure, which needs https: the cookie follows PUBLIC_BASE_URL. */
describe('the afx_click cookie on an https deployment', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_BASE_URL: 'https://track.shop.example' } });
  });
  afterAll(() => t.close());

  it('is SameSite=None; Secure, so the pixel on the advertiser site receives it', async () => {
    const [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
    const o = await createOffer(t, advertiser);
    const { code } = (await t.http.post('/v1/links').set(auth(affiliate.apiKey)).send({ offerId: o.id }).expect(201)).body;
    const res = await t.http.get(`/c/${code}`).expect(302);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('afx_click=')) as string;
    expect(cookie).toMatch(/; SameSite=None/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).not.toMatch(/SameSite=Lax/);
  });
});

/** With the workers: a txn id a pixel and then a postback both report earns the affiliate once. */
describe('a pixel superseded by a postback, in the ledger', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ workers: true });
  });
  afterAll(() => t.close());

  it('earns once for the txn id', async () => {
    const [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
    const o = await createOffer(t, advertiser);
    const { code } = (await t.http.post('/v1/links').set(auth(affiliate.apiKey)).send({ offerId: o.id }).expect(201)).body;
    const res = await t.http.get(`/c/${code}`).expect(302);
    const clickId = new URL(res.headers.location).searchParams.get('cid') as string;
    const cookie = (res.headers['set-cookie'] as unknown as string[])[0].split(';')[0];
    const earnings = async () => (await t.http.get('/v1/earnings').set(auth(affiliate.apiKey)).expect(200)).body.balances;

    await t.http.get('/pixel.gif').query({ goal: 'lead', txn_id: 'ORDER-1' }).set('cookie', cookie).expect(200);
    await drainQueues(t);
    expect(await earnings()).toEqual([expect.objectContaining({ currency: 'USD', pending: 300 })]);
    await t.http.get('/postback').query({ token: advertiser.postbackToken, click_id: clickId, goal: 'lead', txn_id: 'ORDER-1' }).expect(201);
    await drainQueues(t);
    expect(await earnings()).toEqual([expect.objectContaining({ currency: 'USD', pending: 300 })]);
  });
});
