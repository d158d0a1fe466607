import request from 'supertest';
import { addUser, csrfOf, PASSWORD, signIn, SignedInAgent, uniqueEmail } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth } from '../support/factories';
import { createCast } from '../support/tracking.factories';

/** Admins turn applications away: in the portal (Partners → Awaiting approval → Reject) and through PATCH /v1/affiliates/:id. */
describe('rejecting an affiliate application', () => {
  let t: TestApp;
  let cast: Awaited<ReturnType<typeof createCast>>;
  let admin: SignedInAgent;
  const people: Record<string, SignedInAgent> = {};

  beforeAll(async () => {
    t = await createTestApp();
    cast = await createCast(t);
    const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
    admin = await signIn(t, (await addUser(t, adminId, uniqueEmail('admin'), 'Ada Admin')).email);
    for (const [name, principal] of Object.entries({ advertiser: cast.advertiser, affiliate: cast.affiliate, finance: cast.finance })) {
      people[name] = await signIn(t, (await addUser(t, principal.id, uniqueEmail(name), name)).email);
    }
  });
  afterAll(() => t.close());

  /** An applicant through /portal/signup, signed in and waiting on /portal/pending. */
  async function applicant(company: string) {
    const browser = request.agent(t.app.getHttpServer());
    const page = await browser.get('/portal/signup').expect(200);
    const email = uniqueEmail('applicant');
    await browser
      .post('/portal/signup')
      .type('form')
      .send({ _csrf: csrfOf(page.text), company, name: 'Applicant', email, password: PASSWORD, timeZone: 'UTC', about: 'coupon site' })
      .expect(303);
    await browser.get('/portal/pending').expect(200);
    const [{ id }] = await t.dataSource.query(`SELECT id FROM principals WHERE lower(email) = lower($1) AND role = 'affiliate'`, [email]);
    return { browser, email, id: id as string };
  }

  it('in the portal: only an admin rejects (with a confirmation and an optional reason); the applicant is signed out and cannot sign in', async () => {
    const { browser, email, id } = await applicant('Coupon Heaven');
    const list = await admin.agent.get('/portal/admin?role=affiliate&status=pending').expect(200);
    expect(list.text).toContain(`href="/portal/admin/principals/${id}#reject"`);
    const page = await admin.agent.get(`/portal/admin/principals/${id}`).expect(200);
    expect(page.text).toContain(`action="/portal/admin/principals/${id}/reject"`);
    expect(page.text).toMatch(/data-confirm="Reject the application of Coupon Heaven\?/);

    for (const role of ['advertiser', 'affiliate', 'finance']) {
      const refused = await people[role].agent.post(`/portal/admin/principals/${id}/reject`).type('form').send({ _csrf: people[role].csrf, reason: 'no' });
      expect(refused.status).toBe(404);
    }
    await request(t.app.getHttpServer()).post(`/portal/admin/principals/${id}/reject`).type('form').send({}).expect(401);
    await admin.agent.post(`/portal/admin/principals/${id}/reject`).type('form').send({ reason: 'no token' }).expect(403);
    await admin.agent.post(`/portal/admin/principals/00000000-0000-4000-8000-000000000000/reject`).type('form').send({ _csrf: admin.csrf }).expect(404);
    await admin.agent.post(`/portal/admin/principals/${cast.advertiser.id}/reject`).type('form').send({ _csrf: admin.csrf }).expect(404);
    expect((await t.dataSource.query(`SELECT status FROM principals WHERE id = $1`, [id]))[0].status).toBe('pending');

    const done = await admin.agent.post(`/portal/admin/principals/${id}/reject`).type('form').send({ _csrf: admin.csrf, reason: '  Incentivised traffic only  ' }).expect(303);
    expect(done.headers.location).toBe(`/portal/admin/principals/${id}?notice=rejected`);
    const [row] = await t.dataSource.query(`SELECT status, metadata FROM principals WHERE id = $1`, [id]);
    expect(row.status).toBe('rejected');
    expect(row.metadata).toMatchObject({ about: 'coupon site', rejection: { reason: 'Incentivised traffic only' } });
    const after = await admin.agent.get(`/portal/admin/principals/${id}?notice=rejected`).expect(200);
    expect(after.text).toContain('Application rejected');
    expect(after.text).toContain('Incentivised traffic only');
    expect(after.text).not.toContain(`/principals/${id}/reject"`);
    expect((await admin.agent.get('/portal/admin?role=affiliate&status=pending').expect(200)).text).not.toContain('Coupon Heaven');
    expect((await admin.agent.get('/portal/admin?role=affiliate&status=rejected').expect(200)).text).toContain('Coupon Heaven');

    // The applicant's open session ends, and the password no longer signs in.
    expect((await browser.get('/portal/pending')).headers.location).toMatch(/^\/portal\/login/);
    const form = await browser.get('/portal/login').expect(200);
    const refused = await browser
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfOf(form.text), email, password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('turned this application down');

    // Rejecting again is harmless; an active affiliate is suspended, not rejected.
    await admin.agent.post(`/portal/admin/principals/${id}/reject`).type('form').send({ _csrf: admin.csrf }).expect(303);
    const active = await admin.agent.post(`/portal/admin/principals/${cast.affiliate.id}/reject`).type('form').send({ _csrf: admin.csrf });
    expect(active.status).toBe(409);
    expect((await t.dataSource.query(`SELECT status FROM principals WHERE id = $1`, [cast.affiliate.id]))[0].status).toBe('active');
  });

  it('through the API: PATCH /v1/affiliates/:id {status: rejected} for admins only; the key then stops working', async () => {
    const signup = await t.http
      .post('/v1/affiliates/signup')
      .send({ name: 'API applicant', email: uniqueEmail('api-applicant') })
      .expect(201);
    const { id, apiKey } = signup.body as { id: string; apiKey: string };
    expect((await t.http.get(`/v1/affiliates/${id}`).set(auth(apiKey))).body.error.code).toBe('account_pending');

    for (const key of [cast.advertiser.apiKey, cast.affiliate.apiKey, cast.finance.apiKey, apiKey]) {
      await t.http.patch(`/v1/affiliates/${id}`).set(auth(key)).send({ status: 'rejected' }).expect(403);
    }
    await t.http.patch(`/v1/affiliates/${id}`).send({ status: 'rejected' }).expect(401);
    const lonely = await t.http.patch(`/v1/affiliates/${id}`).set(auth(t.adminKey)).send({ rejectionReason: 'why' }).expect(400);
    expect(lonely.body.error.details).toEqual([{ field: 'rejectionReason', message: 'only goes with status rejected' }]);
    await t.http.patch(`/v1/affiliates/${id}`).set(auth(t.adminKey)).send({ status: 'gone' }).expect(400);
    await t.http.patch(`/v1/affiliates/${cast.advertiser.id}`).set(auth(t.adminKey)).send({ status: 'rejected' }).expect(404);
    const active = await t.http.patch(`/v1/affiliates/${cast.otherAffiliate.id}`).set(auth(t.adminKey)).send({ status: 'rejected' }).expect(409);
    expect(active.body.error.code).toBe('not_pending');
    expect((await t.dataSource.query(`SELECT status FROM principals WHERE id = $1`, [id]))[0].status).toBe('pending');

    const rejected = await t.http.patch(`/v1/affiliates/${id}`).set(auth(t.adminKey)).send({ status: 'rejected', rejectionReason: 'brand bidding' }).expect(200);
    expect(rejected.body.status).toBe('rejected');
    const refused = await t.http.get(`/v1/affiliates/${id}`).set(auth(apiKey)).expect(403);
    expect(refused.body.error.code).toBe('account_rejected');
    const listed = await t.http.get('/v1/affiliates?status=rejected').set(auth(t.adminKey)).expect(200);
    expect((listed.body.data as { id: string }[]).map((a) => a.id)).toContain(id);

    // An admin who changes their mind approves after all: the key works from then on.
    await t.http.patch(`/v1/affiliates/${id}`).set(auth(t.adminKey)).send({ status: 'active' }).expect(200);
    await t.http.get(`/v1/affiliates/${id}`).set(auth(apiKey)).expect(200);
  });
});
