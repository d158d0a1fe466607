import { addUser, signIn, SignedInAgent, uniqueEmail } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createOffer, OfferHandle } from '../support/factories';
import { Cast, click, createCast, createLink, flushClicks } from '../support/tracking.factories';

const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

/** The portal's traffic quality pages: the advertiser's review queue, appeals, the quality report; the affiliate's reasons and appeal form. */
describe('portal: traffic quality', () => {
  let t: TestApp;
  let c: Cast;
  let offer: OfferHandle;
  const people: Record<string, SignedInAgent> = {};
  let n = 0;

  async function heldConversion(headers: Record<string, string> = { 'x-forwarded-for': '5.101.96.50', 'user-agent': 'curl/8.4.0' }): Promise<{ id: string; txnId: string }> {
    const link = await createLink(t, c.affiliate, offer.id);
    const res = await click(t, link.code, {}, headers);
    await flushClicks(t);
    const txnId = `PQ-${++n}-${Date.now().toString(36)}`;
    const conversion = await t.http
      .post('/v1/conversions')
      .set(auth(c.advertiser.apiKey))
      .send({ goal: 'lead', txnId, clickId: new URL(res.headers.location).searchParams.get('cid') });
    expect(conversion.body).toMatchObject({ status: 'pending', hold: 'review' });
    return { id: conversion.body.id, txnId };
  }

  beforeAll(async () => {
    t = await createTestApp();
    c = await createCast(t);
    offer = await createOffer(t, c.advertiser, { lockPeriodDays: 0 });
    for (const [name, principal] of Object.entries({ advertiser: c.advertiser, otherAdvertiser: c.otherAdvertiser, affiliate: c.affiliate, otherAffiliate: c.otherAffiliate })) {
      people[name] = await signIn(t, (await addUser(t, principal.id, uniqueEmail(name), name)).email);
    }
  });
  afterAll(() => t.close());

  it("self_referral fires on a click from an IP the affiliate's portal users sign in from; quiet from another", async () => {
    // The affiliate signed in above from the test's loopback address; this click comes from it too.
    const own = await heldConversion({ 'user-agent': BROWSER });
    const view = (await t.http.get(`/v1/conversions/${own.id}`).set(auth(c.advertiser.apiKey))).body;
    expect(view.risk.reasons).toContainEqual({ code: 'self_referral', detail: 'the click came from an IP the affiliate signs in from' });
    const link = await createLink(t, c.otherAffiliate, offer.id);
    const res = await click(t, link.code, {}, { 'x-forwarded-for': '81.2.69.160', 'user-agent': BROWSER });
    await flushClicks(t);
    const other = await t.http
      .post('/v1/conversions')
      .set(auth(c.advertiser.apiKey))
      .send({ goal: 'lead', txnId: `PQ-other-${Date.now()}`, clickId: new URL(res.headers.location).searchParams.get('cid') });
    expect(other.body.risk.reasons.map((r: { code: string }) => r.code)).not.toContain('self_referral');
  });

  it('the advertiser reviews held conversions by reason and decides them in bulk; others and affiliates cannot', async () => {
    const [a, b] = [await heldConversion(), await heldConversion()];
    const page = await people.advertiser.agent.get('/portal/advertiser/quality?reason=datacenter_ip').expect(200);
    expect(page.text).toContain(a.txnId);
    expect(page.text).toContain('Datacenter ip');
    expect(page.text).toContain('AS14061 DigitalOcean, LLC');
    const filtered = await people.advertiser.agent.get('/portal/advertiser/quality?reason=coupon_leak').expect(200);
    expect(filtered.text).not.toContain(a.txnId);
    expect((await people.otherAdvertiser.agent.get('/portal/advertiser/quality')).text).not.toContain(a.txnId);
    // The portal answers another role's pages as not found.
    expect((await people.affiliate.agent.get('/portal/advertiser/quality')).status).toBe(404);
    expect((await people.advertiser.agent.get('/portal/affiliate/quality')).status).toBe(404);

    // Another advertiser's bulk decision changes nothing.
    await people.otherAdvertiser.agent
      .post('/portal/advertiser/quality/decide')
      .type('form')
      .send({ _csrf: people.otherAdvertiser.csrf, ids: [a.id], decision: 'approve' })
      .expect(303);
    expect((await t.http.get(`/v1/conversions/${a.id}`).set(auth(c.advertiser.apiKey))).body.status).toBe('pending');
    const res = await people.advertiser.agent
      .post('/portal/advertiser/quality/decide')
      .type('form')
      .send({ _csrf: people.advertiser.csrf, ids: [a.id, b.id], decision: 'approve', back: '/portal/advertiser/quality' })
      .expect(303);
    expect(res.headers.location).toBe('/portal/advertiser/quality?decided=2');
    for (const { id } of [a, b]) expect((await t.http.get(`/v1/conversions/${id}`).set(auth(c.advertiser.apiKey))).body).toMatchObject({ status: 'approved', hold: null });
  });

  it('the affiliate sees the reasons and appeals; the advertiser answers the appeal from the review page', async () => {
    const held = await heldConversion();
    const mine = await people.affiliate.agent.get('/portal/affiliate/quality').expect(200);
    expect(mine.text).toContain(held.txnId);
    expect(mine.text).toContain('Bot user agent');
    expect((await people.otherAffiliate.agent.get('/portal/affiliate/quality')).text).not.toContain(held.txnId);

    // Another affiliate's appeal on it is a 404 page; an empty message is refused.
    expect(
      (await people.otherAffiliate.agent.post(`/portal/affiliate/quality/${held.id}/appeal`).type('form').send({ _csrf: people.otherAffiliate.csrf, message: 'mine' })).status,
    ).toBe(404);
    const empty = await people.affiliate.agent.post(`/portal/affiliate/quality/${held.id}/appeal`).type('form').send({ _csrf: people.affiliate.csrf, message: '  ' }).expect(303);
    expect(empty.headers.location).toBe('/portal/affiliate/quality?notice=appeal_invalid');
    await people.affiliate.agent
      .post(`/portal/affiliate/quality/${held.id}/appeal`)
      .type('form')
      .send({ _csrf: people.affiliate.csrf, message: 'A real customer, order 42.' })
      .expect(303);
    expect((await people.affiliate.agent.get('/portal/affiliate/quality')).text).toContain('Appeal open');

    const review = await people.advertiser.agent.get('/portal/advertiser/quality').expect(200);
    expect(review.text).toContain('A real customer, order 42.');
    const [{ id: appealId }] = await t.dataSource.query(`SELECT id FROM conversion_appeals WHERE conversion_id = $1`, [held.id]);
    expect(
      (
        await people.otherAdvertiser.agent
          .post(`/portal/advertiser/quality/appeals/${held.id}/${appealId}`)
          .type('form')
          .send({ _csrf: people.otherAdvertiser.csrf, decision: 'approve' })
      ).status,
    ).toBe(404);
    await people.advertiser.agent
      .post(`/portal/advertiser/quality/appeals/${held.id}/${appealId}`)
      .type('form')
      .send({ _csrf: people.advertiser.csrf, decision: 'approve', message: 'Order 42 found.' })
      .expect(303);
    const view = (await t.http.get(`/v1/conversions/${held.id}`).set(auth(c.affiliate.apiKey))).body;
    expect(view.status).toBe('approved');
    expect(view.events.map((e: { reason: string }) => e.reason)).toContain('appeal approved: Order 42 found.');
  });

  it('the quality report with its chart, for the advertiser and the affiliate, scoped', async () => {
    const adv = await people.advertiser.agent.get('/portal/advertiser/quality/report?groupBy=affiliate').expect(200);
    expect(adv.text).toContain('id="quality-chart"');
    expect(adv.text).toContain('affiliate');
    expect(adv.text).toMatch(/Datacenter ip \d+/);
    const aff = await people.affiliate.agent.get('/portal/affiliate/quality/report?groupBy=country').expect(200);
    expect(aff.text).toContain('NL');
    const other = await people.otherAdvertiser.agent.get('/portal/advertiser/quality/report').expect(200);
    expect(other.text).toContain('No traffic in these days.');
    expect((await people.affiliate.agent.get('/portal/advertiser/quality/report')).status).toBe(404);
  });
});
