import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, createFinanceUser, PrincipalHandle } from '../support/factories';

describe('the queue dashboard at /admin/queues', () => {
  let t: TestApp;
  let others: PrincipalHandle[];

  beforeAll(async () => {
    t = await createTestApp();
    others = await Promise.all([createAdvertiser(t), createAffiliate(t), createFinanceUser(t)]);
  });
  afterAll(() => t.close());

  it('opens for an admin key and lists every queue', async () => {
    const page = await t.http.get('/admin/queues').set(auth(t.adminKey)).expect(200);
    expect(page.text).toContain('<html');
    const api = await t.http.get('/admin/queues/api/queues').set(auth(t.adminKey)).expect(200);
    expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['billing', 'commissions', 'maintenance', 'outbox', 'payouts', 'postbacks']);
  });

  it('refuses every other role and anonymous callers, sending browsers to the sign-in page', async () => {
    for (const p of others) await t.http.get('/admin/queues/api/queues').set(auth(p.apiKey)).expect(401);
    const anonymous = await t.http.get('/admin/queues/api/queues').expect(401);
    expect(anonymous.body.error.code).toBe('unauthorized');
    const browser = await t.http.get('/admin/queues').set('accept', 'text/html').expect(303);
    expect(browser.headers.location).toBe('/admin/login');
  });

  it('signs an admin in with a cookie that dies with the key', async () => {
    const key = (await t.http.post('/v1/api-keys').set(auth(t.adminKey)).send({ label: 'board' }).expect(201)).body;
    const refused = await t.http.post('/admin/login').type('form').send({ key: others[1].apiKey });
    expect(refused.status).toBe(401);
    expect(refused.headers['set-cookie']).toBeUndefined();
    const login = await t.http.post('/admin/login').type('form').send({ key: key.apiKey }).expect(303);
    const cookie = (login.headers['set-cookie'] as unknown as string[])[0];
    expect(cookie).toMatch(/^afx_board=.+; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const session = cookie.split(';')[0];
    await t.http.get('/admin/queues/api/queues').set('cookie', session).expect(200);
    await t.http
      .get('/admin/queues/api/queues')
      .set(
        'cookie',
        session.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      )
      .expect(401);
    await t.http.delete(`/v1/api-keys/${key.id}`).set(auth(t.adminKey)).expect(204);
    await t.http.get('/admin/queues/api/queues').set('cookie', session).expect(401);
  });
});
