import request from 'supertest';
import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import { addUser, csrfOf, PASSWORD, signIn, SignedInAgent, uniqueEmail } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createFinanceUser, createOffer, PrincipalHandle } from '../support/factories';
import { createCast, createLink } from '../support/tracking.factories';

const isNotFoundPage = (res: request.Response) => {
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.text).toContain('Page not found');
};

describe('the web portal', () => {
  let t: TestApp;
  let cast: Awaited<ReturnType<typeof createCast>>;
  let admin: SignedInAgent;
  let adminUser: { email: string };
  const people: Record<string, SignedInAgent> = {};

  beforeAll(async () => {
    t = await createTestApp({ workers: true });
    cast = await createCast(t);
    const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
    adminUser = await addUser(t, adminId, uniqueEmail('admin'), 'Ada Admin');
    admin = await signIn(t, adminUser.email);
    for (const [name, principal] of Object.entries({
      advertiser: cast.advertiser,
      otherAdvertiser: cast.otherAdvertiser,
      affiliate: cast.affiliate,
      otherAffiliate: cast.otherAffiliate,
      finance: cast.finance,
    })) {
      people[name] = await signIn(t, (await addUser(t, principal.id, uniqueEmail(name), name)).email);
    }
  });
  afterAll(() => t.close());

  describe('sessions', () => {
    it('sets an httpOnly, SameSite=Lax session cookie scoped to /portal (Secure only behind https)', async () => {
      const { email } = await addUser(t, cast.affiliate.id);
      const agent = request.agent(t.app.getHttpServer());
      const form = await agent.get('/portal/login').expect(200);
      const res = await agent
        .post('/portal/login')
        .type('form')
        .send({ _csrf: csrfOf(form.text), email, password: PASSWORD })
        .expect(303);
      const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('afx_session='));
      expect(cookie).toMatch(/^afx_session=[\w-]{43}; Path=\/portal; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM portal_sessions WHERE token_hash = sha256($1::bytea)`, [Buffer.from(cookie!.split(/[=;]/)[1])]);
      expect(n).toBe(1);
    });

    it('sends people who are not signed in to the sign-in page, and back afterwards', async () => {
      const res = await t.http.get('/portal/affiliate/conversions?status=pending').expect(303);
      expect(res.headers.location).toBe(`/portal/login?next=${encodeURIComponent('/portal/affiliate/conversions?status=pending')}`);
      await t.http
        .get('/portal/login?next=https://evil.example')
        .expect(200)
        .expect((r) => expect(r.text).toContain('name="next" value=""'));
    });

    it('signs out everywhere: every session of the person ends', async () => {
      const { email } = await addUser(t, cast.advertiser.id);
      const [first, second] = [await signIn(t, email), await signIn(t, email)];
      await second.agent.get('/portal/advertiser').expect(200);
      await first.agent.post('/portal/logout-everywhere').type('form').send({ _csrf: first.csrf }).expect(303);
      for (const s of [first, second]) expect((await s.agent.get('/portal/advertiser')).headers.location).toMatch(/^\/portal\/login/);
    });

    it('signs out one browser only with sign-out', async () => {
      const { email } = await addUser(t, cast.advertiser.id);
      const [first, second] = [await signIn(t, email), await signIn(t, email)];
      await first.agent.post('/portal/logout').type('form').send({ _csrf: first.csrf }).expect(303);
      expect((await first.agent.get('/portal/advertiser')).status).toBe(303);
      await second.agent.get('/portal/advertiser').expect(200);
    });
  });

  describe('CSRF', () => {
    it('refuses every signed-in form without the session token, with a page, and accepts the htmx header', async () => {
      const { agent, csrf } = people.affiliate;
      const forms = [
        '/portal/affiliate/links',
        '/portal/affiliate/coupons',
        '/portal/affiliate/postbacks',
        '/portal/affiliate/postbacks/test',
        '/portal/api-keys',
        '/portal/settings',
        '/portal/logout',
        '/portal/logout-everywhere',
      ];
      for (const path of forms) {
        for (const token of [undefined, 'x'.repeat(43), people.otherAffiliate.csrf]) {
          const res = await agent
            .post(path)
            .type('form')
            .send(token ? { _csrf: token } : {});
          expect([path, res.status]).toEqual([path, 403]);
          expect(res.headers['content-type']).toMatch(/^text\/html/);
          expect(res.text).toContain('This form has expired');
        }
      }
      const viaHeader = await agent.post('/portal/api-keys').set('x-csrf-token', csrf).type('form').send({ label: 'from htmx' });
      expect(viaHeader.status).toBe(201);
      await people.advertiser.agent.post(`/portal/advertiser/offers`).type('form').send({ name: 'x' }).expect(403);
      await people.finance.agent.post('/portal/finance/payout-runs').type('form').send({ currency: 'USD', dryRun: 'true' }).expect(403);
      await admin.agent.post('/portal/admin/principals').type('form').send({ role: 'advertiser', name: 'x', email: 'x@example.test' }).expect(403);
    });

    it('refuses the anonymous forms without their double-submit token', async () => {
      await t.http.post('/portal/login').type('form').send({ email: adminUser.email, password: PASSWORD }).expect(403);
      await t.http.post('/portal/signup').type('form').send({ company: 'x' }).expect(403);
      const page = await t.http.get('/portal/login');
      const token = csrfOf(page.text);
      // The token of the form without its cookie (another browser's) is refused too.
      await t.http.post('/portal/login').type('form').send({ _csrf: token, email: adminUser.email, password: PASSWORD }).expect(403);
    });
  });

  describe('sign-in', () => {
    it('is rate-limited per email: after 5 failures even the right password waits', async () => {
      const { email } = await addUser(t, cast.finance.id);
      const agent = request.agent(t.app.getHttpServer());
      const token = csrfOf((await agent.get('/portal/login')).text);
      for (let i = 0; i < 5; i++) {
        const res = await agent.post('/portal/login').type('form').send({ _csrf: token, email, password: 'wrong password!' }).expect(401);
        expect(res.text).toContain('do not match');
        expect(res.text).toContain(`value="${email}"`);
      }
      const blocked = await agent.post('/portal/login').type('form').send({ _csrf: token, email, password: PASSWORD }).expect(429);
      expect(blocked.text).toMatch(/Too many failed sign-ins\. Try again in 1[45] minutes/);
      // Another account from the same address still signs in (the address allows more).
      await agent.post('/portal/login').type('form').send({ _csrf: token, email: adminUser.email, password: PASSWORD }).expect(303);
    });

    it('is rate-limited per address across emails', async () => {
      const agent = request.agent(t.app.getHttpServer());
      const token = csrfOf((await agent.get('/portal/login')).text);
      const from = { 'x-forwarded-for': '203.0.113.77' };
      for (let i = 0; i < 20; i++)
        await agent
          .post('/portal/login')
          .set(from)
          .type('form')
          .send({ _csrf: token, email: `nobody${i}@example.test`, password: 'nope nope nope' })
          .expect(401);
      await agent.post('/portal/login').set(from).type('form').send({ _csrf: token, email: adminUser.email, password: PASSWORD }).expect(429);
      await agent.post('/portal/login').set({ 'x-forwarded-for': '203.0.113.78' }).type('form').send({ _csrf: token, email: adminUser.email, password: PASSWORD }).expect(303);
    });
  });

  describe('invitations', () => {
    it('are one-time links', async () => {
      const res = await admin.agent
        .post(`/portal/admin/principals/${cast.advertiser.id}/invite`)
        .type('form')
        .send({ _csrf: admin.csrf, email: uniqueEmail('invitee') })
        .expect(201);
      const link = /id="invite-link" value="([^"]+)"/.exec(res.text)![1];
      const path = new URL(link).pathname;
      const browser = request.agent(t.app.getHttpServer());
      const page = await browser.get(path).expect(200);
      expect(page.text).toContain(`Join ${''}`);
      await browser
        .post(path)
        .type('form')
        .send({ _csrf: csrfOf(page.text), name: 'Ivy Invitee', password: 'short', timeZone: 'Europe/Berlin' })
        .expect(422);
      const accepted = await browser
        .post(path)
        .type('form')
        .send({ _csrf: csrfOf(page.text), name: 'Ivy Invitee', password: PASSWORD, timeZone: 'Europe/Berlin' })
        .expect(303);
      expect(accepted.headers.location).toBe('/portal?notice=welcome');
      await browser.get('/portal/advertiser').expect(200);
      const again = await request.agent(t.app.getHttpServer()).get(path).expect(404);
      expect(again.text).toContain('already used or has expired');
      const reuse = request.agent(t.app.getHttpServer());
      const token = csrfOf((await reuse.get('/portal/login')).text);
      await reuse.post(path).type('form').send({ _csrf: token, name: 'Mallory', password: PASSWORD, timeZone: 'UTC' }).expect(404);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM portal_users WHERE name = 'Mallory'`);
      expect(n).toBe(0);
    });
  });

  describe('API keys from the portal', () => {
    it('are keys of the person’s own principal, with its reach and no more', async () => {
      const roles = { advertiser: ['afx_adv_', cast.advertiser.id], affiliate: ['afx_aff_', cast.affiliate.id], finance: ['afx_fin_', cast.finance.id] } as const;
      for (const [name, [prefix, principalId]] of Object.entries(roles)) {
        const { agent, csrf } = people[name];
        const res = await agent
          .post('/portal/api-keys')
          .type('form')
          .send({ _csrf: csrf, label: `${name} script` })
          .expect(201);
        const key = /id="new-key" value="([^"]+)"/.exec(res.text)![1];
        expect(key.startsWith(prefix)).toBe(true);
        expect((await t.http.get('/v1/me').set(auth(key)).expect(200)).body.id).toBe(principalId);
        await t.http.post('/v1/api-keys').set(auth(key)).send({ principalId: cast.otherAdvertiser.id }).expect(403);
      }
    });
  });

  describe('revoking invitations', () => {
    it('lets an admin revoke an open invitation from the partner page; the link then answers 410', async () => {
      const email = uniqueEmail('revokee');
      const res = await admin.agent.post(`/portal/admin/principals/${cast.advertiser.id}/invite`).type('form').send({ _csrf: admin.csrf, email }).expect(201);
      const path = new URL(/id="invite-link" value="([^"]+)"/.exec(res.text)![1]).pathname;
      const [{ id }] = await t.dataSource.query(`SELECT id FROM portal_invites WHERE email = $1`, [email]);
      const action = `/portal/admin/invites/${id}/revoke`;
      const page = await admin.agent.get(`/portal/admin/principals/${cast.advertiser.id}`).expect(200);
      expect(page.text).toContain(`action="${action}"`);
      const browser = request.agent(t.app.getHttpServer());
      const form = await browser.get(path).expect(200);

      // Nobody but an admin may, and ids that name no open invitation are a 404 page.
      for (const person of Object.values(people)) isNotFoundPage(await person.agent.post(action).type('form').send({ _csrf: person.csrf }));
      isNotFoundPage(await admin.agent.post('/portal/admin/invites/00000000-0000-4000-8000-000000000000/revoke').type('form').send({ _csrf: admin.csrf }));
      isNotFoundPage(await admin.agent.post('/portal/admin/invites/not-an-id/revoke').type('form').send({ _csrf: admin.csrf }));
      await admin.agent.post(action).type('form').send({}).expect(403);

      const revoked = await admin.agent.post(action).type('form').send({ _csrf: admin.csrf }).expect(303);
      expect(revoked.headers.location).toBe(`/portal/admin/principals/${cast.advertiser.id}?notice=invite_revoked`);
      expect((await admin.agent.get(revoked.headers.location).expect(200)).text).not.toContain(`action="${action}"`);
      const gone = await request.agent(t.app.getHttpServer()).get(path).expect(410);
      expect(gone.headers['content-type']).toMatch(/^text\/html/);
      expect(gone.text).toContain('This invitation was revoked');
      const accept = await browser
        .post(path)
        .type('form')
        .send({ _csrf: csrfOf(form.text), name: 'Rex Revoked', password: PASSWORD, timeZone: 'UTC' })
        .expect(410);
      expect(accept.text).toContain('This invitation was revoked');
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM portal_users WHERE lower(email) = lower($1)`, [email]);
      expect(n).toBe(0);
      isNotFoundPage(await admin.agent.post(action).type('form').send({ _csrf: admin.csrf }));
    });

    it('cannot revoke an invitation that was already accepted', async () => {
      const email = uniqueEmail('accepted');
      await addUser(t, cast.affiliate.id, email);
      const [{ id }] = await t.dataSource.query(`SELECT id FROM portal_invites WHERE email = $1`, [email]);
      isNotFoundPage(await admin.agent.post(`/portal/admin/invites/${id}/revoke`).type('form').send({ _csrf: admin.csrf }));
      await signIn(t, email);
    });
  });

  describe('affiliate sign-up', () => {
    it('creates a pending affiliate that waits on its own page until an admin approves it', async () => {
      const browser = request.agent(t.app.getHttpServer());
      const page = await browser.get('/portal/signup').expect(200);
      const email = uniqueEmail('newcomer');
      const bad = await browser
        .post('/portal/signup')
        .type('form')
        .send({ _csrf: csrfOf(page.text), company: 'Trail Blog', name: 'Tess', email, password: 'short', timeZone: 'UTC' })
        .expect(422);
      expect(bad.text).toContain('value="Trail Blog"');
      expect(bad.text).toMatch(/name="password" required aria-invalid="true"/);
      await browser
        .post('/portal/signup')
        .type('form')
        .send({ _csrf: csrfOf(page.text), company: 'Trail Blog', name: 'Tess', email, password: PASSWORD, timeZone: 'UTC', about: 'hiking blog' })
        .expect(303);
      expect((await browser.get('/portal/affiliate/links')).headers.location).toBe('/portal/pending');
      await browser
        .get('/portal/pending')
        .expect(200)
        .expect((r) => expect(r.text).toContain('Trail Blog'));
      const [affiliate] = await t.dataSource.query(`SELECT id, status, metadata FROM principals WHERE lower(email) = lower($1) AND role = 'affiliate'`, [email]);
      expect(affiliate).toMatchObject({ status: 'pending', metadata: { about: 'hiking blog' } });
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE principal_id = $1 AND revoked_at IS NULL`, [affiliate.id]);
      expect(n).toBe(0);
      const list = await admin.agent.get('/portal/admin?role=affiliate&status=pending').expect(200);
      expect(list.text).toContain('Trail Blog');
      await admin.agent.post(`/portal/admin/principals/${affiliate.id}/approve`).type('form').send({ _csrf: admin.csrf }).expect(303);
      await browser.get('/portal/affiliate/links').expect(200);
    });
  });

  describe('another principal’s ids', () => {
    it('are a 404 page on every page and form that takes an id', async () => {
      const privateOffer = await createOffer(t, cast.otherAdvertiser, { visibility: 'private' });
      const otherOffer = await createOffer(t, cast.otherAdvertiser, { lockPeriodDays: 30 });
      const ownOffer = await createOffer(t, cast.advertiser);
      const otherLink = await createLink(t, cast.otherAffiliate, otherOffer.id);
      const clickId = t.app.get(ClickIdService).issue(otherLink.id, new Date(Date.now() - 60_000));
      const conversion = (
        await t.http
          .get('/postback')
          .query({ token: cast.otherAdvertiser.postbackToken, click_id: clickId, goal: 'lead', txn_id: `X-${Date.now()}` })
          .expect(201)
      ).body;
      const coupon = (
        await t.http
          .post('/v1/coupons')
          .set(auth(cast.otherAdvertiser.apiKey))
          .send({ offerId: otherOffer.id, affiliateId: cast.otherAffiliate.id, code: `OTHER${Date.now()}` })
          .expect(201)
      ).body;
      const otherKey = (await t.http.post('/v1/api-keys').set(auth(cast.otherAffiliate.apiKey)).send({ label: 'theirs' }).expect(201)).body;
      await drainQueues(t);

      const { agent: aff, csrf: affCsrf } = people.affiliate;
      const { agent: adv, csrf: advCsrf } = people.advertiser;
      const checks: [SignedInAgent['agent'], 'get' | 'post', string, string?][] = [
        [aff, 'get', `/portal/affiliate/offers/${privateOffer.id}`],
        [aff, 'post', `/portal/affiliate/offers/${privateOffer.id}/apply`, affCsrf],
        [aff, 'get', `/portal/affiliate/links/${otherLink.id}`],
        [aff, 'post', `/portal/affiliate/links/${otherLink.id}/archive`, affCsrf],
        [aff, 'post', `/portal/api-keys/${otherKey.id}/revoke`, affCsrf],
        [aff, 'get', `/portal/affiliate/links/not-a-uuid`],
        [aff, 'get', `/portal/advertiser/offers/${ownOffer.id}`],
        [aff, 'get', `/portal/finance/payout-runs/${conversion.id}`],
        [aff, 'get', `/portal/admin/principals/${cast.affiliate.id}`],
        [adv, 'get', `/portal/advertiser/offers/${otherOffer.id}`],
        [adv, 'post', `/portal/advertiser/offers/${otherOffer.id}`, advCsrf],
        [adv, 'post', `/portal/advertiser/conversions/${conversion.id}/approve`, advCsrf],
        [adv, 'post', `/portal/advertiser/conversions/${conversion.id}/reverse`, advCsrf],
        [adv, 'post', `/portal/advertiser/coupons/${coupon.id}/revoke`, advCsrf],
        [adv, 'post', `/portal/advertiser/offers/${otherOffer.id}/applications/${cast.otherAffiliate.id}/approve`, advCsrf],
        [adv, 'post', `/portal/api-keys/${otherKey.id}/revoke`, advCsrf],
        [adv, 'get', `/portal/affiliate/links/${otherLink.id}`],
        [people.finance.agent, 'get', `/portal/finance/payout-runs/${conversion.id}`],
        [people.finance.agent, 'get', `/portal/finance/invoice-runs/${conversion.id}`],
        [people.finance.agent, 'get', `/portal/finance/statements/download?affiliateId=${cast.advertiser.id}&from=2026-01-01&to=2026-01-31&format=csv`],
        [people.finance.agent, 'get', `/portal/admin/principals/${cast.affiliate.id}`],
        [admin.agent, 'get', `/portal/admin/principals/${conversion.id}`],
        [admin.agent, 'post', `/portal/admin/users/${conversion.id}/disable`, admin.csrf],
        [admin.agent, 'get', `/portal/affiliate/nothing-here`],
      ];
      for (const [agent, method, path, csrf] of checks) {
        const res = method === 'get' ? await agent.get(path) : await agent.post(path).type('form').send({ _csrf: csrf });
        expect([method, path, res.status]).toEqual([method, path, 404]);
        isNotFoundPage(res);
      }
      const [row] = await t.dataSource.query(`SELECT status FROM conversions WHERE id = $1`, [conversion.id]);
      expect(row.status).toBe('pending');
      const [key] = await t.dataSource.query(`SELECT revoked_at FROM api_keys WHERE id = $1`, [otherKey.id]);
      expect(key.revoked_at).toBeNull();
    });
  });

  describe('actions on one’s own rows', () => {
    it('lets an advertiser approve (htmx: the row comes back) and reverse its conversions, and decide coupons and applications', async () => {
      const offer = await createOffer(t, cast.advertiser, { visibility: 'approval_required' });
      await t.http.post(`/v1/offers/${offer.id}/applications`).set(auth(cast.affiliate.apiKey)).send({ note: 'newsletter' }).expect(201);
      const { agent, csrf } = people.advertiser;
      await agent.post(`/portal/advertiser/offers/${offer.id}/applications/${cast.affiliate.id}/approve`).type('form').send({ _csrf: csrf }).expect(303);
      const link = await createLink(t, cast.affiliate, offer.id);
      const clickId = t.app.get(ClickIdService).issue(link.id, new Date(Date.now() - 60_000));
      const conversion = (
        await t.http
          .get('/postback')
          .query({ token: cast.advertiser.postbackToken, click_id: clickId, goal: 'lead', txn_id: `OWN-${Date.now()}` })
          .expect(201)
      ).body;
      await drainQueues(t);
      const row = await agent.post(`/portal/advertiser/conversions/${conversion.id}/approve`).set('hx-request', 'true').set('x-csrf-token', csrf).type('form').send({}).expect(200);
      expect(row.text).toMatch(/^<tr id="conversion-[\w-]+" class="updated">/);
      expect(row.text).toContain('Approved');
      const back = await agent
        .post(`/portal/advertiser/conversions/${conversion.id}/reverse`)
        .type('form')
        .send({ _csrf: csrf, reason: 'refunded', back: '/portal/advertiser/conversions?status=approved' })
        .expect(303);
      expect(back.headers.location).toBe('/portal/advertiser/conversions?status=approved&notice=reversed');
      const twice = await agent.post(`/portal/advertiser/conversions/${conversion.id}/approve`).set('hx-request', 'true').set('x-csrf-token', csrf).type('form').send({});
      expect(twice.status).toBe(409);
      expect(twice.headers['hx-retarget']).toBe('#flash');
      expect(twice.text).toContain('A reversed conversion cannot become approved');
      const [stored] = await t.dataSource.query(`SELECT status, reason FROM conversions WHERE id = $1`, [conversion.id]);
      expect(stored).toEqual({ status: 'reversed', reason: 'refunded' });

      const requested = await people.affiliate.agent
        .post('/portal/affiliate/coupons')
        .type('form')
        .send({ _csrf: people.affiliate.csrf, offerId: offer.id, code: `VANITY${Date.now()}` })
        .expect(303);
      expect(requested.headers.location).toBe('/portal/affiliate/coupons?notice=requested');
      const [coupon] = await t.dataSource.query(`SELECT id FROM coupons WHERE offer_id = $1 AND status = 'pending'`, [offer.id]);
      await agent.post(`/portal/advertiser/coupons/${coupon.id}/approve`).type('form').send({ _csrf: csrf }).expect(303);
      await agent.post(`/portal/advertiser/coupons/${coupon.id}/explode`).type('form').send({ _csrf: csrf }).expect(404);
      const [approved] = await t.dataSource.query(`SELECT status FROM coupons WHERE id = $1`, [coupon.id]);
      expect(approved.status).toBe('active');
    });

    it('explains a test postback without recording anything', async () => {
      const offer = await createOffer(t, cast.advertiser, { lockPeriodDays: 7 });
      const link = await createLink(t, cast.affiliate, offer.id);
      const clickId = t.app.get(ClickIdService).issue(link.id, new Date(Date.now() - 60_000));
      const { agent, csrf } = people.advertiser;
      const [{ n: before }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions`);
      const ok = await agent
        .post('/portal/advertiser/integration/test')
        .set('hx-request', 'true')
        .set('x-csrf-token', csrf)
        .type('form')
        .send({ token: cast.advertiser.postbackToken, click_id: clickId, goal: 'sale', txn_id: 'TEST-1', amount: '49.99' })
        .expect(200);
      expect(ok.text).toContain('Attributed by <strong>click</strong>');
      expect(ok.text).toContain('you pay <strong>$7.50</strong>');
      // What the affiliate earns is not the advertiser's to see (with the cost, it gives away the margin).
      expect(ok.text).not.toContain('affiliate earns');
      expect(ok.text).toContain('would be <strong>pending</strong>');
      const bad = await agent
        .post('/portal/advertiser/integration/test')
        .set('hx-request', 'true')
        .set('x-csrf-token', csrf)
        .type('form')
        .send({ token: 'pbt_nope', click_id: `${clickId}x`, goal: 'lead', txn_id: 'TEST-2' })
        .expect(200);
      expect(bad.text).toContain('would answer <strong>401</strong>');
      expect(bad.text).toContain('malformed or was tampered with');
      const [{ n: after }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions`);
      expect(after).toBe(before);
    });
  });

  describe('pages', () => {
    it('renders every page of every role as HTML, never JSON', async () => {
      const pages: Record<string, string[]> = {
        affiliate: [
          '/portal/affiliate',
          '/portal/affiliate/offers',
          '/portal/affiliate/links',
          '/portal/affiliate/coupons',
          '/portal/affiliate/conversions?status=pending',
          '/portal/affiliate/payouts',
          '/portal/affiliate/statements',
          '/portal/affiliate/postbacks',
          '/portal/api-keys',
          '/portal/settings',
        ],
        advertiser: [
          '/portal/advertiser',
          '/portal/advertiser/offers',
          '/portal/advertiser/offers/new',
          '/portal/advertiser/applications',
          '/portal/advertiser/coupons',
          '/portal/advertiser/conversions',
          '/portal/advertiser/integration',
          '/portal/advertiser/invoices',
        ],
        finance: ['/portal/finance', '/portal/finance/invoices', '/portal/finance/statements'],
      };
      for (const [role, paths] of Object.entries(pages)) {
        for (const path of paths) {
          const res = await people[role].agent.get(path);
          expect([path, res.status]).toEqual([path, 200]);
          expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
          expect(res.headers['cache-control']).toBe('no-store');
        }
      }
      for (const path of ['/portal/admin', '/portal/admin?role=advertiser', `/portal/admin/principals/${cast.advertiser.id}`, '/portal/admin/principals/new', '/portal/finance'])
        await admin.agent.get(path).expect(200);
    });

    it('keeps a form’s input and marks the bad field', async () => {
      const { agent, csrf } = people.advertiser;
      const res = await agent
        .post('/portal/advertiser/offers')
        .type('form')
        .send({
          _csrf: csrf,
          _action: 'save',
          name: 'Tents',
          currency: 'USD',
          landingUrl: 'https://shop.example/?c={click_id}',
          'goals.0.key': 'sale',
          'goals.0.revenue.type': 'flat',
          'goals.0.revenue.value': '5.00',
          'goals.0.payout.type': 'flat',
          'goals.0.payout.value': '3.505',
        })
        .expect(422);
      expect(res.text).toContain('value="Tents"');
      expect(res.text).toMatch(/name="goals\.0\.payout\.value" value="3\.505" inputmode="decimal" aria-label="[^"]+" aria-invalid="true"/);
      expect(res.text).toContain('USD allows at most 2 decimal places');
      const filter = await people.affiliate.agent.get('/portal/affiliate/conversions?from=2026-13-01').expect(200);
      expect(filter.text).toContain('From must be a date');
    });

    it('serves its assets from the app with long-lived caching', async () => {
      const page = await people.affiliate.agent.get('/portal/affiliate');
      for (const [, url] of page.text.matchAll(/(?:href|src)="(\/portal\/assets\/[^"]+)"/g)) {
        const res = await t.http.get(url.replace(/&amp;/g, '&')).expect(200);
        expect(res.headers['cache-control']).toContain('immutable');
      }
      await t.http.get('/portal/assets/..%2F..%2Fpackage.json').expect(404);
    });
  });

  it('creates a finance user through the admin pages and shows the API key once', async () => {
    const res = await admin.agent
      .post('/portal/admin/principals')
      .type('form')
      .send({ _csrf: admin.csrf, role: 'finance', name: 'Fin Team', email: uniqueEmail('fin') })
      .expect(303);
    const created = await admin.agent.get(res.headers.location).expect(200);
    expect(created.text).toMatch(/id="first-key" value="afx_fin_[\w-]+"/);
    expect(created.text).toMatch(/id="invite-link" value="http:\/\/afflux\.test\/portal\/invite\/[\w-]{43}"/);
    const unused: PrincipalHandle = await createFinanceUser(t);
    expect(unused.id).toBeDefined();
  });
});
