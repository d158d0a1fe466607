import { addUser, signIn, SignedInAgent, uniqueEmail } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';

const tiered = {
  key: 'sale',
  revenue: { type: 'percent', bps: 2000 },
  payout: {
    type: 'tiered',
    basis: 'conversions',
    period: 'month',
    tiers: [
      { from: 0, rule: { type: 'percent', bps: 1000 } },
      { from: 2, rule: { type: 'percent', bps: 1200 } },
    ],
  },
};

describe('commission programs in the portal', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let finance: PrincipalHandle;
  let offer: OfferHandle;
  const people: Record<string, SignedInAgent> = {};

  beforeAll(async () => {
    t = await createTestApp({ workers: true });
    [advertiser, affiliate, finance] = await Promise.all([createAdvertiser(t, 'Tiered Shop'), createAffiliate(t), createFinanceUser(t)]);
    offer = await createOffer(t, advertiser, { name: 'Tiered tents', lockPeriodDays: 0, goals: [tiered] });
    const code = `PORTAL${Date.now().toString(36)}`.toUpperCase();
    await t.http.post('/v1/coupons').set(auth(advertiser.apiKey)).send({ offerId: offer.id, affiliateId: affiliate.id, code }).expect(201);
    await t.http
      .post('/v1/conversions')
      .set(auth(advertiser.apiKey))
      .send({ goal: 'sale', txnId: `P-${code}`, coupon: code, saleAmount: 5000 })
      .expect(201);
    await drainQueues(t);
    for (const [name, principal] of Object.entries({ advertiser, affiliate, finance }))
      people[name] = await signIn(t, (await addUser(t, principal.id, uniqueEmail(name), name)).email);
  });
  afterAll(() => t.close());

  it('shows the advertiser its tiers with a preview per tier, and adds a bonus from the form, naming a bad field', async () => {
    const page = await people.advertiser.agent.get('/portal/advertiser/programs').expect(200);
    expect(page.text).toContain('Tiered tents');
    expect(page.text).toContain('in tier 2 (from 2 conversions this month) the affiliate earns $12.00');
    const form = { _csrf: people.advertiser.csrf, offerId: offer.id, name: 'Ten sales', goal: 'sale', metric: 'conversions', threshold: '10', period: 'month', amount: '25.00' };
    const bad = await people.advertiser.agent
      .post('/portal/advertiser/programs/bonuses')
      .type('form')
      .send({ ...form, goal: 'signup' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Names no goal of the offer (sale).');
    await people.advertiser.agent.post('/portal/advertiser/programs/bonuses').type('form').send(form).expect(303);
    const list = await t.http.get(`/v1/offers/${offer.id}/bonuses`).set(auth(advertiser.apiKey)).expect(200);
    expect(list.body.data).toEqual([expect.objectContaining({ name: 'Ten sales', amount: 2500, threshold: 10 })]);
    // Another role's page is not theirs.
    expect((await people.advertiser.agent.get('/portal/affiliate/programs')).status).toBeGreaterThanOrEqual(300);
  });

  it('shows the affiliate its tier, progress to the next and the bonuses on offer', async () => {
    const page = await people.affiliate.agent.get('/portal/affiliate/programs').expect(200);
    expect(page.text).toContain('Tiered tents');
    expect(page.text).toMatch(/tier 2 in 1 conversion\(s\)/);
    expect(page.text).toContain('Ten sales');
  });

  it("edits a goal's recurring months in the offer editor: a number, life, none, and a bad value named", async () => {
    const { agent, csrf } = people.advertiser;
    const form = (recurring: string) => ({
      _csrf: csrf,
      _action: 'save',
      name: 'Renewing boxes',
      landingUrl: 'https://shop.example/boxes?cid={click_id}',
      currency: 'USD',
      status: 'active',
      visibility: 'public',
      attributionWindowDays: '30',
      lockPeriodDays: '0',
      attributionPriority: 'coupon_first',
      minClickToConversionSeconds: '0',
      'goals.0.key': 'sale',
      'goals.0.revenue.type': 'percent',
      'goals.0.revenue.value': '20',
      'goals.0.payout.type': 'percent',
      'goals.0.payout.value': '10',
      'goals.0.recurring': recurring,
    });
    const created = await agent.post('/portal/advertiser/offers').type('form').send(form('12'));
    expect(created.status).toBe(303);
    const id = /\/portal\/advertiser\/offers\/([\w-]+)\?notice=saved/.exec(created.headers.location)?.[1] as string;
    const recurringOf = async () => (await t.http.get(`/v1/offers/${id}`).set(auth(advertiser.apiKey)).expect(200)).body.goals[0].recurring;
    const shown = async () => /id="f-goals-0-recurring"[^>]* value="([^"]*)"/.exec((await agent.get(`/portal/advertiser/offers/${id}`).expect(200)).text)?.[1];
    expect(await recurringOf()).toEqual({ months: 12 });
    expect(await shown()).toBe('12');

    await agent.post(`/portal/advertiser/offers/${id}`).type('form').send(form('life')).expect(303);
    expect(await recurringOf()).toEqual({ months: null });
    expect(await shown()).toBe('life');

    const bad = await agent.post(`/portal/advertiser/offers/${id}`).type('form').send(form('forever'));
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/<small id="f-goals-0-recurring-error" class="field-error">[^<]*months[^<]*<\/small>/);
    const zero = await agent.post(`/portal/advertiser/offers/${id}`).type('form').send(form('0'));
    expect(zero.status).toBe(422);
    expect(zero.text).toContain('id="f-goals-0-recurring-error"');
    expect(await recurringOf()).toEqual({ months: null });

    await agent.post(`/portal/advertiser/offers/${id}`).type('form').send(form('')).expect(303);
    expect(await recurringOf()).toBeNull();
    expect(await shown()).toBe('');
  });

  it('lets finance see prepaid funds and record a top-up', async () => {
    await t.http.patch(`/v1/advertisers/${advertiser.id}`).set(auth(t.adminKey)).send({ billingMode: 'prepaid' }).expect(200);
    const page = await people.finance.agent.get('/portal/finance/funding').expect(200);
    expect(page.text).toContain('Tiered Shop');
    const bad = await people.finance.agent
      .post(`/portal/finance/funding/${advertiser.id}`)
      .type('form')
      .send({ _csrf: people.finance.csrf, amount: '10.00', currency: 'EUR', reference: 'wire' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('has no offer in EUR');
    await people.finance.agent
      .post(`/portal/finance/funding/${advertiser.id}`)
      .type('form')
      .send({ _csrf: people.finance.csrf, amount: '10.00', currency: 'USD', reference: 'wire' })
      .expect(303);
    const funding = await t.http.get(`/v1/advertisers/${advertiser.id}/funding`).set(auth(advertiser.apiKey)).expect(200);
    expect(funding.body.balances).toEqual([{ currency: 'USD', funded: 1000, reserved: 0, spent: 0, available: 1000 }]);
    const own = await people.advertiser.agent.get('/portal/advertiser/programs').expect(200);
    expect(own.text).toContain('Prepaid funds');
    expect((await people.affiliate.agent.get('/portal/finance/funding')).status).toBeGreaterThanOrEqual(300);
  });
});
