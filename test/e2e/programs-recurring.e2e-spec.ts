import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createOffer, offerBody, PrincipalHandle } from '../support/factories';

const DAY = 86_400_000;
const subscription = (recurring: unknown) => ({ key: 'sub', recurring, revenue: { type: 'flat', amount: 1000 }, payout: { type: 'flat', amount: 400 } });

describe('commission programs: recurring commissions', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let otherAdvertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let n = 0;
  const unique = (label: string) => `${label}-${Date.now().toString(36)}-${++n}`;

  beforeAll(async () => {
    t = await createTestApp();
    [advertiser, otherAdvertiser, affiliate] = await Promise.all([createAdvertiser(t), createAdvertiser(t), createAffiliate(t)]);
  });
  afterAll(() => t.close());

  async function coupon(adv: PrincipalHandle, offerId: string): Promise<string> {
    const code = unique('SUB').replace(/-/g, '').toUpperCase();
    await t.http.post('/v1/coupons').set(auth(adv.apiKey)).send({ offerId, affiliateId: affiliate.id, code }).expect(201);
    return code;
  }

  async function convert(adv: PrincipalHandle, body: Record<string, unknown>) {
    const res = await t.http
      .post('/v1/conversions')
      .set(auth(adv.apiKey))
      .send({ goal: 'sub', txnId: unique('inv'), ...body });
    expect(res.status).toBe(201);
    return (await t.http.get(`/v1/conversions/${res.body.id}`).set(auth(t.adminKey)).expect(200)).body;
  }

  it("credits a renewal carrying only the customer id to the affiliate of the customer's first conversion, by API and postback", async () => {
    const offer = await createOffer(t, advertiser, { lockPeriodDays: 0, goals: [subscription({ months: 12 })] });
    const customerId = unique('cus');
    const first = await convert(advertiser, { coupon: await coupon(advertiser, offer.id), customerId });
    expect(first).toMatchObject({ attributedBy: 'coupon', affiliateId: affiliate.id, customerId });
    const renewal = await convert(advertiser, { customerId });
    expect(renewal).toMatchObject({ attributedBy: 'customer', affiliateId: affiliate.id, offerId: offer.id, customerId, payout: 400, revenue: 1000, status: 'approved' });
    const byPostback = await t.http.get('/postback').query({ token: advertiser.postbackToken, goal: 'sub', txn_id: unique('inv'), customer_id: customerId });
    expect(byPostback.status).toBe(201);
    const view = await t.http.get(`/v1/conversions/${byPostback.body.id}`).set(auth(affiliate.apiKey)).expect(200);
    expect(view.body).toMatchObject({ attributedBy: 'customer', affiliateId: affiliate.id, payout: 400 });
    // The offer shows the goal's recurrence.
    const shown = await t.http.get(`/v1/offers/${offer.id}`).set(auth(affiliate.apiKey)).expect(200);
    expect(shown.body.goals[0].recurring).toEqual({ months: 12 });
    // Goals sent without `recurring` (an editor that does not show it) keep it; null ends it.
    const keep = { key: 'sub', revenue: { type: 'flat', amount: 1000 }, payout: { type: 'flat', amount: 400 } };
    await t.http
      .patch(`/v1/offers/${offer.id}`)
      .set(auth(advertiser.apiKey))
      .send({ goals: [keep] })
      .expect(200);
    expect((await t.http.get(`/v1/offers/${offer.id}`).set(auth(advertiser.apiKey))).body.goals[0].recurring).toEqual({ months: 12 });
    await t.http
      .patch(`/v1/offers/${offer.id}`)
      .set(auth(advertiser.apiKey))
      .send({ goals: [{ ...keep, recurring: null }] })
      .expect(200);
    expect((await t.http.get(`/v1/offers/${offer.id}`).set(auth(advertiser.apiKey))).body.goals[0].recurring).toBeNull();
  });

  it('does not credit a renewal after the window, credits one for life, and never another advertiser’s customer', async () => {
    const windowed = await createOffer(t, advertiser, { lockPeriodDays: 0, attributionWindowDays: 120, goals: [subscription({ months: 2 })] });
    const late = unique('cus');
    await convert(advertiser, { coupon: await coupon(advertiser, windowed.id), customerId: late, occurredAt: new Date(Date.now() - 70 * DAY).toISOString() });
    const inside = await convert(advertiser, { customerId: late, occurredAt: new Date(Date.now() - 40 * DAY).toISOString() });
    expect(inside).toMatchObject({ attributedBy: 'customer', affiliateId: affiliate.id });
    const after = await convert(advertiser, { customerId: late });
    expect(after).toMatchObject({ status: 'unattributed', reason: 'customer_outside_window', affiliateId: null, attributedBy: null, payout: 0 });

    const forLife = await createOffer(t, advertiser, { lockPeriodDays: 0, attributionWindowDays: 120, goals: [subscription({ months: null })] });
    const loyal = unique('cus');
    await convert(advertiser, { coupon: await coupon(advertiser, forLife.id), customerId: loyal, occurredAt: new Date(Date.now() - 100 * DAY).toISOString() });
    expect(await convert(advertiser, { customerId: loyal })).toMatchObject({ attributedBy: 'customer', affiliateId: affiliate.id, offerId: forLife.id });

    // The same customer id at another advertiser is another customer.
    const theirs = await createOffer(t, otherAdvertiser, { lockPeriodDays: 0, goals: [subscription({ months: null })] });
    expect(theirs.id).toBeTruthy();
    expect(await convert(otherAdvertiser, { customerId: loyal })).toMatchObject({ status: 'unattributed', reason: 'no_click_or_coupon' });
  });

  it('leaves a goal without recurring alone, and a click or coupon still decides', async () => {
    const plain = await createOffer(t, advertiser, { lockPeriodDays: 0, goals: [subscription(null)] });
    const customerId = unique('cus');
    await convert(advertiser, { coupon: await coupon(advertiser, plain.id), customerId });
    expect(await convert(advertiser, { customerId })).toMatchObject({ status: 'unattributed', reason: 'no_click_or_coupon' });
    const recurring = await createOffer(t, advertiser, { lockPeriodDays: 0, goals: [subscription({ months: 12 })] });
    const other = await createAffiliate(t);
    const theirCode = unique('SUB').replace(/-/g, '').toUpperCase();
    await t.http.post('/v1/coupons').set(auth(advertiser.apiKey)).send({ offerId: recurring.id, affiliateId: other.id, code: theirCode }).expect(201);
    await convert(advertiser, { coupon: await coupon(advertiser, recurring.id), customerId });
    expect(await convert(advertiser, { coupon: theirCode, customerId })).toMatchObject({ attributedBy: 'coupon', affiliateId: other.id });
    expect(await convert(advertiser, { customerId })).toMatchObject({ attributedBy: 'customer', affiliateId: affiliate.id });
  });

  it('refuses a bad recurrence with the field named, writing nothing', async () => {
    for (const [recurring, field] of [
      [{ months: 0 }, 'goals.0.recurring.months'],
      [{ months: 2.5 }, 'goals.0.recurring.months'],
      [{}, 'goals.0.recurring.months'],
      [{ months: 3, forever: true }, 'goals.0.recurring.forever'],
    ] as const) {
      const res = await t.http
        .post('/v1/offers')
        .set(auth(advertiser.apiKey))
        .send(offerBody({ goals: [subscription(recurring)] }));
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
  });
});
