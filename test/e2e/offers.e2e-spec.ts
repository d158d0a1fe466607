import { createTestApp, TestApp } from '../support/create-test-app';
import { createCast } from '../support/tracking.factories';
import { auth, createAdvertiser, createOffer, offerBody, PrincipalHandle } from '../support/factories';

describe('offers, goals and payout rules', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let otherAdvertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let otherAffiliate: PrincipalHandle;
  let finance: PrincipalHandle;

  beforeAll(async () => {
    t = await createTestApp();
    ({ advertiser, otherAdvertiser, affiliate, otherAffiliate, finance } = await createCast(t));
  });
  afterAll(() => t.close());

  it('lives a full life: create, goals, override, application, approval, pause, archive', async () => {
    const created = await t.http
      .post('/v1/offers')
      .set(auth(advertiser.apiKey))
      .send(offerBody({ visibility: 'approval_required', currency: 'EUR', caps: { dailyConversions: 100, affiliateTotalConversions: 10, revenueBudget: 1_000_000 } }));
    expect(created.status).toBe(201);
    const offer = created.body;
    expect(offer).toMatchObject({
      advertiserId: advertiser.id,
      currency: 'EUR',
      status: 'active',
      visibility: 'approval_required',
      attributionWindowDays: 30,
      lockPeriodDays: 30,
      attributionPriority: 'coupon_first',
      caps: { dailyConversions: 100, affiliateTotalConversions: 10, revenueBudget: 1_000_000 },
    });
    expect(offer.goals.map((g: { key: string }) => g.key)).toEqual(['sale', 'lead']);
    expect(offer.goals[0]).toMatchObject({ revenue: { type: 'percent', bps: 1500 }, payout: { type: 'percent', bps: 1000 }, overrides: [] });
    expect(offer.goals[0].margin).toBeUndefined();

    // An affiliate sees it, without the revenue, and must apply.
    const seen = await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey)).expect(200);
    expect(seen.body.access).toBe('none');
    expect(seen.body.goals[0].revenue).toBeUndefined();
    expect(seen.body.goals[0].payout).toEqual({ type: 'percent', bps: 1000 });

    const applied = await t.http.post(`/v1/offers/${offer.id}/applications`).set(auth(affiliate.apiKey)).send({ note: 'newsletter, 40k' });
    expect(applied.status).toBe(201);
    expect(applied.body).toMatchObject({ status: 'pending', affiliateId: affiliate.id });
    // Applying again changes nothing.
    await t.http.post(`/v1/offers/${offer.id}/applications`).set(auth(affiliate.apiKey)).send({}).expect(201);
    const apps = await t.http.get(`/v1/offers/${offer.id}/applications`).set(auth(advertiser.apiKey)).expect(200);
    expect(apps.body.data).toHaveLength(1);
    expect(apps.body.data[0].note).toBe('newsletter, 40k');

    const approved = await t.http.post(`/v1/offers/${offer.id}/applications/${affiliate.id}/approve`).set(auth(advertiser.apiKey)).send({});
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('approved');
    expect((await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey))).body.access).toBe('approved');

    // A per-affiliate payout override: the affiliate sees its own payout, the other one the default.
    const withOverride = await t.http
      .patch(`/v1/offers/${offer.id}`)
      .set(auth(advertiser.apiKey))
      .send({
        goals: [
          {
            key: 'sale',
            revenue: { type: 'percent', bps: 1500 },
            payout: { type: 'percent', bps: 1000 },
            overrides: [{ affiliateId: affiliate.id, payout: { type: 'percent', bps: 1200 } }],
          },
          { key: 'lead', revenue: { type: 'flat', amount: 500 }, payout: { type: 'flat', amount: 300 } },
        ],
      });
    expect(withOverride.status).toBe(200);
    expect(withOverride.body.goals[0].overrides).toEqual([{ affiliateId: affiliate.id, payout: { type: 'percent', bps: 1200 } }]);
    expect((await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey))).body.goals[0].payout).toEqual({ type: 'percent', bps: 1200 });
    expect((await t.http.get(`/v1/offers/${offer.id}`).set(auth(otherAffiliate.apiKey))).body.goals[0].payout).toEqual({ type: 'percent', bps: 1000 });

    // Staff see the margin.
    const staffView = await t.http.get(`/v1/offers/${offer.id}`).set(auth(finance.apiKey)).expect(200);
    expect(staffView.body.goals[1].margin).toEqual({ type: 'flat', amount: 200 });

    // Dropping a goal archives it; adding one keeps the rest.
    const regoaled = await t.http
      .patch(`/v1/offers/${offer.id}`)
      .set(auth(advertiser.apiKey))
      .send({
        goals: [
          { key: 'lead', revenue: { type: 'flat', amount: 600 }, payout: { type: 'flat', amount: 350 } },
          { key: 'signup', revenue: { type: 'flat', amount: 100 }, payout: { type: 'flat', amount: 50 } },
        ],
      });
    expect(regoaled.body.goals.map((g: { key: string }) => g.key)).toEqual(['lead', 'signup']);
    const archivedGoals = await t.dataSource.query(`SELECT key FROM offer_goals WHERE offer_id = $1 AND archived_at IS NOT NULL`, [offer.id]);
    expect(archivedGoals).toEqual([{ key: 'sale' }]);

    const paused = await t.http.patch(`/v1/offers/${offer.id}`).set(auth(advertiser.apiKey)).send({ status: 'paused' }).expect(200);
    expect(paused.body.status).toBe('paused');
    await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey)).expect(200);

    await t.http.patch(`/v1/offers/${offer.id}`).set(auth(t.adminKey)).send({ status: 'archived' }).expect(200);
    await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey)).expect(404);
    const list = await t.http.get('/v1/offers').set(auth(affiliate.apiKey)).expect(200);
    expect(list.body.data.map((o: { id: string }) => o.id)).not.toContain(offer.id);
  });

  it('keeps private offers invisible until an admin grants access', async () => {
    const offer = await createOffer(t, advertiser, { visibility: 'private' });
    await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey)).expect(404);
    await t.http.post(`/v1/offers/${offer.id}/applications`).set(auth(affiliate.apiKey)).send({}).expect(404);
    // The advertiser cannot grant without an application; an admin can.
    const refused = await t.http.post(`/v1/offers/${offer.id}/applications/${affiliate.id}/approve`).set(auth(advertiser.apiKey)).send({});
    expect(refused.status).toBe(404);
    await t.http.post(`/v1/offers/${offer.id}/applications/${affiliate.id}/approve`).set(auth(t.adminKey)).send({}).expect(200);
    const seen = await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey)).expect(200);
    expect(seen.body.access).toBe('approved');
    await t.http.get(`/v1/offers/${offer.id}`).set(auth(otherAffiliate.apiKey)).expect(404);
  });

  it('lets a rejected affiliate apply again, and public offers need no application', async () => {
    const offer = await createOffer(t, advertiser, { visibility: 'approval_required' });
    await t.http.post(`/v1/offers/${offer.id}/applications`).set(auth(otherAffiliate.apiKey)).send({}).expect(201);
    const rejected = await t.http.post(`/v1/offers/${offer.id}/applications/${otherAffiliate.id}/reject`).set(auth(advertiser.apiKey)).send({ note: 'no incentive traffic' });
    expect(rejected.body).toMatchObject({ status: 'rejected', note: 'no incentive traffic' });
    const again = await t.http.post(`/v1/offers/${offer.id}/applications`).set(auth(otherAffiliate.apiKey)).send({ note: 'changed' });
    expect(again.body.status).toBe('pending');

    const open = await createOffer(t, advertiser);
    const res = await t.http.post(`/v1/offers/${open.id}/applications`).set(auth(affiliate.apiKey)).send({});
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('no_application_needed');
  });

  it('lets an admin create an offer for an advertiser, and only for an advertiser', async () => {
    const ok = await t.http
      .post('/v1/offers')
      .set(auth(t.adminKey))
      .send(offerBody({ advertiserId: otherAdvertiser.id }));
    expect(ok.status).toBe(201);
    expect(ok.body.advertiserId).toBe(otherAdvertiser.id);
    const missing = await t.http.post('/v1/offers').set(auth(t.adminKey)).send(offerBody());
    expect(missing.status).toBe(400);
    expect(missing.body.error.details[0].field).toBe('advertiserId');
    const wrong = await t.http
      .post('/v1/offers')
      .set(auth(t.adminKey))
      .send(offerBody({ advertiserId: affiliate.id }));
    expect(wrong.status).toBe(400);
    const spoof = await t.http
      .post('/v1/offers')
      .set(auth(advertiser.apiKey))
      .send(offerBody({ advertiserId: otherAdvertiser.id }));
    expect(spoof.status).toBe(400);
    expect(spoof.body.error.code).toBe('field_not_allowed');
  });

  describe('scoping', () => {
    it("never shows or lets anyone change another advertiser's offer", async () => {
      const theirs = await createOffer(t, otherAdvertiser);
      await t.http.get(`/v1/offers/${theirs.id}`).set(auth(advertiser.apiKey)).expect(404);
      await t.http.patch(`/v1/offers/${theirs.id}`).set(auth(advertiser.apiKey)).send({ name: 'mine now' }).expect(404);
      await t.http.get(`/v1/offers/${theirs.id}/applications`).set(auth(advertiser.apiKey)).expect(404);
      await t.http.post(`/v1/offers/${theirs.id}/applications/${affiliate.id}/approve`).set(auth(advertiser.apiKey)).send({}).expect(404);
      const list = await t.http.get('/v1/offers').set(auth(advertiser.apiKey)).expect(200);
      expect(list.body.data.every((o: { advertiserId: string }) => o.advertiserId === advertiser.id)).toBe(true);
    });

    it('refuses roles that may not write offers', async () => {
      const offer = await createOffer(t, advertiser);
      for (const p of [affiliate, finance]) {
        await t.http.post('/v1/offers').set(auth(p.apiKey)).send(offerBody()).expect(403);
        await t.http.patch(`/v1/offers/${offer.id}`).set(auth(p.apiKey)).send({ name: 'x' }).expect(403);
        await t.http.get(`/v1/offers/${offer.id}/applications`).set(auth(p.apiKey)).expect(403);
        await t.http.post(`/v1/offers/${offer.id}/applications/${affiliate.id}/approve`).set(auth(p.apiKey)).send({}).expect(403);
      }
      for (const key of [advertiser.apiKey, finance.apiKey, t.adminKey]) {
        await t.http.post(`/v1/offers/${offer.id}/applications`).set(auth(key)).send({}).expect(403);
      }
    });

    it('lets finance and admin read every offer; 404 for unknown and malformed ids', async () => {
      const offer = await createOffer(t, otherAdvertiser);
      await t.http.get(`/v1/offers/${offer.id}`).set(auth(finance.apiKey)).expect(200);
      await t.http.get(`/v1/offers/${offer.id}`).set(auth(t.adminKey)).expect(200);
      await t.http.get('/v1/offers/00000000-0000-4000-8000-000000000000').set(auth(t.adminKey)).expect(404);
      await t.http.get('/v1/offers/1%20OR%201=1').set(auth(t.adminKey)).expect(404);
    });

    it('pages with a cursor', async () => {
      const adv = await createAdvertiser(t);
      for (let i = 0; i < 5; i++) await createOffer(t, adv);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await t.http
          .get('/v1/offers')
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .set(auth(adv.apiKey))
          .expect(200);
        seen.push(...res.body.data.map((o: { id: string }) => o.id));
        cursor = res.body.nextCursor ?? undefined;
      } while (cursor);
      expect(new Set(seen).size).toBe(5);
      await t.http.get('/v1/offers').query({ cursor: 'garbage' }).set(auth(adv.apiKey)).expect(400);
      await t.http.get('/v1/offers').query({ limit: 501 }).set(auth(adv.apiKey)).expect(400);
    });
  });

  describe('bad input', () => {
    const goal = (revenue: unknown, payout: unknown, extra: Record<string, unknown> = {}) => [{ key: 'sale', revenue, payout, ...extra }];
    it.each([
      ['an unknown field', { color: 'red' }, 'color'],
      ['a wrong type', { attributionWindowDays: '30' }, 'attributionWindowDays'],
      ['an unknown currency', { currency: 'XYZ' }, 'currency'],
      ['a lower-case currency', { currency: 'usd' }, 'currency'],
      ['a negative flat amount', { goals: goal({ type: 'flat', amount: -1 }, { type: 'flat', amount: 0 }) }, 'goals.0.revenue.amount'],
      ['a fractional flat amount', { goals: goal({ type: 'flat', amount: 10.5 }, { type: 'flat', amount: 1 }) }, 'goals.0.revenue.amount'],
      ['a string amount', { goals: goal({ type: 'flat', amount: '10' }, { type: 'flat', amount: 1 }) }, 'goals.0.revenue.amount'],
      ['percent over 10000 bps', { goals: goal({ type: 'percent', bps: 10001 }, { type: 'percent', bps: 1 }) }, 'goals.0.revenue.bps'],
      ['a percent rule with an amount', { goals: goal({ type: 'percent', bps: 100, amount: 5 }, { type: 'percent', bps: 1 }) }, 'goals.0.revenue.amount'],
      ['an unknown rule type', { goals: goal({ type: 'stepped' }, { type: 'flat', amount: 1 }) }, 'goals.0.revenue.type'],
      ['a tiered rule without tiers', { goals: goal({ type: 'tiered', basis: 'conversions', period: 'month' }, { type: 'flat', amount: 1 }) }, 'goals.0.revenue.tiers'],
      ['a flat payout above the flat revenue', { goals: goal({ type: 'flat', amount: 100 }, { type: 'flat', amount: 101 }) }, 'goals.0.payout'],
      ['a percent payout above the percent revenue', { goals: goal({ type: 'percent', bps: 100 }, { type: 'percent', bps: 200 }) }, 'goals.0.payout'],
      ['no goals', { goals: [] }, 'goals'],
      [
        'a duplicated goal key',
        { goals: [...goal({ type: 'flat', amount: 1 }, { type: 'flat', amount: 1 }), ...goal({ type: 'flat', amount: 1 }, { type: 'flat', amount: 1 })] },
        'goals.1.key',
      ],
      ['a bad goal key', { goals: [{ key: 'Sale Goal', revenue: { type: 'flat', amount: 1 }, payout: { type: 'flat', amount: 1 } }] }, 'goals.0.key'],
      [
        'an override for nobody',
        {
          goals: goal(
            { type: 'flat', amount: 10 },
            { type: 'flat', amount: 5 },
            { overrides: [{ affiliateId: '00000000-0000-4000-8000-000000000000', payout: { type: 'flat', amount: 1 } }] },
          ),
        },
        'goals.0.overrides.0.affiliateId',
      ],
      ['a javascript: landing URL', { landingUrl: 'javascript:alert(1)' }, 'landingUrl'],
      ['an unknown macro', { landingUrl: 'https://x.example/?a={password}' }, 'landingUrl'],
      ['a relative landing URL', { landingUrl: '/landing' }, 'landingUrl'],
      ['an attribution window of 0', { attributionWindowDays: 0 }, 'attributionWindowDays'],
      ['an unknown visibility', { visibility: 'secret' }, 'visibility'],
      ['a negative cap', { caps: { dailyConversions: -5 } }, 'caps.dailyConversions'],
      ['an unknown cap', { caps: { hourly: 5 } }, 'caps.hourly'],
    ])('refuses %s', async (_label, patch, field) => {
      const before = await t.dataSource.query('SELECT count(*)::int AS n FROM offers');
      const res = await t.http
        .post('/v1/offers')
        .set(auth(advertiser.apiKey))
        .send(offerBody(patch as Record<string, unknown>));
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      const after = await t.dataSource.query('SELECT count(*)::int AS n FROM offers');
      expect(after[0].n).toBe(before[0].n);
    });

    it('refuses an override payout above the flat revenue, and a currency change', async () => {
      const offer = await createOffer(t, advertiser);
      const res = await t.http
        .patch(`/v1/offers/${offer.id}`)
        .set(auth(advertiser.apiKey))
        .send({
          goals: [
            {
              key: 'lead',
              revenue: { type: 'flat', amount: 500 },
              payout: { type: 'flat', amount: 300 },
              overrides: [{ affiliateId: affiliate.id, payout: { type: 'flat', amount: 501 } }],
            },
          ],
        });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_goals');
      const currency = await t.http.patch(`/v1/offers/${offer.id}`).set(auth(advertiser.apiKey)).send({ currency: 'EUR' });
      expect(currency.status).toBe(400);
      const unchanged = await t.http.get(`/v1/offers/${offer.id}`).set(auth(advertiser.apiKey));
      expect(unchanged.body.goals).toHaveLength(2);
      expect(unchanged.body.goals[1].overrides).toEqual([]);
    });

    it('accepts JPY and KWD offers with their own minor units', async () => {
      for (const currency of ['JPY', 'KWD']) {
        const offer = await createOffer(t, advertiser, { currency });
        expect(offer.currency).toBe(currency);
      }
    });
  });
});
