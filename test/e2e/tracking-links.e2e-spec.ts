import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAffiliate, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { applyToOffer, approveAccess, Cast, createCast, createLink, LinkHandle, setAffiliateStatus, setOffer } from '../support/tracking.factories';

describe('tracking links', () => {
  let t: TestApp;
  let c: Cast;
  let publicOffer: OfferHandle;
  let otherPublicOffer: OfferHandle;

  beforeAll(async () => {
    t = await createTestApp();
    c = await createCast(t);
    [publicOffer, otherPublicOffer] = await Promise.all([createOffer(t, c.advertiser), createOffer(t, c.otherAdvertiser)]);
  });
  afterAll(() => t.close());

  const post = (who: PrincipalHandle | string, body: Record<string, unknown>) =>
    t.http
      .post('/v1/links')
      .set(auth(typeof who === 'string' ? who : who.apiKey))
      .send(body);

  describe('creating', () => {
    it('answers the link with its shareable URL and defaults', async () => {
      const res = await post(c.affiliate, { offerId: publicOffer.id });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        code: expect.stringMatching(/^[A-Za-z0-9]{10}$/),
        url: `http://afflux.test/c/${res.body.code}`,
        offerId: publicOffer.id,
        affiliateId: c.affiliate.id,
        label: null,
        channel: 'other',
        sub1: null,
        sub2: null,
        sub3: null,
        sub4: null,
        sub5: null,
        createdAt: expect.any(String),
        archivedAt: null,
      });
      const [row] = await t.dataSource.query('SELECT advertiser_id FROM tracking_links WHERE id = $1', [res.body.id]);
      expect(row.advertiser_id).toBe(c.advertiser.id);
    });

    it('keeps the label, channel and default sub ids; codes differ', async () => {
      const body = { offerId: publicOffer.id, label: 'June newsletter', channel: 'email', sub1: 'news', sub3: 'ü & <b>', sub5: 'x'.repeat(255) };
      const [a, b] = await Promise.all([post(c.affiliate, body), post(c.affiliate, body)]);
      expect(a.status).toBe(201);
      expect(a.body).toMatchObject({ label: 'June newsletter', channel: 'email', sub1: 'news', sub2: null, sub3: 'ü & <b>', sub5: 'x'.repeat(255) });
      expect(a.body.code).not.toBe(b.body.code);
    });

    it.each([
      ['no offer', { offerId: undefined }, 'offerId'],
      ['a malformed offer id', { offerId: 'nope' }, 'offerId'],
      ['an unknown channel', { channel: 'tv' }, 'channel'],
      ['a 256-character sub id', { sub2: 'x'.repeat(256) }, 'sub2'],
      ['a numeric sub id', { sub1: 42 }, 'sub1'],
      ['a 201-character label', { label: 'x'.repeat(201) }, 'label'],
      ['an unknown field', { affiliateId: '00000000-0000-4000-8000-000000000000' }, 'affiliateId'],
    ])('rejects %s', async (_, fields, field) => {
      const res = await post(c.affiliate, { offerId: publicOffer.id, ...fields });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    });

    it('needs an approved application for an approval_required offer', async () => {
      const offer = await createOffer(t, c.advertiser, { visibility: 'approval_required' });
      const refused = await post(c.affiliate, { offerId: offer.id });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('offer_access_required');
      await applyToOffer(t, c.affiliate, offer.id);
      expect((await post(c.affiliate, { offerId: offer.id })).body.error.code).toBe('offer_access_required');
      await approveAccess(t, c.advertiser.apiKey, offer.id, c.affiliate.id);
      expect((await post(c.affiliate, { offerId: offer.id })).status).toBe(201);
      // Another affiliate's approval is not this one's.
      expect((await post(c.otherAffiliate, { offerId: offer.id })).status).toBe(403);
    });

    it('hides a private offer (404) until an admin grants access', async () => {
      const offer = await createOffer(t, c.advertiser, { visibility: 'private' });
      const hidden = await post(c.affiliate, { offerId: offer.id });
      expect(hidden.status).toBe(404);
      expect(hidden.body.error.code).toBe('offer_not_found');
      await approveAccess(t, t.adminKey, offer.id, c.affiliate.id);
      expect((await post(c.affiliate, { offerId: offer.id })).status).toBe(201);
      expect((await post(c.otherAffiliate, { offerId: offer.id })).status).toBe(404);
    });

    it('refuses an archived offer (409) but allows a paused one', async () => {
      const archived = await createOffer(t, c.advertiser);
      await setOffer(t, c.advertiser, archived, { status: 'archived' });
      const res = await post(c.affiliate, { offerId: archived.id });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('offer_archived');
      const paused = await createOffer(t, c.advertiser, { status: 'paused' });
      expect((await post(c.affiliate, { offerId: paused.id })).status).toBe(201);
    });

    it('refuses a suspended affiliate', async () => {
      const suspended = await createAffiliate(t);
      await setAffiliateStatus(t, suspended, 'suspended');
      const res = await post(suspended, { offerId: publicOffer.id });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('affiliate_suspended');
    });

    it('answers 404 for an offer that does not exist', async () => {
      const res = await post(c.affiliate, { offerId: '00000000-0000-4000-8000-000000000000' });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('offer_not_found');
    });

    it('is for affiliates only', async () => {
      for (const key of [c.advertiser.apiKey, t.adminKey, c.finance.apiKey]) {
        const res = await post(key, { offerId: publicOffer.id });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
      expect((await t.http.post('/v1/links').send({ offerId: publicOffer.id })).status).toBe(401);
    });
  });

  describe('reading', () => {
    let mine: LinkHandle[];
    let theirs: LinkHandle;
    let onOtherAdvertiser: LinkHandle;

    beforeAll(async () => {
      mine = [];
      for (let i = 0; i < 5; i++) mine.push(await createLink(t, c.affiliate, publicOffer.id, { label: `mine ${i}` }));
      theirs = await createLink(t, c.otherAffiliate, publicOffer.id);
      onOtherAdvertiser = await createLink(t, c.affiliate, otherPublicOffer.id);
    });

    const list = async (key: string, query: Record<string, string | number> = {}) => {
      const res = await t.http.get('/v1/links').query(query).set(auth(key));
      expect(res.status).toBe(200);
      return res.body as { data: LinkHandle[]; nextCursor: string | null };
    };
    const ids = (page: { data: LinkHandle[] }) => page.data.map((l) => l.id);

    it('shows an affiliate its own links only', async () => {
      const page = await list(c.affiliate.apiKey, { limit: 500 });
      expect(ids(page)).toEqual(expect.arrayContaining([...mine.map((l) => l.id), onOtherAdvertiser.id]));
      expect(ids(page)).not.toContain(theirs.id);
      expect(page.data.every((l) => l.affiliateId === c.affiliate.id)).toBe(true);
      // Asking for someone else's rows by filter changes nothing.
      expect(ids(await list(c.affiliate.apiKey, { affiliateId: c.otherAffiliate.id }))).toEqual([]);
    });

    it('shows an advertiser the links to its offers, an admin all; finance is refused', async () => {
      const own = ids(await list(c.advertiser.apiKey, { limit: 500 }));
      expect(own).toEqual(expect.arrayContaining([...mine.map((l) => l.id), theirs.id]));
      expect(own).not.toContain(onOtherAdvertiser.id);
      expect(ids(await list(c.otherAdvertiser.apiKey))).toEqual([onOtherAdvertiser.id]);
      expect(ids(await list(c.advertiser.apiKey, { affiliateId: c.otherAffiliate.id }))).toEqual([theirs.id]);
      const all = ids(await list(t.adminKey, { limit: 500 }));
      expect(all).toEqual(expect.arrayContaining([...mine.map((l) => l.id), theirs.id, onOtherAdvertiser.id]));
      const res = await t.http.get('/v1/links').set(auth(c.finance.apiKey));
      expect(res.status).toBe(403);
    });

    it('filters by offer and pages with a cursor, newest first, without repeats', async () => {
      expect(ids(await list(c.affiliate.apiKey, { offerId: otherPublicOffer.id }))).toEqual([onOtherAdvertiser.id]);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: LinkHandle[]; nextCursor: string | null } = await list(c.affiliate.apiKey, { limit: 2, offerId: publicOffer.id, ...(cursor ? { cursor } : {}) });
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...ids(page));
        cursor = page.nextCursor;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.slice(0, 5)).toEqual(mine.map((l) => l.id).reverse());
      const bad = await t.http.get('/v1/links').query({ cursor: 'garbage' }).set(auth(c.affiliate.apiKey));
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_cursor');
    });

    it("reads one link; another principal's link is a 404", async () => {
      const path = `/v1/links/${mine[0].id}`;
      expect((await t.http.get(path).set(auth(c.affiliate.apiKey))).body.id).toBe(mine[0].id);
      expect((await t.http.get(path).set(auth(c.advertiser.apiKey))).status).toBe(200);
      expect((await t.http.get(path).set(auth(t.adminKey))).status).toBe(200);
      for (const key of [c.otherAffiliate.apiKey, c.otherAdvertiser.apiKey]) {
        const res = await t.http.get(path).set(auth(key));
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('link_not_found');
      }
      expect((await t.http.get(path).set(auth(c.finance.apiKey))).status).toBe(403);
      expect((await t.http.get('/v1/links/not-an-id').set(auth(c.affiliate.apiKey))).status).toBe(404);
    });

    it('archives a link for its affiliate or an admin, once', async () => {
      const path = `/v1/links/${mine[4].id}/archive`;
      expect((await t.http.post(path).set(auth(c.otherAffiliate.apiKey))).status).toBe(404);
      expect((await t.http.post(path).set(auth(c.advertiser.apiKey))).status).toBe(403);
      expect((await t.http.post(path).set(auth(c.finance.apiKey))).status).toBe(403);
      const first = await t.http.post(path).set(auth(c.affiliate.apiKey));
      expect(first.status).toBe(200);
      expect(first.body.archivedAt).toEqual(expect.any(String));
      const again = await t.http.post(path).set(auth(t.adminKey));
      expect(again.body.archivedAt).toBe(first.body.archivedAt);
    });
  });

  it('describes every tracking endpoint in the OpenAPI document', async () => {
    const { body } = await t.http.get('/docs/openapi.json').expect(200);
    for (const path of ['/c/{code}', '/v1/links', '/v1/links/{id}', '/v1/links/{id}/archive', '/v1/clicks', '/v1/coupons', '/v1/coupons/{id}', '/v1/coupons/{id}/{action}']) {
      expect(Object.keys(body.paths)).toContain(path);
    }
    expect(body.paths['/c/{code}'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['code', 'sub1', 'sub5']));
  });
});
