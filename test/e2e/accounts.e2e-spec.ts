import { randomBytes } from 'node:crypto';
import { createTestApp, TestApp } from '../support/create-test-app';
import { createCast } from '../support/tracking.factories';
import { auth, PrincipalHandle } from '../support/factories';

describe('accounts and API keys', () => {
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

  describe('creating principals', () => {
    it('gives an advertiser a prefixed key and a postback token, once', async () => {
      const res = await t.http.post('/v1/advertisers').set(auth(t.adminKey)).send({ name: 'Acme', email: 'acme@example.test' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.any(String), status: 'active', apiKey: expect.stringMatching(/^afx_adv_/), postbackToken: expect.stringMatching(/^pbt_/) });
      const stored = await t.dataSource.query('SELECT encode(key_hash, $2) AS h, prefix FROM api_keys WHERE principal_id = $1', [res.body.id, 'hex']);
      expect(stored).toHaveLength(1);
      expect(stored[0].h).not.toContain(res.body.apiKey);
      expect(res.body.apiKey.startsWith(stored[0].prefix)).toBe(true);
      const me = await t.http.get('/v1/me').set(auth(res.body.apiKey));
      expect(me.body).toMatchObject({ id: res.body.id, role: 'advertiser', name: 'Acme' });
    });

    it.each([
      ['/v1/affiliates', 'afx_aff_'],
      ['/v1/finance-users', 'afx_fin_'],
    ])('%s answers a key prefixed %s and no postback token', async (path, prefix) => {
      const res = await t.http
        .post(path)
        .set(auth(t.adminKey))
        .send({ name: 'Someone', email: `${prefix}x@example.test` });
      expect(res.status).toBe(201);
      expect(res.body.apiKey.startsWith(prefix)).toBe(true);
      expect(res.body.postbackToken).toBeUndefined();
    });

    it('refuses a duplicate email for the same role, case-insensitively', async () => {
      await t.http.post('/v1/advertisers').set(auth(t.adminKey)).send({ name: 'Dup', email: 'dup@example.test' }).expect(201);
      const res = await t.http.post('/v1/advertisers').set(auth(t.adminKey)).send({ name: 'Dup 2', email: 'DUP@example.test' });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('email_taken');
    });

    it.each([
      [{ name: 'x' }, 'email'],
      [{ name: 'x', email: 'not-an-email' }, 'email'],
      [{ name: '', email: 'a@b.test' }, 'name'],
      [{ name: 42, email: 'a@b.test' }, 'name'],
      [{ name: 'x', email: 'a@b.test', role: 'admin' }, 'role'],
      [{ name: 'x'.repeat(201), email: 'a@b.test' }, 'name'],
    ])('rejects bad input #%# naming the field %s', async (body, field) => {
      const res = await t.http.post('/v1/advertisers').set(auth(t.adminKey)).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    });

    it('refuses every role but admin', async () => {
      for (const p of [advertiser, affiliate, finance]) {
        for (const path of ['/v1/advertisers', '/v1/affiliates', '/v1/finance-users']) {
          const res = await t.http.post(path).set(auth(p.apiKey)).send({ name: 'x', email: 'x@example.test' });
          expect(res.status).toBe(403);
          expect(res.body.error.code).toBe('forbidden');
        }
      }
    });
  });

  describe('authentication', () => {
    it.each([
      ['no header', undefined],
      ['an empty bearer', 'Bearer'],
      ['an unknown key', 'Bearer afx_adm_doesnotexistdoesnotexistdoesnotexist'],
      ['basic auth', 'Basic dXNlcjpwYXNz'],
      ['a 5 KB key', 'Bearer ' + 'x'.repeat(5000)],
    ])('answers 401 in the error format for %s', async (_label, header) => {
      const req = t.http.get('/v1/me');
      if (header) req.set('Authorization', header);
      const res = await req;
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: [] } });
    });

    it('never logs a key', () => {
      const everything = t.logs.join('\n');
      for (const key of [t.adminKey, advertiser.apiKey, affiliate.apiKey]) expect(everything).not.toContain(key);
    });
  });

  describe('API keys', () => {
    it('creates, lists and revokes keys; a revoked key stops working at once', async () => {
      const created = await t.http.post('/v1/api-keys').set(auth(affiliate.apiKey)).send({ label: 'ci' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ principalId: affiliate.id, label: 'ci', apiKey: expect.stringMatching(/^afx_aff_/) });
      await t.http.get('/v1/me').set(auth(created.body.apiKey)).expect(200);

      const list = await t.http.get('/v1/api-keys').set(auth(affiliate.apiKey)).expect(200);
      expect(list.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
      expect(JSON.stringify(list.body)).not.toContain(created.body.apiKey);

      await t.http.delete(`/v1/api-keys/${created.body.id}`).set(auth(affiliate.apiKey)).expect(204);
      await t.http.get('/v1/me').set(auth(created.body.apiKey)).expect(401);
      await t.http.get('/v1/me').set(auth(affiliate.apiKey)).expect(200);
    });

    it("cannot see or revoke another principal's key (404)", async () => {
      const created = await t.http.post('/v1/api-keys').set(auth(otherAffiliate.apiKey)).send({}).expect(201);
      await t.http.delete(`/v1/api-keys/${created.body.id}`).set(auth(affiliate.apiKey)).expect(404);
      await t.http.delete(`/v1/api-keys/${created.body.id}`).set(auth(advertiser.apiKey)).expect(404);
      const list = await t.http.get('/v1/api-keys').set(auth(affiliate.apiKey)).query({ principalId: otherAffiliate.id }).expect(200);
      expect(list.body.data.map((k: { id: string }) => k.id)).not.toContain(created.body.id);
      await t.http.get('/v1/me').set(auth(created.body.apiKey)).expect(200);
    });

    it('lets only an admin create a key for someone else', async () => {
      await t.http.post('/v1/api-keys').set(auth(affiliate.apiKey)).send({ principalId: otherAffiliate.id }).expect(403);
      const res = await t.http.post('/v1/api-keys').set(auth(t.adminKey)).send({ principalId: otherAffiliate.id }).expect(201);
      expect(res.body.principalId).toBe(otherAffiliate.id);
      await t.http.delete(`/v1/api-keys/${res.body.id}`).set(auth(t.adminKey)).expect(204);
    });

    it('answers 404 for a malformed key id', async () => {
      const res = await t.http.delete('/v1/api-keys/not-a-uuid').set(auth(affiliate.apiKey));
      expect(res.status).toBe(404);
    });
  });

  describe('key hygiene', () => {
    it('refuses a revoked key at once on another process that had it cached', async () => {
      const other = await createTestApp({ sharing: t });
      try {
        const created = await t.http.post('/v1/api-keys').set(auth(affiliate.apiKey)).send({ label: 'two processes' }).expect(201);
        await other.http.get('/v1/me').set(auth(created.body.apiKey)).expect(200);
        await other.http.get('/v1/me').set(auth(created.body.apiKey)).expect(200);
        await t.http.delete(`/v1/api-keys/${created.body.id}`).set(auth(affiliate.apiKey)).expect(204);
        await other.http.get('/v1/me').set(auth(created.body.apiKey)).expect(401);
        // The other way round, through the admin.
        const second = await t.http.post('/v1/api-keys').set(auth(t.adminKey)).send({ principalId: affiliate.id }).expect(201);
        await t.http.get('/v1/me').set(auth(second.body.apiKey)).expect(200);
        await other.http.delete(`/v1/api-keys/${second.body.id}`).set(auth(t.adminKey)).expect(204);
        await t.http.get('/v1/me').set(auth(second.body.apiKey)).expect(401);
      } finally {
        await other.close();
      }
    });

    it('never mints a key with more reach than the caller: every role gets keys of its own principal only', async () => {
      const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
      for (const [p, prefix] of [
        [advertiser, 'afx_adv_'],
        [affiliate, 'afx_aff_'],
        [finance, 'afx_fin_'],
      ] as const) {
        for (const target of [adminId, otherAdvertiser.id, otherAffiliate.id, finance.id === p.id ? advertiser.id : finance.id]) {
          const res = await t.http.post('/v1/api-keys').set(auth(p.apiKey)).send({ principalId: target });
          expect([p.id, target, res.status, res.body.error?.code]).toEqual([p.id, target, 403, 'forbidden']);
        }
        const own = await t.http.post('/v1/api-keys').set(auth(p.apiKey)).send({ principalId: p.id }).expect(201);
        expect(own.body).toMatchObject({ principalId: p.id, apiKey: expect.stringMatching(new RegExp(`^${prefix}`)) });
        const me = await t.http.get('/v1/me').set(auth(own.body.apiKey)).expect(200);
        expect(me.body).toMatchObject({ id: p.id, role: expect.not.stringMatching(/^admin$/) });
        await t.http.post('/v1/advertisers').set(auth(own.body.apiKey)).send({ name: 'x', email: 'escalate@example.test' }).expect(403);
      }
      // An admin minting for someone mints that someone's key, with that someone's reach.
      const forFinance = await t.http.post('/v1/api-keys').set(auth(t.adminKey)).send({ principalId: finance.id }).expect(201);
      expect(forFinance.body.apiKey).toMatch(/^afx_fin_/);
      await t.http.post('/v1/api-keys').set(auth(forFinance.body.apiKey)).send({ principalId: adminId }).expect(403);
      await t.http.post('/v1/api-keys').set(auth(t.adminKey)).send({ principalId: '00000000-0000-4000-8000-000000000000' }).expect(404);
    });
  });

  describe('ADMIN_API_KEY', () => {
    it('revokes the key of the previous value when the variable changes, on every process at once', async () => {
      const first = await createTestApp();
      const restarts: TestApp[] = [];
      try {
        const older = await createTestApp({ sharing: first });
        restarts.push(older);
        await older.http.get('/v1/me').set(auth(first.adminKey)).expect(200);
        const labelled = await first.http.post('/v1/api-keys').set(auth(first.adminKey)).send({ label: 'ADMIN_API_KEY' }).expect(201);

        const next = `afx_adm_${randomBytes(24).toString('base64url')}`;
        restarts.push(await createTestApp({ sharing: first, env: { ADMIN_API_KEY: next } }));
        const restarted = restarts[1];
        await restarted.http.get('/v1/me').set(auth(next)).expect(200);
        await restarted.http.get('/v1/me').set(auth(first.adminKey)).expect(401);
        await older.http.get('/v1/me').set(auth(first.adminKey)).expect(401);
        // A key someone labelled like the bootstrap key is not the bootstrap key.
        await older.http.get('/v1/me').set(auth(labelled.body.apiKey)).expect(200);

        // Starting again with the same value changes nothing.
        restarts.push(await createTestApp({ sharing: first, env: { ADMIN_API_KEY: next } }));
        await restarts[2].http.get('/v1/me').set(auth(next)).expect(200);
        const [{ n }] = await first.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE label = 'ADMIN_API_KEY' AND revoked_at IS NULL`);
        expect(n).toBe(2);
      } finally {
        for (const app of restarts) await app.close();
        await first.close();
      }
    });
  });

  describe('affiliate sign-up and approval', () => {
    it('signs up pending, is refused until an admin approves, then works; suspension is visible', async () => {
      const signup = await t.http.post('/v1/affiliates/signup').send({ name: 'New partner', email: 'partner@example.test', about: 'coupon site' });
      expect(signup.status).toBe(201);
      expect(signup.body.status).toBe('pending');
      const denied = await t.http.get('/v1/me').set(auth(signup.body.apiKey));
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe('account_pending');

      const pending = await t.http.get('/v1/affiliates').query({ status: 'pending' }).set(auth(t.adminKey)).expect(200);
      expect(pending.body.data.map((a: { id: string }) => a.id)).toContain(signup.body.id);

      const approved = await t.http.patch(`/v1/affiliates/${signup.body.id}`).set(auth(t.adminKey)).send({ status: 'active', payoutThreshold: 5000 });
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ status: 'active', payoutThreshold: 5000 });
      await t.http.get('/v1/me').set(auth(signup.body.apiKey)).expect(200);
    });

    it('refuses sign-up with unknown fields or a status of its own choosing', async () => {
      const res = await t.http.post('/v1/affiliates/signup').send({ name: 'Sneaky', email: 'sneaky@example.test', status: 'active' });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].field).toBe('status');
    });

    it('lets only an admin patch an affiliate, and only with valid values', async () => {
      for (const p of [advertiser, affiliate, finance]) {
        await t.http.patch(`/v1/affiliates/${affiliate.id}`).set(auth(p.apiKey)).send({ status: 'suspended' }).expect(403);
      }
      for (const body of [{ status: 'pending' }, { payoutThreshold: -1 }, { payoutThreshold: 10.5 }, { payoutThreshold: '100' }, { role: 'admin' }]) {
        const res = await t.http.patch(`/v1/affiliates/${affiliate.id}`).set(auth(t.adminKey)).send(body);
        expect(res.status).toBe(400);
      }
      await t.http.patch(`/v1/affiliates/${advertiser.id}`).set(auth(t.adminKey)).send({ status: 'suspended' }).expect(404);
    });
  });

  describe('reading principals', () => {
    it('lets staff list and read, and principals read only themselves', async () => {
      for (const key of [t.adminKey, finance.apiKey]) {
        const list = await t.http.get('/v1/advertisers').set(auth(key)).expect(200);
        expect(list.body.data.map((a: { id: string }) => a.id)).toEqual(expect.arrayContaining([advertiser.id, otherAdvertiser.id]));
        await t.http.get(`/v1/affiliates/${affiliate.id}`).set(auth(key)).expect(200);
      }
      await t.http.get('/v1/advertisers').set(auth(advertiser.apiKey)).expect(403);
      await t.http.get('/v1/affiliates').set(auth(affiliate.apiKey)).expect(403);
      await t.http.get('/v1/finance-users').set(auth(finance.apiKey)).expect(403);
      await t.http.get(`/v1/advertisers/${advertiser.id}`).set(auth(advertiser.apiKey)).expect(200);
      await t.http.get(`/v1/advertisers/${otherAdvertiser.id}`).set(auth(advertiser.apiKey)).expect(404);
      await t.http.get(`/v1/affiliates/${otherAffiliate.id}`).set(auth(affiliate.apiKey)).expect(404);
      await t.http.get(`/v1/affiliates/${affiliate.id}`).set(auth(advertiser.apiKey)).expect(403);
    });
  });

  describe('postback tokens', () => {
    it('rotates the token, keeping the old one alive for 24 h', async () => {
      const res = await t.http.post('/v1/postback-tokens').set(auth(advertiser.apiKey)).expect(201);
      expect(res.body.postbackToken).toMatch(/^pbt_/);
      expect(res.body.postbackToken).not.toBe(advertiser.postbackToken);
      const expires = Date.parse(res.body.previousTokenExpiresAt);
      expect(expires - Date.now()).toBeGreaterThan(23.9 * 3600 * 1000);
      const live = await t.dataSource.query('SELECT token FROM postback_tokens WHERE advertiser_id = $1 AND (expires_at IS NULL OR expires_at > now())', [advertiser.id]);
      expect(live.map((r: { token: string }) => r.token).sort()).toEqual([advertiser.postbackToken, res.body.postbackToken].sort());
    });

    it('is for advertisers only', async () => {
      for (const p of [affiliate, finance]) await t.http.post('/v1/postback-tokens').set(auth(p.apiKey)).expect(403);
      await t.http.post('/v1/postback-tokens').set(auth(t.adminKey)).expect(403);
    });
  });

  describe('without Stripe configured', () => {
    it('answers a clear 503 naming the missing setting on every Stripe-backed endpoint', async () => {
      const checks = [
        t.http.post('/v1/payout-accounts').set(auth(affiliate.apiKey)).send({}),
        t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD' }),
        t.http.post('/v1/invoice-runs').set(auth(finance.apiKey)).send({ from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' }),
      ];
      for (const res of await Promise.all(checks)) {
        expect(res.status).toBe(503);
        expect(res.body.error).toMatchObject({ code: 'stripe_not_configured', message: expect.stringContaining('STRIPE_SECRET_KEY') });
      }
      const webhook = await t.http.post('/webhooks/stripe').set('stripe-signature', 't=1,v1=x').set('content-type', 'application/json').send('{}');
      expect(webhook.status).toBe(503);
      expect(webhook.body.error.message).toContain('STRIPE_WEBHOOK_SECRET');
      // A dry run needs no Stripe: it only reads the ledger.
      await t.http.post('/v1/payout-runs').set(auth(finance.apiKey)).send({ currency: 'USD', dryRun: true }).expect(202);
    });
  });

  describe('operations endpoints', () => {
    it('answers /health ready with both dependencies up, /metrics and /docs without a key', async () => {
      const health = await t.http.get('/health').expect(200);
      expect(health.body).toMatchObject({ status: 'ok', checks: { database: { status: 'up' }, redis: { status: 'up' } } });
      const metrics = await t.http.get('/metrics').expect(200);
      expect(metrics.text).toContain('afx_http_requests_total');
      const docs = await t.http.get('/docs/openapi.json').expect(200);
      for (const path of ['/v1/advertisers', '/v1/affiliates/signup', '/v1/api-keys', '/v1/offers', '/v1/offers/{id}/applications']) {
        expect(Object.keys(docs.body.paths)).toContain(path);
      }
      await t.http.get('/docs').expect(200);
    });

    it('answers an unknown route and a malformed JSON body in the error format', async () => {
      const missing = await t.http.get('/v1/nothing-here').set(auth(t.adminKey));
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('not_found');
      const bad = await t.http.post('/v1/advertisers').set(auth(t.adminKey)).set('content-type', 'application/json').send('{"name": ');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      const big = await t.http.post('/v1/affiliates/signup').send({ name: 'x', email: 'big@example.test', about: 'a'.repeat(2 * 1024 * 1024) });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('payload_too_large');
    });
  });
});
