import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createOffer, offerBody, PrincipalHandle } from '../support/factories';

const MIN = 60_000;
const HOUR = 60 * MIN;
const tiers = (second: number) => [
  { from: 0, rule: { type: 'flat', amount: 100 } },
  { from: second, rule: { type: 'flat', amount: 200 } },
];
const tieredGoal = { key: 'sale', revenue: { type: 'flat', amount: 500 }, payout: { type: 'tiered', basis: 'conversions', period: 'month', tiers: tiers(2) } };

describe('commission programs: tiered rules', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let txn = 0;
  const nextTxn = () => `TIER-${Date.now().toString(36)}-${++txn}`;

  beforeAll(async () => {
    t = await createTestApp();
    [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
  });
  afterAll(() => t.close());

  async function coupon(offerId: string, aff: PrincipalHandle): Promise<string> {
    const code = `TIER${Date.now().toString(36)}${++txn}`.toUpperCase();
    await t.http.post('/v1/coupons').set(auth(advertiser.apiKey)).send({ offerId, affiliateId: aff.id, code }).expect(201);
    return code;
  }

  async function convert(code: string, at: Date, extra: Record<string, unknown> = {}) {
    const res = await t.http
      .post('/v1/conversions')
      .set(auth(advertiser.apiKey))
      .send({ goal: 'sale', txnId: nextTxn(), coupon: code, occurredAt: at.toISOString(), ...extra });
    expect(res.status).toBe(201);
    const view = await t.http.get(`/v1/conversions/${res.body.id}`).set(auth(t.adminKey)).expect(200);
    return view.body;
  }

  /** The first instant of the current month in `zone`. */
  async function monthStart(zone: string): Promise<Date> {
    const [row] = await t.dataSource.query(`SELECT date_trunc('month', now(), $1) AS at`, [zone]);
    return new Date(row.at);
  }

  it('chooses the tier by the conversions of the calendar month in the offer time zone, before this one', async () => {
    const offer = await createOffer(t, advertiser, { timezone: 'America/New_York', attributionWindowDays: 90, goals: [tieredGoal] });
    const code = await coupon(offer.id, affiliate);
    const m = await monthStart('America/New_York');
    // Half an hour before midnight in New York is already the new month in UTC: the offer's zone decides.
    const a = await convert(code, new Date(m.getTime() - 4 * HOUR));
    const b = await convert(code, new Date(m.getTime() - 3 * HOUR));
    const c = await convert(code, new Date(m.getTime() - 30 * MIN));
    const d = await convert(code, new Date(Math.min(m.getTime() + 10 * MIN, Date.now())));
    expect([a, b, c, d].map((x) => x.payout)).toEqual([100, 100, 200, 100]);
    expect(c.payoutRule).toEqual({ ...tieredGoal.payout, tier: { number: 2, from: 2, volume: 2, rule: { type: 'flat', amount: 200 } } });
    expect(d.payoutRule.tier).toEqual({ number: 1, from: 0, volume: 0, rule: { type: 'flat', amount: 100 } });
    expect(a.revenueRule).toEqual({ type: 'flat', amount: 500 });

    // The same instants under a UTC offer: c falls in the new month and stays in tier 1.
    const utc = await createOffer(t, advertiser, { attributionWindowDays: 90, goals: [tieredGoal] });
    const utcCode = await coupon(utc.id, affiliate);
    const mu = await monthStart('UTC');
    if (m.getTime() - 4 * HOUR > mu.getTime()) {
      const [x, y, z] = [
        await convert(utcCode, new Date(m.getTime() - 4 * HOUR)),
        await convert(utcCode, new Date(m.getTime() - 3 * HOUR)),
        await convert(utcCode, new Date(m.getTime() - 30 * MIN)),
      ];
      expect([x.payout, y.payout, z.payout]).toEqual([100, 100, 200]);
    }
  });

  it('leaves rejected and reversed conversions, and later ones, out of the count', async () => {
    const offer = await createOffer(t, advertiser, { lockPeriodDays: 0, attributionWindowDays: 90, goals: [tieredGoal] });
    const code = await coupon(offer.id, affiliate);
    const start = Math.max((await monthStart('UTC')).getTime(), Date.now() - 3 * HOUR);
    const later = await convert(code, new Date(Date.now() - MIN));
    const first = await convert(code, new Date(start + MIN));
    const second = await convert(code, new Date(start + 2 * MIN));
    await t.http.post(`/v1/conversions/${second.id}/reverse`).set(auth(advertiser.apiKey)).send({ reason: 'refund' }).expect(200);
    // `later` happened after this one: not before it. `second` is reversed. One counts: tier 1.
    const third = await convert(code, new Date(start + 3 * MIN));
    expect([later.payout, first.payout, second.payout, third.payout]).toEqual([100, 100, 100, 100]);
    expect(third.payoutRule.tier).toMatchObject({ number: 1, volume: 1 });
    const fourth = await convert(code, new Date(start + 4 * MIN));
    expect(fourth.payoutRule.tier).toMatchObject({ number: 2, volume: 2 });
    expect(fourth.payout).toBe(200);
  });

  it('tiers by sale amount, with percent tiers, on revenue and payout alike, per affiliate', async () => {
    const goal = {
      key: 'sale',
      revenue: {
        type: 'tiered',
        basis: 'saleAmount',
        period: 'month',
        tiers: [
          { from: 0, rule: { type: 'percent', bps: 2000 } },
          { from: 10_000, rule: { type: 'percent', bps: 2500 } },
        ],
      },
      payout: {
        type: 'tiered',
        basis: 'saleAmount',
        period: 'month',
        tiers: [
          { from: 0, rule: { type: 'percent', bps: 1000 } },
          { from: 10_000, rule: { type: 'percent', bps: 1250 } },
        ],
      },
    };
    const offer = await createOffer(t, advertiser, { goals: [goal] });
    const other = await createAffiliate(t);
    const [code, otherCode] = [await coupon(offer.id, affiliate), await coupon(offer.id, other)];
    const now = Date.now();
    const one = await convert(code, new Date(now - 3 * MIN), { saleAmount: 9_999, currency: 'USD' });
    const two = await convert(code, new Date(now - 2 * MIN), { saleAmount: 4_999, currency: 'USD' });
    const three = await convert(code, new Date(now - MIN), { saleAmount: 4_999, currency: 'USD' });
    const elsewhere = await convert(otherCode, new Date(now), { saleAmount: 4_999, currency: 'USD' });
    expect([one.revenue, one.payout, two.revenue, two.payout]).toEqual([2000, 1000, 1000, 500]);
    // 14 998 sold before: tier 2, 12.5% of 49.99 = 624.875 → 625; 25% → 1249.75 → 1250.
    expect([three.revenue, three.payout, three.rounding]).toEqual([1250, 625, { revenue: 'half_up', payout: 'half_up' }]);
    expect(three.payoutRule.tier).toEqual({ number: 2, from: 10_000, volume: 14_998, rule: { type: 'percent', bps: 1250 } });
    expect(elsewhere.payout).toBe(500);
    // The advertiser sees the revenue rule with its tier, never the payout.
    const seen = await t.http.get(`/v1/conversions/${three.id}`).set(auth(advertiser.apiKey)).expect(200);
    expect(seen.body.revenueRule.tier.number).toBe(2);
    expect(seen.body.payoutRule).toBeUndefined();
    const mine = await t.http.get(`/v1/conversions/${three.id}`).set(auth(affiliate.apiKey)).expect(200);
    expect(mine.body.payoutRule.tier.number).toBe(2);
    await t.http.get(`/v1/conversions/${three.id}`).set(auth(other.apiKey)).expect(404);
  });

  it('shows the rule on the offer and refuses bad tiers with the field named, writing nothing', async () => {
    const offer = await createOffer(t, advertiser, { goals: [tieredGoal] });
    const view = await t.http.get(`/v1/offers/${offer.id}`).set(auth(advertiser.apiKey)).expect(200);
    expect(view.body.goals[0].payout).toEqual(tieredGoal.payout);
    const count = async () => Number((await t.dataSource.query(`SELECT count(*) FROM offers`))[0].count);
    const before = await count();
    const bad = async (payout: Record<string, unknown>, field: string, message: RegExp) => {
      const res = await t.http
        .post('/v1/offers')
        .set(auth(advertiser.apiKey))
        .send(offerBody({ goals: [{ ...tieredGoal, payout: { type: 'tiered', basis: 'conversions', period: 'month', ...payout } }] }));
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field, message: expect.stringMatching(message) })]));
    };
    await bad(
      {
        tiers: [
          { from: 0, rule: { type: 'flat', amount: 1 } },
          { from: 0, rule: { type: 'flat', amount: 2 } },
        ],
      },
      'goals.0.payout.tiers',
      /tiers\.1\.from must be greater/,
    );
    await bad(
      {
        tiers: [
          { from: 0, rule: { type: 'flat', amount: 1 } },
          { from: 9, rule: { type: 'flat', amount: 2 } },
          { from: 5, rule: { type: 'flat', amount: 2 } },
        ],
      },
      'goals.0.payout.tiers',
      /tiers\.2\.from/,
    );
    await bad({ tiers: [{ from: 3, rule: { type: 'flat', amount: 1 } }] }, 'goals.0.payout.tiers', /tiers\.0\.from must be 0/);
    await bad(
      {
        tiers: [
          { from: 0, rule: { type: 'flat', amount: 1 } },
          { from: -5, rule: { type: 'flat', amount: 2 } },
        ],
      },
      'goals.0.payout.tiers.1.from',
      /not be less than 0/,
    );
    await bad({ tiers: [{ from: 0, rule: { type: 'tiered' } }] }, 'goals.0.payout.tiers.0.rule.type', /flat or percent/);
    await bad({ tiers: [] }, 'goals.0.payout.tiers', /at least 1/);
    await bad({ basis: 'clicks', tiers: tiers(2) }, 'goals.0.payout.basis', /basis/);
    await bad({ amount: 5, tiers: tiers(2) }, 'goals.0.payout.amount', /flat rules only/);
    expect(await count()).toBe(before);
  });
});
