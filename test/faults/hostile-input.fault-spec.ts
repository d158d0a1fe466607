import fc from 'fast-check';
import { sign } from '../../src/modules/conversions/postback-auth';
import { createTestApp, TestApp } from '../support/create-test-app';
import { drainQueues } from '../support/drain';
import { auth, createAdvertiser, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { expectLedgerVerified } from '../support/ledger';
import { createLink, LinkHandle } from '../support/tracking.factories';
import { SEED } from './support/env';
import { addFigure } from './support/figures';

/** Text an attacker would try: unicode edge cases, SQL, URL and header tricks, and plain noise. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom(
    "' OR 1=1 --",
    "'); DROP TABLE conversions; --",
    '%00',
    '\u0000',
    '\ud800',
    '..%2f..%2fetc%2fpasswd',
    '//evil.example/%2e%2e',
    'https://evil.example',
    'javascript:alert(1)',
    '\r\nLocation: https://evil.example',
    '%0d%0aSet-Cookie:x=1',
    '{click_id}',
    '${jndi:ldap://x}',
    '__proto__',
    'constructor',
    'A'.repeat(5000),
    '١٢٣',
    '9'.repeat(40),
    '-1',
    '1e309',
    'NaN',
  ),
);
const RUNS = { numRuns: 150, seed: SEED };

describe('hostile input', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let offer: OfferHandle;
  let link: LinkHandle;
  let fuzzed = 0;
  const count = <T>(res: T) => (fuzzed++, res);
  const ledgerSize = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM journal_entries`))[0].n as number;

  beforeAll(async () => {
    t = await createTestApp({ workers: true });
    [advertiser, affiliate] = await Promise.all([createAdvertiser(t), createAffiliate(t)]);
    offer = await createOffer(t, advertiser, { lockPeriodDays: 0 });
    link = await createLink(t, affiliate, offer.id);
  });
  afterAll(async () => {
    addFigure('hostile requests fuzzed', fuzzed);
    await drainQueues(t);
    await expectLedgerVerified(t);
    await t.close();
  });

  it('redirects clicks only to the offer’s landing URL, whatever the sub ids, path and headers say', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom('sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'url', 'redirect'), nasty, { maxKeys: 4 }),
        nasty,
        fc.boolean(),
        async (query, header, valid) => {
          const code = valid ? link.code : encodeURIComponent(Buffer.from(header).toString()).slice(0, 300) || 'x'; // lone surrogates → U+FFFD
          const res = count(
            await t.http
              .get(`/c/${code}`)
              .query(query)
              .set('user-agent', header.replace(/[^\x20-\x7e]/g, ''))
              .set('referer', 'x')
              .redirects(0),
          );
          expect([302, 404, 410, 414]).toContain(res.status);
          if (res.status === 302) expect(res.headers.location.startsWith('https://shop.example/landing?')).toBe(true);
          expect(String(res.headers['set-cookie'] ?? '')).not.toMatch(/[\r\n]/);
        },
      ),
      RUNS,
    );
  });

  it('refuses landing URL templates that are not http(s) or that try to inject a host', async () => {
    for (const landingUrl of [
      'javascript:alert(1)',
      'data:text/html,<script>',
      '//evil.example/{click_id}',
      'https://shop.example/{evil}',
      'https://shop.example/ "x"',
      'ftp://shop.example/',
      '{sub1}',
      'https://{sub1}/',
    ]) {
      const res = count(
        await t.http
          .post('/v1/offers')
          .set(auth(advertiser.apiKey))
          .send({
            ...{ name: 'x', currency: 'USD', visibility: 'public', goals: [{ key: 'lead', revenue: { type: 'flat', amount: 1 }, payout: { type: 'flat', amount: 1 } }] },
            landingUrl,
          }),
      );
      expect({ landingUrl, status: res.status }).toEqual({ landingUrl, status: 400 });
    }
  });

  it('always answers the pixel with a GIF', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('goal', 'txn_id', 'amount', 'currency', 'click_id'), nasty, { maxKeys: 5 }), nasty, async (query, cookie) => {
        const res = count(
          await t.http
            .get('/pixel.gif')
            .query(query)
            .set('cookie', `afx_click=${encodeURIComponent(cookie.replace(/\p{Cs}/gu, '?'))}`),
        );
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('image/gif');
      }),
      RUNS,
    );
  });

  it('refuses every postback without a valid token or signature, moving no money', async () => {
    const before = await ledgerSize();
    const conversions = (await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions`))[0].n;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom('token', 'click_id', 'coupon', 'goal', 'txn_id', 'amount', 'currency', 'status', 'advertiser_id'), nasty, { maxKeys: 8 }),
        fc.boolean(),
        async (params, post) => {
          const req = post ? t.http.post('/postback').type('form').send(params) : t.http.get('/postback').query(params);
          const res = count(await req.set('x-afflux-signature', `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`));
          // 429: past its allowance of unknown tokens, an address is refused before any look-up.
          expect([400, 401, 413, 415, 429]).toContain(res.status);
        },
      ),
      RUNS,
    );
    const now = Math.floor(Date.now() / 1000);
    const query = `advertiser_id=${advertiser.id}&goal=lead&txn_id=SPOOF-1&click_id=x`;
    const spoofs = [
      t.http.get('/postback').query({ goal: 'lead', txn_id: 'SPOOF-0' }),
      t.http.get('/postback').query({ token: 'pbt_wrong', goal: 'lead', txn_id: 'SPOOF-0' }),
      t.http.get(`/postback?${query}`).set('x-afflux-signature', `t=${now - 600},v1=${sign(advertiser.postbackToken as string, now - 600, query)}`),
      t.http.get(`/postback?${query.replace('SPOOF-1', 'SPOOF-2')}`).set('x-afflux-signature', `t=${now},v1=${sign(advertiser.postbackToken as string, now, query)}`),
      t.http.get(`/postback?${query}`).set('x-afflux-signature', `t=${now},v1=${sign('pbt_someone_else', now, query)}`),
    ];
    // Each from an address of its own: the fuzz above spent this one's allowance of unknown tokens.
    let spoofer = 0;
    for (const spoof of spoofs) expect(count(await spoof.set('x-forwarded-for', `203.0.113.${++spoofer}`)).status).toBe(401);
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM conversions`))[0].n).toBe(conversions);
    expect(await ledgerSize()).toBe(before);
  });

  it('answers a correctly signed postback, refuses a replay of its signature, and answers the same conversion when signed afresh', async () => {
    const now = Math.floor(Date.now() / 1000);
    const query = `advertiser_id=${advertiser.id}&goal=lead&txn_id=SIGNED-1`;
    const header = (t0: number) => `t=${t0},v1=${sign(advertiser.postbackToken as string, t0, query)}`;
    const first = await t.http.get(`/postback?${query}`).set('x-afflux-signature', header(now));
    const replay = await t.http.get(`/postback?${query}`).set('x-afflux-signature', header(now));
    const again = await t.http.get(`/postback?${query}`).set('x-afflux-signature', header(now - 1));
    expect([first.status, replay.status, again.status]).toEqual([201, 401, 200]);
    expect(replay.body.error.code).toBe('signature_replayed');
    expect(again.body.id).toBe(first.body.id);
  });

  it('never fails with a 5xx on fuzzed JSON bodies, query strings, oversized and deeply nested input', async () => {
    const routes: [string, string, string][] = [
      ['POST', '/v1/offers', advertiser.apiKey],
      ['PATCH', `/v1/offers/${offer.id}`, advertiser.apiKey],
      ['POST', '/v1/links', affiliate.apiKey],
      ['POST', '/v1/coupons', advertiser.apiKey],
      ['POST', '/v1/conversions', advertiser.apiKey],
      ['PUT', '/v1/postback-settings', affiliate.apiKey],
      ['POST', '/v1/affiliates', t.adminKey],
      ['PATCH', `/v1/affiliates/${affiliate.id}`, t.adminKey],
      ['POST', '/v1/payout-runs', t.adminKey],
      ['POST', '/v1/invoice-runs', t.adminKey],
      ['POST', '/v1/affiliates/signup', ''],
    ];
    const before = await ledgerSize();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(fc.anything({ maxDepth: 4 }), fc.object({ maxDepth: 3 }), fc.dictionary(nasty, nasty)),
        async ([method, path, key], body) => {
          let req = t.http[method.toLowerCase() as 'post'](path).set('content-type', 'application/json');
          if (key) req = req.set(auth(key));
          const res = count(await req.send(JSON.stringify(body) ?? 'null'));
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) expect(typeof res.body.error?.code).toBe('string');
        },
      ),
      RUNS,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/conversions', '/v1/offers', '/v1/clicks', '/v1/links', '/v1/coupons', '/v1/payouts', '/v1/statements', '/v1/earnings'),
        fc.dictionary(fc.constantFrom('limit', 'cursor', 'from', 'to', 'status', 'offerId', 'affiliateId', 'txnId', 'format', 'timezone', 'currency', 'sub1'), nasty, {
          maxKeys: 5,
        }),
        async (path, query) => {
          const res = count(await t.http.get(path).query(query).set(auth(t.adminKey)));
          expect(res.status).toBeLessThan(500);
        },
      ),
      RUNS,
    );
    const big = await t.http
      .post('/v1/offers')
      .set(auth(advertiser.apiKey))
      .set('content-type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }));
    expect([big.status, big.body.error?.code]).toEqual([413, 'payload_too_large']);
    const deep = await t.http
      .post('/v1/offers')
      .set(auth(advertiser.apiKey))
      .set('content-type', 'application/json')
      .send(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`);
    expect(deep.status).toBeGreaterThanOrEqual(400);
    expect(deep.status).toBeLessThan(500);
    const garbage = await t.http.post('/v1/offers').set(auth(advertiser.apiKey)).set('content-type', 'application/json').send('{"name": "x",');
    expect(garbage.status).toBe(400);
    fuzzed += 3;
    expect(await ledgerSize()).toBe(before);
  });

  it('refuses fuzzed Stripe webhooks with 400, storing nothing', async () => {
    const before = (await t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_events`))[0].n;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), nasty), nasty, async (body, signature) => {
        const res = count(
          await t.http
            .post('/webhooks/stripe')
            .set('content-type', 'application/json')
            .set('stripe-signature', signature.replace(/[^\x20-\x7e]/g, '') || 'x')
            .send(body),
        );
        expect([400, 503]).toContain(res.status);
      }),
      { ...RUNS, numRuns: 60 },
    );
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_events`))[0].n).toBe(before);
  });
});
