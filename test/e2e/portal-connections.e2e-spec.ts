import { addUser, signIn, SignedInAgent, uniqueEmail } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';

describe('portal: Stripe connection and webhook endpoints', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let offer: OfferHandle;
  const people: Record<string, SignedInAgent> = {};

  beforeAll(async () => {
    t = await createTestApp();
    [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
    const other = await createAffiliate(t, 'other');
    const finance = await createFinanceUser(t);
    offer = await createOffer(t, advertiser);
    for (const [name, principal] of Object.entries({ advertiser, affiliate, other, finance })) {
      people[name] = await signIn(t, (await addUser(t, principal.id, uniqueEmail(name), name)).email);
    }
  });
  afterAll(() => t.close());

  it('shows an advertiser the endpoint to paste and connects its Stripe account from the form', async () => {
    const { agent, csrf } = people.advertiser;
    const page = await agent.get('/portal/advertiser/stripe').expect(200);
    expect(page.text).toContain(`http://afflux.test/webhooks/advertisers/${advertiser.id}/stripe`);
    expect(page.text).toContain('checkout.session.completed');

    const bad = await agent.post('/portal/advertiser/stripe').type('form').send({ _csrf: csrf, offerId: offer.id, goal: 'sale', webhookSecret: 'nope' }).expect(422);
    expect(bad.text).toContain('Must be a Stripe webhook signing secret (whsec_…).');
    await agent.post('/portal/advertiser/stripe').type('form').send({ _csrf: csrf, offerId: offer.id, goal: 'sale', webhookSecret: 'whsec_portal_0123456789' }).expect(303);
    const api = await t.http.get('/v1/integrations/stripe').set(auth(advertiser.apiKey)).expect(200);
    expect(api.body).toMatchObject({ offerId: offer.id, goal: 'sale' });
    expect((await agent.get('/portal/advertiser/stripe').expect(200)).text).toContain('Connected');
  });

  it('is not a page for affiliates or finance', async () => {
    for (const who of ['affiliate', 'finance']) expect((await people[who].agent.get('/portal/advertiser/stripe')).status).toBe(404);
    expect((await people.finance.agent.get('/portal/webhooks')).status).toBe(404);
  });

  it('lets an affiliate add an endpoint (secret shown once), read its deliveries and delete it; another affiliate gets 404', async () => {
    const { agent, csrf } = people.affiliate;
    const form = await agent.get('/portal/webhooks').expect(200);
    expect(form.text).toContain('payout.paid');
    expect(form.text).not.toContain('invoice.issued');

    const refused = await agent.post('/portal/webhooks').type('form').send({ _csrf: csrf, url: 'https://hooks.example/aff' }).expect(422);
    expect(refused.text).toContain('events');
    const created = await agent
      .post('/portal/webhooks')
      .type('form')
      .send({ _csrf: csrf, url: 'https://hooks.example/aff', events: ['conversion.created', 'payout.paid'] })
      .expect(201);
    const [endpoint] = (await t.http.get('/v1/webhook-endpoints').set(auth(affiliate.apiKey)).expect(200)).body.data;
    expect(endpoint).toMatchObject({ url: 'https://hooks.example/aff', events: ['conversion.created', 'payout.paid'] });
    expect(created.text).toMatch(/whsec_[\w-]+/);
    expect((await agent.get('/portal/webhooks').expect(200)).text).not.toMatch(/whsec_[\w-]+/);

    const log = await agent.get(`/portal/webhooks/${endpoint.id}`).expect(200);
    expect(log.text).toContain('Nothing sent to this endpoint yet');
    expect((await people.other.agent.get(`/portal/webhooks/${endpoint.id}`)).status).toBe(404);
    expect((await people.other.agent.post(`/portal/webhooks/${endpoint.id}/delete`).type('form').send({ _csrf: people.other.csrf })).status).toBe(404);

    await agent.post(`/portal/webhooks/${endpoint.id}/delete`).type('form').send({ _csrf: csrf }).expect(303);
    expect((await t.http.get('/v1/webhook-endpoints').set(auth(affiliate.apiKey)).expect(200)).body.data).toEqual([]);
  });
});
