import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import { sign } from '../../src/modules/conversions/postback-auth';
import { createTestApp, TestApp } from '../support/create-test-app';
import { hammer } from '../support/hammer';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';

const DAY = 86_400_000;

describe('conversions: postback, pixel, attribution, checks and lifecycle', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let otherAdvertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let otherAffiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let offer: OfferHandle;
  let clickIds: ClickIdService;
  let txn = 0;
  const nextTxn = () => `T-${Date.now().toString(36)}-${++txn}`;

  async function link(aff: PrincipalHandle, offerId: string): Promise<{ id: string; code: string }> {
    const res = await t.http.post('/v1/links').set(auth(aff.apiKey)).send({ offerId });
    if (res.status !== 201) throw new Error(`link: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Clicks a link through the real redirect and returns the click id the landing URL received. */
  async function click(aff: PrincipalHandle, offerId: string): Promise<string> {
    const { code } = await link(aff, offerId);
    const res = await t.http.get(`/c/${code}`).set('user-agent', 'jest');
    expect(res.status).toBe(302);
    const clickId = new URL(res.headers.location).searchParams.get('cid');
    if (!clickId) throw new Error('no click id in the landing URL');
    return clickId;
  }

  function postback(params: Record<string, string | undefined>, token = advertiser.postbackToken as string) {
    return t.http.get('/postback').query({ token, ...params });
  }

  beforeAll(async () => {
    t = await createTestApp({ listen: true });
    clickIds = t.app.get(ClickIdService);
    [advertiser, otherAdvertiser, affiliate, otherAffiliate, finance] = await Promise.all([
      createAdvertiser(t),
      createAdvertiser(t),
      createAffiliate(t),
      createAffiliate(t),
      createFinanceUser(t),
    ]);
    offer = await createOffer(t, advertiser);
  });
  afterAll(() => t.close());

  describe('the S2S postback', () => {
    it('records a conversion from a click, once, with the amounts computed by the rules', async () => {
      const clickId = await click(affiliate, offer.id);
      const txnId = nextTxn();
      const first = await postback({ click_id: clickId, goal: 'sale', txn_id: txnId, amount: '49.99', currency: 'USD' });
      expect(first.status).toBe(201);
      expect(first.body).toEqual({ id: expect.any(String), status: 'pending' });
      const repeat = await postback({ click_id: clickId, goal: 'sale', txn_id: txnId, amount: '49.99' });
      expect(repeat.status).toBe(200);
      expect(repeat.body.id).toBe(first.body.id);

      const view = await t.http.get(`/v1/conversions/${first.body.id}`).set(auth(t.adminKey)).expect(200);
      // 15% of 49.99 = 7.4985 → 750 (half-up), 10% → 499.9 → 500.
      expect(view.body).toMatchObject({
        offerId: offer.id,
        goal: 'sale',
        affiliateId: affiliate.id,
        clickId,
        coupon: null,
        txnId,
        saleAmount: 4999,
        revenue: 750,
        payout: 500,
        margin: 250,
        currency: 'USD',
        status: 'pending',
        reason: null,
        rounding: { revenue: 'half_up', payout: 'half_up' },
        payoutRule: { type: 'percent', bps: 1000 },
      });
      expect(view.body.events).toEqual([expect.objectContaining({ fromStatus: null, toStatus: 'pending', actorType: 'postback' })]);
      const outbox = await t.dataSource.query(`SELECT topic FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [first.body.id]);
      expect(outbox).toEqual([{ topic: 'conversion.recorded' }, { topic: 'postback.send' }, { topic: 'webhook.conversion' }]);
    });

    it('accepts POST with a JSON or a form body', async () => {
      const clickId = await click(affiliate, offer.id);
      const json = await t.http.post('/postback').send({ token: advertiser.postbackToken, click_id: clickId, goal: 'lead', txn_id: nextTxn() });
      expect(json.status).toBe(201);
      const form = await t.http
        .post('/postback')
        .type('form')
        .send(`token=${advertiser.postbackToken}&click_id=${encodeURIComponent(clickId)}&goal=lead&txn_id=${nextTxn()}`);
      expect(form.status).toBe(201);
      expect(form.body.status).toBe('pending');
    });

    it('turns 1 000 concurrent duplicates into exactly one conversion', async () => {
      const clickId = await click(affiliate, offer.id);
      const txnId = nextTxn();
      const query = new URLSearchParams({ token: advertiser.postbackToken as string, click_id: clickId, goal: 'lead', txn_id: txnId });
      const responses = await hammer(`${t.baseUrl}/postback?${query}`, 1000);
      expect(responses.every((r) => r.status === 200 || r.status === 201)).toBe(true);
      expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      const rows = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions WHERE txn_id = $1`, [txnId]);
      expect(rows[0].n).toBe(1);
      const outbox = await t.dataSource.query(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND topic = 'conversion.recorded'`, [responses[0].body.id]);
      expect(outbox[0].n).toBe(1);
    });

    it('authenticates by token (the rotated one for 24 h) or by an HMAC signature', async () => {
      const clickId = await click(affiliate, offer.id);
      const params = { click_id: clickId, goal: 'lead', txn_id: nextTxn() };
      expect((await t.http.get('/postback').query(params)).status).toBe(401);
      expect((await postback(params, 'pbt_wrong')).status).toBe(401);
      expect((await postback(params, otherAdvertiser.postbackToken as string)).body.status).toBe('unattributed');

      const adv = await createAdvertiser(t);
      const advOffer = await createOffer(t, adv);
      const rotated = await t.http.post('/v1/postback-tokens').set(auth(adv.apiKey)).expect(201);
      const advClick = await click(affiliate, advOffer.id);
      expect((await postback({ click_id: advClick, goal: 'lead', txn_id: nextTxn() }, adv.postbackToken as string)).status).toBe(201);
      expect((await postback({ click_id: advClick, goal: 'lead', txn_id: nextTxn() }, rotated.body.postbackToken)).status).toBe(201);

      const signed = async (query: string, timestamp: number, secret: string) =>
        t.http.get(`/postback?${query}`).set('x-afflux-signature', `t=${timestamp},v1=${sign(secret, timestamp, query)}`);
      const now = Math.floor(Date.now() / 1000);
      const query = `advertiser_id=${adv.id}&click_id=${encodeURIComponent(advClick)}&goal=lead&txn_id=${nextTxn()}`;
      expect((await signed(query, now, rotated.body.postbackToken)).status).toBe(201);
      const stale = await signed(`advertiser_id=${adv.id}&click_id=${encodeURIComponent(advClick)}&goal=lead&txn_id=${nextTxn()}`, now - 600, rotated.body.postbackToken);
      expect(stale.status).toBe(401);
      expect(stale.body.error.code).toBe('stale_signature');
      const forged = await signed(`advertiser_id=${adv.id}&click_id=${encodeURIComponent(advClick)}&goal=lead&txn_id=${nextTxn()}`, now, 'pbt_guess');
      expect(forged.body.error.code).toBe('invalid_signature');
      // A signature over other parameters does not carry over.
      const tampered = await t.http
        .get(`/postback?${query.replace('goal=lead', 'goal=sale')}&amount=1`)
        .set('x-afflux-signature', `t=${now},v1=${sign(rotated.body.postbackToken, now, query)}`);
      expect(tampered.status).toBe(401);
    });

    it.each([
      ['no goal', { txn_id: 'x' }, 'goal'],
      ['no txn_id', { goal: 'sale' }, 'txn_id'],
      ['a txn_id with spaces', { goal: 'sale', txn_id: 'a b' }, 'txn_id'],
      ['a 200-char txn_id', { goal: 'sale', txn_id: 'x'.repeat(200) }, 'txn_id'],
      ['an unknown currency', { goal: 'sale', txn_id: 'x', currency: 'ABC' }, 'currency'],
      ['a bad goal', { goal: '<script>', txn_id: 'x' }, 'goal'],
      ['a bad status', { goal: 'sale', txn_id: 'x', status: 'approved' }, 'status'],
    ])('refuses %s with a 400 naming the field, writing nothing', async (_label, params, field) => {
      const before = await t.dataSource.query('SELECT count(*)::int AS n FROM conversions');
      const res = await postback(params as Record<string, string>);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      const after = await t.dataSource.query('SELECT count(*)::int AS n FROM conversions');
      expect(after[0].n).toBe(before[0].n);
    });

    it('refuses a parameter given twice', async () => {
      const res = await t.http.get(`/postback?token=${advertiser.postbackToken}&goal=sale&txn_id=a&txn_id=b`);
      expect(res.status).toBe(400);
    });
  });

  describe('money', () => {
    it.each([
      ['JPY', '1000', 1000, 150, 100],
      ['EUR', '10.50', 1050, 158, 105],
      ['KWD', '1.234', 1234, 185, 123],
    ])('parses %s %s exactly', async (currency, amount, sale, revenue, payout) => {
      const o = await createOffer(t, advertiser, { currency });
      const clickId = await click(affiliate, o.id);
      const res = await postback({ click_id: clickId, goal: 'sale', txn_id: nextTxn(), amount, currency });
      expect(res.status).toBe(201);
      const view = await t.http.get(`/v1/conversions/${res.body.id}`).set(auth(t.adminKey)).expect(200);
      expect(view.body).toMatchObject({ saleAmount: sale, revenue, payout, currency });
    });

    it.each([
      ['JPY', '1000.5'],
      ['EUR', '10.999'],
      ['USD', '-5'],
      ['USD', '1e3'],
      ['USD', '12,50'],
      ['USD', '9999999999999999999'],
    ])('refuses %s %s with a 400 and no conversion', async (currency, amount) => {
      const o = await createOffer(t, advertiser, { currency });
      const clickId = await click(affiliate, o.id);
      const txnId = nextTxn();
      const res = await postback({ click_id: clickId, goal: 'sale', txn_id: txnId, amount, currency });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_amount');
      expect((await t.dataSource.query('SELECT 1 FROM conversions WHERE txn_id = $1', [txnId])).length).toBe(0);
    });

    it('requires the sale amount for a percent goal', async () => {
      const clickId = await click(affiliate, offer.id);
      const res = await postback({ click_id: clickId, goal: 'sale', txn_id: nextTxn() });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('amount_required');
    });

    it('applies a per-affiliate payout override', async () => {
      const o = await createOffer(t, advertiser, {
        goals: [
          {
            key: 'lead',
            revenue: { type: 'flat', amount: 1000 },
            payout: { type: 'flat', amount: 400 },
            overrides: [{ affiliateId: otherAffiliate.id, payout: { type: 'flat', amount: 700 } }],
          },
        ],
      });
      const mine = await postback({ click_id: await click(affiliate, o.id), goal: 'lead', txn_id: nextTxn() });
      const theirs = await postback({ click_id: await click(otherAffiliate, o.id), goal: 'lead', txn_id: nextTxn() });
      const [a, b] = await Promise.all([mine, theirs].map((r) => t.http.get(`/v1/conversions/${r.body.id}`).set(auth(t.adminKey))));
      expect([a.body.payout, b.body.payout]).toEqual([400, 700]);
      expect(b.body.payoutRule).toEqual({ type: 'flat', amount: 700 });
    });
  });

  describe('attribution', () => {
    async function forgedClick(aff: PrincipalHandle, offerId: string, clickedAt: Date): Promise<string> {
      const l = await link(aff, offerId);
      return clickIds.issue(l.id, clickedAt);
    }

    it('respects the attribution window to its edges, and never a click after the conversion', async () => {
      const o = await createOffer(t, advertiser, { attributionWindowDays: 7 });
      const inside = await postback({ click_id: await forgedClick(affiliate, o.id, new Date(Date.now() - 7 * DAY + 60_000)), goal: 'lead', txn_id: nextTxn() });
      expect(inside.body.status).toBe('pending');
      const outside = await postback({ click_id: await forgedClick(affiliate, o.id, new Date(Date.now() - 7 * DAY - 60_000)), goal: 'lead', txn_id: nextTxn() });
      expect(outside.body).toMatchObject({ status: 'unattributed', reason: 'click_outside_window' });
      const future = await postback({ click_id: await forgedClick(affiliate, o.id, new Date(Date.now() + 60_000)), goal: 'lead', txn_id: nextTxn() });
      expect(future.body).toMatchObject({ status: 'unattributed', reason: 'click_after_conversion' });
    });

    it('stores tampered, unknown or missing click ids as unattributed with the reason', async () => {
      const clickId = await click(affiliate, offer.id);
      const flipped = clickId.slice(0, 10) + (clickId[10] === 'A' ? 'B' : 'A') + clickId.slice(11);
      expect((await postback({ click_id: flipped, goal: 'lead', txn_id: nextTxn() })).body).toMatchObject({ status: 'unattributed', reason: 'invalid_click_id' });
      expect((await postback({ click_id: 'garbage', goal: 'lead', txn_id: nextTxn() })).body).toMatchObject({ status: 'unattributed', reason: 'invalid_click_id' });
      const none = await postback({ goal: 'lead', txn_id: nextTxn() });
      expect(none.body).toMatchObject({ status: 'unattributed', reason: 'no_click_or_coupon' });
      const stored = await t.http.get(`/v1/conversions/${none.body.id}`).set(auth(advertiser.apiKey)).expect(200);
      expect(stored.body).toMatchObject({ affiliateId: null, revenue: 0 });
      expect(stored.body.payout).toBeUndefined();
    });

    it('decides between coupon and click by the offer priority, both ways', async () => {
      for (const [priority, winner] of [
        ['coupon_first', otherAffiliate],
        ['click_first', affiliate],
      ] as const) {
        const o = await createOffer(t, advertiser, { attributionPriority: priority });
        const code = `SAVE${Date.now().toString(36)}${priority.length}`.toUpperCase();
        await t.http.post('/v1/coupons').set(auth(advertiser.apiKey)).send({ offerId: o.id, affiliateId: otherAffiliate.id, code }).expect(201);
        const clickId = await click(affiliate, o.id);
        const res = await postback({ click_id: clickId, coupon: code.toLowerCase(), goal: 'lead', txn_id: nextTxn() });
        const view = await t.http.get(`/v1/conversions/${res.body.id}`).set(auth(t.adminKey)).expect(200);
        expect(view.body.affiliateId).toBe(winner.id);
        expect(view.body.attributedBy).toBe(priority === 'coupon_first' ? 'coupon' : 'click');
      }
    });

    it("never credits another advertiser's click", async () => {
      const theirOffer = await createOffer(t, otherAdvertiser);
      const clickId = await click(affiliate, theirOffer.id);
      const res = await postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() });
      expect(res.body).toMatchObject({ status: 'unattributed', reason: 'click_of_another_advertiser' });
    });
  });

  describe('checks stored as rejections', () => {
    it('rejects: unknown goal, currency mismatch, paused offer, suspended affiliate, too fast', async () => {
      const unknownGoal = await postback({ click_id: await click(affiliate, offer.id), goal: 'install', txn_id: nextTxn() });
      expect(unknownGoal.body).toMatchObject({ status: 'rejected', reason: 'unknown_goal' });

      const mismatch = await postback({ click_id: await click(affiliate, offer.id), goal: 'lead', txn_id: nextTxn(), currency: 'EUR' });
      expect(mismatch.body).toMatchObject({ status: 'rejected', reason: 'currency_mismatch' });

      const paused = await createOffer(t, advertiser);
      const pausedClick = await click(affiliate, paused.id);
      await t.http.patch(`/v1/offers/${paused.id}`).set(auth(advertiser.apiKey)).send({ status: 'paused' }).expect(200);
      expect((await postback({ click_id: pausedClick, goal: 'lead', txn_id: nextTxn() })).body).toMatchObject({ status: 'rejected', reason: 'offer_inactive' });

      const slow = await createOffer(t, advertiser, { minClickToConversionSeconds: 3600 });
      expect((await postback({ click_id: await click(affiliate, slow.id), goal: 'lead', txn_id: nextTxn() })).body).toMatchObject({
        status: 'rejected',
        reason: 'click_to_conversion_too_fast',
      });

      const suspended = await createAffiliate(t);
      const suspendedClick = await click(suspended, offer.id);
      await t.http.patch(`/v1/affiliates/${suspended.id}`).set(auth(t.adminKey)).send({ status: 'suspended' }).expect(200);
      const res = await postback({ click_id: suspendedClick, goal: 'lead', txn_id: nextTxn() });
      expect(res.body).toMatchObject({ status: 'rejected', reason: 'affiliate_suspended' });
      const outbox = await t.dataSource.query('SELECT 1 FROM outbox WHERE aggregate_id = $1', [res.body.id]);
      expect(outbox).toHaveLength(0);
    });

    it('holds caps under concurrency: per offer total and per affiliate', async () => {
      const capped = await createOffer(t, advertiser, { caps: { totalConversions: 5, affiliateTotalConversions: 3 } });
      const [a, b] = await Promise.all([click(affiliate, capped.id), click(otherAffiliate, capped.id)]);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => postback({ click_id: i % 2 ? a : b, goal: 'lead', txn_id: nextTxn() })));
      const statuses = responses.map((r) => r.body.status);
      expect(statuses.filter((s) => s === 'pending')).toHaveLength(5);
      expect(responses.filter((r) => r.body.status === 'rejected').every((r) => r.body.reason === 'cap_reached')).toBe(true);
      const perAffiliate = await t.dataSource.query(`SELECT affiliate_id, count(*)::int AS n FROM conversions WHERE offer_id = $1 AND status = 'pending' GROUP BY affiliate_id`, [
        capped.id,
      ]);
      expect(perAffiliate.every((r: { n: number }) => r.n <= 3)).toBe(true);
    });

    it('enforces the revenue budget', async () => {
      const o = await createOffer(t, advertiser, {
        caps: { revenueBudget: 1000 },
        goals: [{ key: 'lead', revenue: { type: 'flat', amount: 400 }, payout: { type: 'flat', amount: 100 } }],
      });
      const clickId = await click(affiliate, o.id);
      const results = [];
      for (let i = 0; i < 3; i++) results.push((await postback({ click_id: clickId, goal: 'lead', txn_id: nextTxn() })).body);
      expect(results.map((r) => r.status)).toEqual(['pending', 'pending', 'rejected']);
      const view = await t.http.get(`/v1/conversions/${results[2].id}`).set(auth(t.adminKey));
      expect(view.body.reasonDetail).toBe('revenueBudget');
    });
  });

  describe('lifecycle', () => {
    async function conversion(): Promise<string> {
      const res = await postback({ click_id: await click(affiliate, offer.id), goal: 'lead', txn_id: nextTxn() });
      return res.body.id;
    }

    it('approves, rejects and reverses with an event each, and refuses impossible moves', async () => {
      const id = await conversion();
      const approved = await t.http.post(`/v1/conversions/${id}/approve`).set(auth(advertiser.apiKey)).send({ reason: 'looks good' });
      expect(approved.status).toBe(200);
      expect(approved.body.status).toBe('approved');
      const reversed = await t.http.post(`/v1/conversions/${id}/reverse`).set(auth(finance.apiKey)).send({ reason: 'refund' });
      expect(reversed.body).toMatchObject({ status: 'reversed', reason: 'refund' });
      const again = await t.http.post(`/v1/conversions/${id}/approve`).set(auth(t.adminKey)).send({});
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('invalid_transition');
      const view = await t.http.get(`/v1/conversions/${id}`).set(auth(t.adminKey)).expect(200);
      expect(view.body.events.map((e: { toStatus: string }) => e.toStatus)).toEqual(['pending', 'approved', 'reversed']);
      expect(view.body.events[1]).toMatchObject({ actorType: 'principal', actorId: advertiser.id, reason: 'looks good' });
      const topics = await t.dataSource.query(`SELECT topic FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [id]);
      expect(topics.map((r: { topic: string }) => r.topic)).toEqual([
        'conversion.recorded',
        'postback.send',
        'webhook.conversion',
        'conversion.status_changed',
        'postback.send',
        'webhook.conversion',
        'conversion.status_changed',
        'postback.send',
        'webhook.conversion',
      ]);

      const rejectedId = await conversion();
      await t.http.post(`/v1/conversions/${rejectedId}/reject`).set(auth(advertiser.apiKey)).send({ reason: 'fraud' }).expect(200);
    });

    it('reverses through a postback with status=reversed, idempotently', async () => {
      const txnId = nextTxn();
      const clickId = await click(affiliate, offer.id);
      const created = await postback({ click_id: clickId, goal: 'lead', txn_id: txnId });
      const reversed = await postback({ goal: 'lead', txn_id: txnId, status: 'reversed' });
      expect(reversed.body).toMatchObject({ id: created.body.id, status: 'reversed' });
      expect((await postback({ goal: 'lead', txn_id: txnId, status: 'reversed' })).body.status).toBe('reversed');
      expect((await postback({ goal: 'lead', txn_id: 'never-seen', status: 'reversed' })).status).toBe(404);
    });

    it('approves at once when the lock period is 0', async () => {
      const instant = await createOffer(t, advertiser, { lockPeriodDays: 0 });
      const res = await postback({ click_id: await click(affiliate, instant.id), goal: 'lead', txn_id: nextTxn() });
      expect(res.body.status).toBe('approved');
    });

    it("refuses roles and other principals' ids", async () => {
      const id = await conversion();
      for (const p of [affiliate, otherAffiliate]) await t.http.post(`/v1/conversions/${id}/approve`).set(auth(p.apiKey)).send({}).expect(403);
      await t.http.post(`/v1/conversions/${id}/approve`).set(auth(otherAdvertiser.apiKey)).send({}).expect(404);
      await t.http.post(`/v1/conversions/${id}/approve`).set(auth(t.adminKey)).send({ status: 'paid' }).expect(400);
    });
  });

  describe('reading conversions', () => {
    it('scopes every read, hides revenue from affiliates and payout from advertisers', async () => {
      const res = await postback({ click_id: await click(affiliate, offer.id), goal: 'lead', txn_id: nextTxn() });
      const id = res.body.id;
      const own = await t.http.get(`/v1/conversions/${id}`).set(auth(affiliate.apiKey)).expect(200);
      expect(own.body.revenue).toBeUndefined();
      expect(own.body.margin).toBeUndefined();
      expect(own.body.payout).toBe(300);
      const adv = await t.http.get(`/v1/conversions/${id}`).set(auth(advertiser.apiKey)).expect(200);
      expect(adv.body.revenue).toBe(500);
      expect(adv.body.margin).toBeUndefined();
      expect(adv.body.payout).toBeUndefined();
      await t.http.get(`/v1/conversions/${id}`).set(auth(otherAffiliate.apiKey)).expect(404);
      await t.http.get(`/v1/conversions/${id}`).set(auth(otherAdvertiser.apiKey)).expect(404);
      await t.http.get(`/v1/conversions/${id}`).set(auth(finance.apiKey)).expect(200);

      const list = await t.http.get('/v1/conversions').query({ limit: 500 }).set(auth(otherAffiliate.apiKey)).expect(200);
      expect(list.body.data.every((c: { affiliateId: string }) => c.affiliateId === otherAffiliate.id)).toBe(true);
      const advList = await t.http.get('/v1/conversions').query({ status: 'pending', limit: 500 }).set(auth(otherAdvertiser.apiKey)).expect(200);
      expect(advList.body.data.map((c: { id: string }) => c.id)).not.toContain(id);
      const filtered = await t.http
        .get('/v1/conversions')
        .query({ txnId: res.body.id ? (await t.dataSource.query('SELECT txn_id FROM conversions WHERE id = $1', [id]))[0].txn_id : '' })
        .set(auth(t.adminKey));
      expect(filtered.body.data.map((c: { id: string }) => c.id)).toEqual([id]);
      await t.http.get('/v1/conversions').query({ from: 'yesterday' }).set(auth(t.adminKey)).expect(400);
    });
  });

  describe('POST /v1/conversions', () => {
    it('records for an advertiser with minor units, repeats answer 200, others are refused', async () => {
      const clickId = await click(affiliate, offer.id);
      const body = { clickId, goal: 'sale', txnId: nextTxn(), saleAmount: 10_000, currency: 'USD' };
      const res = await t.http.post('/v1/conversions').set(auth(advertiser.apiKey)).send(body);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'pending', saleAmount: 10_000, revenue: 1500 });
      expect(res.body.payout).toBeUndefined();
      expect((await t.http.post('/v1/conversions').set(auth(advertiser.apiKey)).send(body)).status).toBe(200);
      await t.http.post('/v1/conversions').set(auth(affiliate.apiKey)).send(body).expect(403);
      await t.http.post('/v1/conversions').set(auth(finance.apiKey)).send(body).expect(403);
      await t.http.post('/v1/conversions').set(auth(t.adminKey)).send(body).expect(400);
      await t.http
        .post('/v1/conversions')
        .set(auth(t.adminKey))
        .send({ ...body, advertiserId: advertiser.id })
        .expect(200);
      for (const bad of [
        { ...body, saleAmount: 10.5 },
        { ...body, saleAmount: '100' },
        { ...body, extra: 1 },
        { ...body, advertiserId: otherAdvertiser.id },
      ]) {
        expect((await t.http.post('/v1/conversions').set(auth(advertiser.apiKey)).send(bad)).status).toBe(400);
      }
    });
  });

  describe('the pixel', () => {
    it('records from the afx_click cookie and always answers a GIF', async () => {
      const { code } = await link(affiliate, offer.id);
      const redirect = await t.http.get(`/c/${code}`);
      const cookie = (redirect.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('afx_click='));
      expect(cookie).toBeDefined();
      const txnId = nextTxn();
      const pixel = await t.http
        .get('/pixel.gif')
        .query({ goal: 'lead', txn_id: txnId })
        .set('cookie', (cookie as string).split(';')[0]);
      expect(pixel.status).toBe(200);
      expect(pixel.headers['content-type']).toBe('image/gif');
      const rows = await t.dataSource.query(`SELECT source, status, affiliate_id FROM conversions WHERE txn_id = $1`, [txnId]);
      expect(rows).toEqual([{ source: 'pixel', status: 'pending', affiliate_id: affiliate.id }]);
      for (const query of [{}, { goal: 'lead' }, { goal: '<x>', txn_id: 'y' }]) {
        const res = await t.http.get('/pixel.gif').query(query).set('cookie', 'afx_click=forged');
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('image/gif');
      }
    });
  });
});
