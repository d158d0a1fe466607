import { randomBytes } from 'node:crypto';
import { ApiKeyGuard } from '../../src/modules/principals/api-key.guard';
import { RedisService } from '../../src/queue/redis.service';
import { ClickIdCodec } from '../../src/modules/tracking/click-id';
import { ClickRedirectService } from '../../src/modules/tracking/click-redirect.service';
import { ClickIdService, loadOrCreateClickSecret } from '../../src/modules/tracking/click-id.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { click, createLink, createLinkedSetup, flushClicks, LinkHandle, setAffiliateStatus, setOffer, storedClicks } from '../support/tracking.factories';

const LANDING = 'https://shop.example/landing/{offer_id}?cid={click_id}&aff={affiliate_id}&s1={sub1}&s2={sub2}&s3={sub3}&s4={sub4}&s5={sub5}';
const FALLBACK = 'https://fallback.example/sorry?cid={click_id}&s1={sub1}';

/** What a browser would read back from the Location header's query. */
function landing(location: string) {
  const url = new URL(location);
  return { url, params: Object.fromEntries(url.searchParams) };
}

const truncate = (value: string, max = 255) => Array.from(value).slice(0, max).join('');

describe('click redirect', () => {
  let t: TestApp;
  let advertiser: PrincipalHandle;
  let affiliate: PrincipalHandle;
  let offer: OfferHandle;
  let link: LinkHandle;
  let clickIds: ClickIdService;

  beforeAll(async () => {
    t = await createTestApp();
    clickIds = t.app.get(ClickIdService);
    ({ advertiser, affiliate, offer, link } = await createLinkedSetup(
      t,
      { landingUrl: LANDING, attributionWindowDays: 7 },
      { sub2: 'default-2', sub3: 'default-3', channel: 'social' },
    ));
  });
  afterAll(() => t.close());

  describe('redirecting', () => {
    it('fills every macro, signs the click id and sets the cookie', async () => {
      const before = Date.now();
      const res = await click(t, link.code, { sub1: 'campaign-1', sub3: 'override-3' });
      expect(res.status).toBe(302);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['referrer-policy']).toBe('no-referrer-when-downgrade');
      const { url, params } = landing(res.headers.location);
      expect(url.origin).toBe('https://shop.example');
      expect(url.pathname).toBe(`/landing/${offer.id}`);
      expect(params).toEqual({ cid: expect.any(String), aff: affiliate.id, s1: 'campaign-1', s2: 'default-2', s3: 'override-3', s4: '', s5: '' });
      const verified = clickIds.verify(params.cid);
      expect(verified?.linkId).toBe(link.id);
      expect(verified!.clickedAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(verified!.clickedAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(res.headers['set-cookie']).toEqual([`afx_click=${params.cid}; Path=/; Max-Age=${7 * 86400}; HttpOnly; SameSite=Lax`]);
    });

    it.each([
      ['a script tag', '<script>alert(1)</script>'],
      ['an ampersand and a parameter', 'a&x=y&aff=evil'],
      ['a fragment', '#frag'],
      ['a protocol-relative URL', '//evil.example/path'],
      ['an absolute URL', 'https://evil.example/?q=1'],
      ['unicode', 'ü日本語🎉 café'],
      ['percent signs and quotes', '%00%zz"\'`'],
      ['CR LF', 'a\r\nSet-Cookie: x=y'],
      ['2 KB of ASCII', 'x'.repeat(2048)],
      ['300 emoji (surrogate pairs)', '😀'.repeat(300)],
    ])('keeps %s inside its own parameter, decoded back and cut at 255', async (_, value) => {
      const res = await click(t, link.code, { sub1: value, sub4: value });
      expect(res.status).toBe(302);
      const { url, params } = landing(res.headers.location);
      expect(url.host).toBe('shop.example');
      expect(url.hash).toBe('');
      expect(Object.keys(params).sort()).toEqual(['aff', 'cid', 's1', 's2', 's3', 's4', 's5']);
      expect(params.aff).toBe(affiliate.id);
      expect(params.s1).toBe(truncate(value));
      expect(params.s4).toBe(truncate(value));
    });

    it('drops a NUL byte and keeps the rest', async () => {
      const res = await click(t, link.code, { sub1: 'a\u0000b' });
      expect(landing(res.headers.location).params.s1).toBe('ab');
      await flushClicks(t);
      const [row] = await storedClicks(t, 'id = $1', [landing(res.headers.location).params.cid]);
      expect(row.sub1).toBe('ab');
    });

    it("runs outside Nest's guard and pipe pipeline (Fastify calls the handler directly)", async () => {
      const guard = jest.spyOn(ApiKeyGuard.prototype, 'canActivate');
      try {
        expect((await click(t, link.code)).status).toBe(302);
        expect(guard).not.toHaveBeenCalled();
        await t.http.get('/v1/me').set(auth(affiliate.apiKey)).expect(200);
        expect(guard).toHaveBeenCalled();
      } finally {
        guard.mockRestore();
      }
    });

    describe('answered ahead of Fastify (LeanServer)', () => {
      /** Status, headers and body, with what differs per click (ids, date, timing) masked. */
      const shape = (status: number, headers: Record<string, unknown>, body: string) => {
        const masked = { ...headers };
        for (const name of ['date', 'x-request-id', 'keep-alive', 'connection']) delete masked[name];
        const text = (value: unknown) => String(value).replace(/[A-Za-z0-9_-]{60}/g, '<click id>');
        if (masked.location) masked.location = text(masked.location);
        if (masked['set-cookie']) masked['set-cookie'] = text(masked['set-cookie']);
        return { status, headers: masked, body };
      };
      const cases: [string, Record<string, string>][] = [
        ['302', {}],
        ['302 with sub ids and a referrer', { referer: 'https://blog.example/p' }],
        ['404 JSON', {}],
        ['404 page', { accept: 'text/html,*/*' }],
      ];

      // A percent-encoded code is left to Fastify (its router decodes it): the framework route's answer.
      const encoded = (code: string) => `%${code.charCodeAt(0).toString(16)}${code.slice(1)}`;

      it.each(cases)('gives the answer the framework route gives: %s', async (name, headers) => {
        const code = name.startsWith('404') ? 'doesNotExist' : link.code;
        const query = '?sub1=a%20b&sub2=%F0%9F%98%80&sub1=c';
        const handle = jest.spyOn(ClickRedirectService.prototype, 'handle');
        try {
          const lean = await t.http
            .get(`/c/${code}${query}`)
            .set({ 'user-agent': 'UA-lean', ...headers })
            .redirects(0);
          expect(handle).not.toHaveBeenCalled();
          const framework = await t.http
            .get(`/c/${encoded(code)}${query}`)
            .set({ 'user-agent': 'UA-lean', ...headers })
            .redirects(0);
          expect(handle).toHaveBeenCalledTimes(1);
          expect(shape(lean.status, lean.headers, lean.text)).toEqual(shape(framework.status, framework.headers, framework.text));
          expect(lean.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        } finally {
          handle.mockRestore();
        }
      });

      it('leaves every other path under /c/ to Fastify, and answers HEAD without a body', async () => {
        const handle = jest.spyOn(ClickRedirectService.prototype, 'handle');
        try {
          expect((await t.http.get(`/c/${encoded(link.code)}`).redirects(0)).status).toBe(302);
          expect(handle).toHaveBeenCalledTimes(1);
          expect((await t.http.get(`/c/${link.code}/more`).redirects(0)).status).toBe(404);
          expect((await t.http.post(`/c/${link.code}`).redirects(0)).status).toBe(404);
          const head = await t.http.head(`/c/${link.code}`).redirects(0);
          expect(head.status).toBe(302);
          expect(head.headers.location).toMatch(/^https:\/\/shop\.example\//);
          expect(head.text ?? '').toBe('');
        } finally {
          handle.mockRestore();
        }
      });
    });

    it('takes the first of repeated sub ids', async () => {
      const res = await t.http.get(`/c/${link.code}?sub1=first&sub1=second`).redirects(0);
      expect(landing(res.headers.location).params.s1).toBe('first');
    });

    it('carries the request id and the headers a redirect needs, not the document ones', async () => {
      const res = await click(t, link.code, {}, { 'x-request-id': 'req-click-1' });
      expect(res.status).toBe(302);
      expect(res.headers['x-request-id']).toBe('req-click-1');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['referrer-policy']).toBe('no-referrer-when-downgrade');
      expect(res.headers['content-security-policy']).toBeUndefined();
      expect((await click(t, link.code)).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('counts its requests in afx_http_requests_total once each, by status class', async () => {
      const count = async (status: string) => {
        const text = (await t.http.get('/metrics').expect(200)).text;
        const line = text.split('\n').find((l) => l.startsWith(`afx_http_requests_total{method="GET",route="/c/:code",status="${status}"}`));
        return line ? Number(line.split(' ').pop()) : 0;
      };
      const [redirects, notFound] = [await count('3xx'), await count('4xx')];
      for (let i = 0; i < 3; i++) expect((await click(t, link.code)).status).toBe(302);
      expect((await t.http.get('/c/doesNotExist').redirects(0)).status).toBe(404);
      expect(await count('3xx')).toBe(redirects + 3);
      expect(await count('4xx')).toBe(notFound + 1);
    });

    it.each([['doesNotExist'], ['abc'], ['x'.repeat(40)], ['bad-code!'], ['%F0%9F%98%80']])('answers 404 in the error format for code %s', async (code) => {
      const res = await t.http.get(`/c/${code}`).redirects(0);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 'link_not_found', message: expect.any(String), details: [] } });
      expect(res.headers['set-cookie']).toBeUndefined();
    });
  });

  describe('links that may not run', () => {
    async function unavailable(offerFields: Record<string, unknown>, change: (o: OfferHandle, l: LinkHandle) => Promise<void>) {
      const offer2 = await createOffer(t, advertiser, { landingUrl: LANDING, ...offerFields });
      const link2 = await createLink(t, affiliate, offer2.id);
      await change(offer2, link2);
      return { offer: offer2, link: link2, res: await click(t, link2.code, { sub1: 'a&b' }) };
    }

    async function expectRecorded(clickId: string, status: string) {
      await flushClicks(t);
      const [row] = await storedClicks(t, 'id = $1', [clickId]);
      expect(row.status).toBe(status);
    }

    it.each([
      ['a paused offer', 'offer_paused', (o: OfferHandle) => setOffer(t, advertiser, o, { status: 'paused' })],
      ['an archived offer', 'offer_archived', (o: OfferHandle) => setOffer(t, advertiser, o, { status: 'archived' })],
      [
        'an archived link',
        'link_archived',
        async (_: OfferHandle, l: LinkHandle) => {
          await t.http.post(`/v1/links/${l.id}/archive`).set(auth(affiliate.apiKey)).expect(200);
        },
      ],
    ])('sends %s to the fallback URL with macros filled, a click id marked blocked and no cookie, and records the click as %s', async (_, status, change) => {
      const { res } = await unavailable({ fallbackUrl: FALLBACK }, change);
      expect(res.status).toBe(302);
      const { url, params } = landing(res.headers.location);
      expect(url.origin + url.pathname).toBe('https://fallback.example/sorry');
      expect(params.s1).toBe('a&b');
      expect(clickIds.verify(params.cid)?.status).toBe(status);
      expect(res.headers['set-cookie']).toBeUndefined();
      await expectRecorded(params.cid, status);
    });

    it('answers 410 offer_unavailable without a fallback URL, and still records the click', async () => {
      const { link: link2, res } = await unavailable({}, (o) => setOffer(t, advertiser, o, { status: 'paused' }));
      expect(res.status).toBe(410);
      expect(res.body.error.code).toBe('offer_unavailable');
      expect(res.headers['set-cookie']).toBeUndefined();
      await flushClicks(t);
      const rows = await storedClicks(t, 'link_id = $1', [link2.id]);
      expect(rows.map((r) => r.status)).toEqual(['offer_paused']);
    });

    it('sends the clicks of a suspended affiliate to the fallback URL, and back once reactivated', async () => {
      const { link: link2, res } = await unavailable({ fallbackUrl: FALLBACK }, () => setAffiliateStatus(t, affiliate, 'suspended'));
      try {
        expect(new URL(res.headers.location).host).toBe('fallback.example');
        await expectRecorded(landing(res.headers.location).params.cid, 'affiliate_suspended');
      } finally {
        await setAffiliateStatus(t, affiliate, 'active');
      }
      expect(new URL((await click(t, link2.code)).headers.location).host).toBe('shop.example');
    });
  });

  describe('click ids', () => {
    let genuine: string;
    beforeAll(async () => {
      genuine = landing((await click(t, link.code)).headers.location).params.cid;
    });

    it('verifies a genuine id', () => {
      expect(genuine).toMatch(/^[A-Za-z0-9_-]{60}$/);
      expect(clickIds.verify(genuine)?.linkId).toBe(link.id);
    });

    it('rejects every one-character change, truncation and extension', () => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      for (let i = 0; i < genuine.length; i++) {
        const other = alphabet[(alphabet.indexOf(genuine[i]) + 1 + (i % 63)) % 64];
        expect(clickIds.verify(genuine.slice(0, i) + other + genuine.slice(i + 1))).toBeNull();
      }
      for (let n = 0; n < genuine.length; n += 7) expect(clickIds.verify(genuine.slice(0, n))).toBeNull();
      expect(clickIds.verify(genuine + 'A')).toBeNull();
      expect(clickIds.verify(` ${genuine}`)).toBeNull();
    });

    it('rejects an id signed with another secret', () => {
      const forged = new ClickIdCodec(randomBytes(32)).issue(link.id, new Date());
      expect(clickIds.verify(forged)).toBeNull();
    });
  });

  describe('recording', () => {
    it('stores every click of a burst in batches, with its fields and uniqueness', async () => {
      const { link: link2, offer: offer2, affiliate: affiliate2, advertiser: advertiser2 } = await createLinkedSetup(t, { landingUrl: LANDING }, { sub5: 'd5' });
      const visitors = [
        { ip: '203.0.113.7', ua: 'UA-1' },
        { ip: '203.0.113.7', ua: 'UA-1' }, // the same visitor again: not unique
        { ip: '203.0.113.7', ua: 'UA-2' },
        { ip: '2001:db8:1:2::9', ua: 'UA-1' },
        { ip: 'not-an-ip', ua: 'UA-3' },
      ];
      const ids: string[] = [];
      for (const [i, v] of visitors.entries()) {
        const res = await click(t, link2.code, { sub1: `s${i}` }, { 'X-Forwarded-For': v.ip, 'User-Agent': v.ua, Referer: 'https://blog.example/post' });
        ids.push(landing(res.headers.location).params.cid);
      }
      // The same visitor on another link is unique there.
      await click(t, link.code, {}, { 'X-Forwarded-For': '203.0.113.7', 'User-Agent': 'UA-1' });
      await flushClicks(t);

      // Two clicks of a burst can share a millisecond, so the order they were sent in is read from sub1.
      const rows = (await storedClicks(t, 'link_id = $1', [link2.id])).sort((a, b) => String(a.sub1).localeCompare(String(b.sub1)));
      expect(rows.map((r) => r.id)).toEqual(ids);
      rows.forEach((row, i) =>
        expect(row).toMatchObject({
          link_id: link2.id,
          offer_id: offer2.id,
          affiliate_id: affiliate2.id,
          advertiser_id: advertiser2.id,
          channel: 'other',
          sub1: `s${i}`,
          sub5: 'd5',
          user_agent: visitors[i].ua,
          referrer: 'https://blog.example/post',
          status: 'ok',
          ip_text: visitors[i].ip === 'not-an-ip' ? null : visitors[i].ip,
        }),
      );
      expect(rows.map((r) => r.is_unique)).toEqual([true, false, true, true, true]);
      const [other] = await storedClicks(t, `link_id = $1 AND user_agent = 'UA-1'`, [link.id]);
      expect(other.is_unique).toBe(true);
      // Today's partition holds them, not the default one.
      const [{ count }] = await t.dataSource.query(`SELECT count(*)::int AS count FROM clicks_default`);
      expect(count).toBe(0);
    });

    it('keeps clicks through a database failure and writes them once it is back', async () => {
      const { link: link2 } = await createLinkedSetup(t);
      await t.dataSource.query(`ALTER TABLE clicks RENAME TO clicks_away`);
      try {
        for (let i = 0; i < 5; i++) expect((await click(t, link2.code)).status).toBe(302);
        await new Promise((resolve) => setTimeout(resolve, 400)); // several flush attempts fail meanwhile
      } finally {
        await t.dataSource.query(`ALTER TABLE clicks_away RENAME TO clicks`);
      }
      await flushClicks(t);
      expect(await storedClicks(t, 'link_id = $1', [link2.id])).toHaveLength(5);
      expect(t.logs.join('\n')).toMatch(/writing \d+ clicks failed/);
      const metrics = await t.http.get('/metrics');
      expect(metrics.text).not.toMatch(/afx_clicks_dropped_total\{[^}]*\} [1-9]/);
    });

    it('counts clicks unique when Redis does not answer, and says so in the metrics', async () => {
      const { link: link2 } = await createLinkedSetup(t);
      const redis = t.app.get(RedisService).client;
      redis.disconnect();
      try {
        await click(t, link2.code, {}, { 'X-Forwarded-For': '198.51.100.1' });
        await click(t, link2.code, {}, { 'X-Forwarded-For': '198.51.100.1' });
        await flushClicks(t);
      } finally {
        await redis.connect();
      }
      const rows = await storedClicks(t, 'link_id = $1', [link2.id]);
      expect(rows.map((r) => r.is_unique)).toEqual([true, true]);
      expect((await t.http.get('/metrics')).text).toMatch(/afx_click_unique_fallback_total [1-9]/);
    });
  });

  describe('without CLICK_SECRET, over https', () => {
    let t2: TestApp;
    beforeAll(async () => {
      // createTestApp leaves in process.env what the first app of this file set there.
      delete process.env.CLICK_SECRET;
      t2 = await createTestApp({ env: { CLICK_SECRET: undefined, PUBLIC_BASE_URL: 'https://track.example' } });
    });
    afterAll(() => t2.close());

    it('signs with one generated secret that every process reads back', async () => {
      const secrets = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateClickSecret(t2.dataSource)));
      expect(new Set(secrets).size).toBe(1);
      const { link: link2 } = await createLinkedSetup(t2, { landingUrl: LANDING });
      const res = await click(t2, link2.code);
      const cid = landing(res.headers.location).params.cid;
      expect(new ClickIdCodec(secrets[0]).verify(cid)?.linkId).toBe(link2.id);
      expect(t2.app.get(ClickIdService).verify(cid)?.linkId).toBe(link2.id);
      expect(res.headers['set-cookie'][0]).toMatch(/; HttpOnly; SameSite=None; Secure$/);
      expect(link2.url).toBe(`https://track.example/c/${link2.code}`);
    });
  });
});
