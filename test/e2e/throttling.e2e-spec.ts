import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PrincipalsService } from '../../src/modules/principals/principals.service';
import { principalsRepository } from '../../src/modules/principals/principals.repository';
import { RateLimiter } from '../../src/modules/throttling/rate-limiter.service';
import { addUser, csrfOf, PASSWORD } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAdvertiser, createAffiliate, PrincipalHandle } from '../support/factories';

const fakeKey = () => `afx_aff_${randomBytes(32).toString('base64url')}`;
let ipCounter = 0;
/** A client address of its own per test (loopback is a trusted proxy, so X-Forwarded-For names the client). */
const freshIp = () => ({ 'x-forwarded-for': `198.51.100.${++ipCounter}` });

describe('rate limits that hold', () => {
  let t: TestApp;
  let affiliate: PrincipalHandle;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_API: '5', RATE_LIMIT_KEY_FAILURES: '5', RATE_LIMIT_FORMS: '8', RATE_LIMIT_SIGNUPS: '3', RATE_LIMIT_PORTAL: '100' } });
    affiliate = await createAffiliate(t);
  });
  afterAll(() => t.close());

  describe('per API key', () => {
    it('counts spelling variants of one Authorization header in one bucket', async () => {
      const key = (await t.http.post('/v1/api-keys').set(auth(affiliate.apiKey)).send({ label: 'variants' }).expect(201)).body.apiKey as string;
      const variants = [`Bearer ${key}`, `bearer ${key}`, `BEARER ${key}`, `Bearer  ${key}`, `Bearer ${key}  `, `Bearer\t${key}`, `bEaReR ${key} `];
      const statuses: number[] = [];
      for (const header of variants) statuses.push((await t.http.get('/v1/me').set('Authorization', header)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    });

    it('refuses unknown keys from one address with 429 past the failure limit, without looking them up', async () => {
      const lookups = jest.spyOn(principalsRepository, 'keyOwner');
      try {
        const from = freshIp();
        const answers = await Promise.all(Array.from({ length: 30 }, () => t.http.get('/v1/me').set(from).set(auth(fakeKey()))));
        const statuses = answers.map((r) => r.status).sort();
        expect(statuses.filter((s) => s === 401)).toHaveLength(5);
        expect(statuses.filter((s) => s === 429)).toHaveLength(25);
        expect(lookups).toHaveBeenCalledTimes(5);
        expect(answers.find((r) => r.status === 429)!.headers['retry-after']).toMatch(/^\d+$/);
        // Another address and a known key are not affected.
        await t.http.get('/v1/me').set(freshIp()).set(auth(fakeKey())).expect(401);
      } finally {
        lookups.mockRestore();
      }
    });

    it('refuses invented postback tokens from one address with 429 past the failure limit, without looking them up', async () => {
      const lookups = jest.spyOn(principalsRepository, 'findLivePostbackToken');
      try {
        const from = freshIp();
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            t.http
              .get('/postback')
              .query({ token: `pbt_${randomBytes(24).toString('hex')}`, goal: 'lead', txn_id: `FAKE-${i}` })
              .set(from),
          ),
        );
        const statuses = answers.map((r) => r.status).sort();
        expect(statuses.filter((s) => s === 401)).toHaveLength(5);
        expect(statuses.filter((s) => s === 429)).toHaveLength(25);
        expect(lookups).toHaveBeenCalledTimes(5);
      } finally {
        lookups.mockRestore();
      }
    });

    it('spends one of the allowance for a burst of postbacks with a good token just out of the cache, and gives it back', async () => {
      const advertiser = await createAdvertiser(t);
      const from = freshIp();
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          t.http
            .get('/postback')
            .query({ token: advertiser.postbackToken, goal: 'lead', txn_id: `BURST-${i}` })
            .set(from),
        ),
      );
      expect(answers.filter((r) => r.status === 429)).toHaveLength(0);
    });

    it('does not count a good key against its address', async () => {
      const from = freshIp();
      const owner = { id: affiliate.id, role: 'affiliate' as const, name: 'affiliate', keyId: '' };
      const keys = await Promise.all(Array.from({ length: 8 }, () => t.app.get(PrincipalsService).createApiKey(owner, undefined, null)));
      for (const { key } of keys) await t.http.get('/v1/me').set(from).set(auth(key)).expect(200);
      await t.http.get('/v1/me').set(from).set(auth(fakeKey())).expect(401);
    });
    it('spends one of the allowance for a burst of one good key just out of the cache, and gives it back', async () => {
      const unlimited = await createTestApp({ sharing: t, env: { RATE_LIMIT_API: '0', RATE_LIMIT_KEY_FAILURES: '5' } });
      try {
        const from = freshIp();
        const { key } = await unlimited.app.get(PrincipalsService).createApiKey({ id: affiliate.id, role: 'affiliate', name: 'affiliate', keyId: '' }, undefined, 'burst');
        const answers = await Promise.all(Array.from({ length: 40 }, () => unlimited.http.get('/v1/me').set(from).set(auth(key))));
        expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
        const fakes = await Promise.all(Array.from({ length: 6 }, () => unlimited.http.get('/v1/me').set(from).set(auth(fakeKey()))));
        expect(fakes.map((r) => r.status).sort()).toEqual([401, 401, 401, 401, 401, 429]);
      } finally {
        await unlimited.close();
      }
    });
  });

  describe('postbacks per advertiser (leases from the shared Redis window)', () => {
    it('never admits more than the limit across two processes, and at most 2 leases fewer per process', async () => {
      const processes = await Promise.all([0, 1].map(() => createTestApp({ sharing: t, env: { RATE_LIMIT_POSTBACKS: '1000' } })));
      try {
        const limiters = processes.map((p) => p.app.get(RateLimiter));
        const advertiser = `adv-${randomBytes(6).toString('hex')}`;
        const answers = await Promise.all(
          Array.from({ length: 1300 }, (_, i) =>
            limiters[i % 2].consume('postbacks', advertiser).then(
              () => 'ok',
              (error: { status?: number; retryAfterSeconds?: number }) => error.status,
            ),
          ),
        );
        const admitted = answers.filter((a) => a === 'ok').length;
        expect(admitted).toBeLessThanOrEqual(1000);
        // Lease size 10 (1 % of the limit): fewer than 2 × 10 left unspent per process.
        expect(admitted).toBeGreaterThanOrEqual(1000 - 2 * 10 * 2);
        expect(answers.filter((a) => a !== 'ok').every((a) => a === 429)).toBe(true);
        // Another advertiser has a window of its own.
        await expect(limiters[1].consume('postbacks', `${advertiser}-other`)).resolves.toBeUndefined();
      } finally {
        await Promise.all(processes.map((p) => p.close()));
      }
    });
  });

  describe('portal sign-in', () => {
    it('counts before hashing: of 50 parallel wrong passwords for one email, at most 5 are checked', async () => {
      const [{ id: adminId }] = await t.dataSource.query(`SELECT id FROM principals WHERE role = 'admin' LIMIT 1`);
      const { email } = await addUser(t, adminId);
      const agent = request.agent(t.app.getHttpServer());
      const token = csrfOf((await agent.get('/portal/login')).text);
      // Fifty addresses, so only the per-email count can stop them.
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          agent
            .post('/portal/login')
            .set({ 'x-forwarded-for': `192.0.2.${i + 1}` })
            .type('form')
            .send({ _csrf: token, email, password: `wrong password ${i}` }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(45);
      expect(answers.find((r) => r.status === 429)!.text).toContain('Too many failed sign-ins');
      // The right password waits too, until the window ends.
      await agent.post('/portal/login').set(freshIp()).type('form').send({ _csrf: token, email, password: PASSWORD }).expect(429);
    });

    it('limits sign-in attempts per address, whatever the emails', async () => {
      const agent = request.agent(t.app.getHttpServer());
      const token = csrfOf((await agent.get('/portal/login')).text);
      const from = freshIp();
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          agent
            .post('/portal/login')
            .set(from)
            .type('form')
            .send({ _csrf: token, email: `nobody-${i}@example.test`, password: 'nope nope nope' }),
        ),
      );
      expect(answers.map((r) => r.status).filter((s) => s === 429)).toHaveLength(4);
    });
  });

  describe('sign-up floods', () => {
    it('refuses the portal sign-up past the limit per address, creating nothing more', async () => {
      const agent = request.agent(t.app.getHttpServer());
      const token = csrfOf((await agent.get('/portal/signup')).text);
      const from = freshIp();
      const stamp = Date.now().toString(36);
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          agent
            .post('/portal/signup')
            .set(from)
            .type('form')
            .send({ _csrf: token, company: `Flood ${stamp} ${i}`, name: 'F', email: `flood-${stamp}-${i}@example.test`, password: PASSWORD, timeZone: 'UTC' }),
        ),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([303, 303, 303, 429, 429, 429]);
      expect(answers.find((r) => r.status === 429)!.headers['content-type']).toMatch(/^text\/html/);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM principals WHERE name LIKE $1`, [`Flood ${stamp}%`]);
      expect(n).toBe(3);
    });

    it('refuses the API sign-up past the limit per address', async () => {
      const from = freshIp();
      const stamp = Date.now().toString(36);
      const answers = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          t.http
            .post('/v1/affiliates/signup')
            .set(from)
            .send({ name: `Api flood ${stamp}`, email: `api-flood-${stamp}-${i}@example.test` }),
        ),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([201, 201, 201, 429, 429]);
      expect(answers.find((r) => r.status === 429)!.body.error.code).toBe('rate_limited');
    });
  });

  describe('the portal', () => {
    it('limits every portal request per address, answering a page', async () => {
      const from = freshIp();
      const answers = await Promise.all(Array.from({ length: 104 }, (_, i) => t.http.get(i % 2 ? '/portal/login' : '/portal/nowhere').set(from)));
      const refused = answers.filter((r) => r.status === 429);
      expect(refused).toHaveLength(4);
      expect(refused[0].headers['content-type']).toMatch(/^text\/html/);
      expect(Number(refused[0].headers['retry-after'])).toBeGreaterThan(0);
      await t.http.get('/portal/login').set(freshIp()).expect(200);
    });
  });

  describe('the other public forms', () => {
    it('limits invitation acceptance per address', async () => {
      const agent = request.agent(t.app.getHttpServer());
      const token = csrfOf((await agent.get('/portal/login')).text);
      const from = freshIp();
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          agent
            .post(`/portal/invite/${randomBytes(32).toString('base64url')}`)
            .set(from)
            .type('form')
            .send({ _csrf: token, name: 'x', password: PASSWORD, timeZone: 'UTC' }),
        ),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([...Array(8).fill(404), 429, 429]);
    });

    it('limits the queue dashboard sign-in per address, with a page', async () => {
      const from = freshIp();
      // Not even shaped like a key, so only the form's own limit counts them (unknown keys also spend the key-failure allowance).
      const answers = await Promise.all(Array.from({ length: 10 }, () => t.http.post('/admin/login').set(from).type('form').send({ key: 'not a key' })));
      expect(answers.map((r) => r.status).sort()).toEqual([...Array(8).fill(401), 429, 429]);
      const refused = answers.find((r) => r.status === 429)!;
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(refused.text).toContain('Too many attempts');
    });
  });
});
