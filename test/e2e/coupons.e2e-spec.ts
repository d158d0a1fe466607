import { CouponsService } from '../../src/modules/tracking/coupons.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createAffiliate, createOffer, OfferHandle } from '../support/factories';
import { approveAccess, Cast, createCast, setAffiliateStatus, setOffer } from '../support/tracking.factories';

interface CouponBody {
  id: string;
  code: string;
  status: string;
  affiliateId: string;
  offerId: string;
  [key: string]: unknown;
}

describe('coupon codes', () => {
  let t: TestApp;
  let c: Cast;
  let offer: OfferHandle;
  let otherOffer: OfferHandle;
  let counter = 0;
  const code = (prefix = 'CODE') => `${prefix}-${Date.now().toString(36)}-${++counter}`;

  beforeAll(async () => {
    t = await createTestApp();
    c = await createCast(t);
    [offer, otherOffer] = await Promise.all([createOffer(t, c.advertiser), createOffer(t, c.otherAdvertiser)]);
  });
  afterAll(() => t.close());

  const create = (key: string, body: Record<string, unknown>) => t.http.post('/v1/coupons').set(auth(key)).send(body);
  const act = (key: string, id: string, action: 'approve' | 'reject' | 'revoke') => t.http.post(`/v1/coupons/${id}/${action}`).set(auth(key));
  async function created(key: string, body: Record<string, unknown>): Promise<CouponBody> {
    const res = await create(key, body);
    expect(res.status).toBe(201);
    return res.body;
  }

  describe('assignment by the advertiser or an admin', () => {
    it('creates an active code for an affiliate', async () => {
      const res = await create(c.advertiser.apiKey, { offerId: offer.id, affiliateId: c.affiliate.id, code: 'Summer-10' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        code: 'Summer-10',
        offerId: offer.id,
        advertiserId: c.advertiser.id,
        affiliateId: c.affiliate.id,
        status: 'active',
        requestedBy: c.advertiser.id,
        createdAt: expect.any(String),
        decidedAt: expect.any(String),
      });
      const byAdmin = await created(t.adminKey, { offerId: otherOffer.id, affiliateId: c.affiliate.id, code: code() });
      expect(byAdmin).toMatchObject({ advertiserId: c.otherAdvertiser.id, status: 'active', requestedBy: expect.any(String) });
    });

    it('is unique per advertiser whatever the case, and free for another advertiser', async () => {
      await created(c.advertiser.apiKey, { offerId: offer.id, affiliateId: c.affiliate.id, code: 'BlackFriday' });
      for (const variant of ['blackfriday', 'BLACKFRIDAY', 'BlackFriday']) {
        const res = await create(c.advertiser.apiKey, { offerId: offer.id, affiliateId: c.otherAffiliate.id, code: variant });
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe('coupon_code_taken');
      }
      await created(c.otherAdvertiser.apiKey, { offerId: otherOffer.id, affiliateId: c.affiliate.id, code: 'blackFRIDAY' });
    });

    it('gives exactly one of 20 concurrent creations of a code', async () => {
      const wanted = code('RACE');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          create(c.advertiser.apiKey, { offerId: offer.id, affiliateId: i % 2 ? c.affiliate.id : c.otherAffiliate.id, code: i % 3 ? wanted : wanted.toLowerCase() }),
        ),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      const refused = results.filter((r) => r.status !== 201);
      expect(refused.map((r) => [r.status, r.body.error.code])).toEqual(Array(19).fill([409, 'coupon_code_taken']));
      const [{ n }] = await t.dataSource.query('SELECT count(*)::int AS n FROM coupons WHERE lower(code) = lower($1)', [wanted]);
      expect(n).toBe(1);
    });

    it("refuses another advertiser's offer (404), an archived offer (409) and an affiliate without access (409)", async () => {
      const notMine = await create(c.advertiser.apiKey, { offerId: otherOffer.id, affiliateId: c.affiliate.id, code: code() });
      expect(notMine.status).toBe(404);
      expect(notMine.body.error.code).toBe('offer_not_found');

      const archived = await createOffer(t, c.advertiser);
      await setOffer(t, c.advertiser, archived, { status: 'archived' });
      expect((await create(c.advertiser.apiKey, { offerId: archived.id, affiliateId: c.affiliate.id, code: code() })).body.error.code).toBe('offer_archived');

      const gated = await createOffer(t, c.advertiser, { visibility: 'approval_required' });
      const noAccess = await create(c.advertiser.apiKey, { offerId: gated.id, affiliateId: c.affiliate.id, code: code() });
      expect(noAccess.status).toBe(409);
      expect(noAccess.body.error.code).toBe('affiliate_no_access');
      await approveAccess(t, t.adminKey, gated.id, c.affiliate.id);
      await created(c.advertiser.apiKey, { offerId: gated.id, affiliateId: c.affiliate.id, code: code() });
    });

    it.each([
      ['no affiliate', { affiliateId: undefined }, 'affiliateId'],
      ['an unknown affiliate', { affiliateId: '00000000-0000-4000-8000-000000000000' }, 'affiliateId'],
      ['an advertiser as affiliate', { affiliateId: '%ADVERTISER%' }, 'affiliateId'],
      ['a 2-character code', { code: 'ab' }, 'code'],
      ['a 33-character code', { code: 'x'.repeat(33) }, 'code'],
      ['a code with a space', { code: 'has space' }, 'code'],
      ['a code with an umlaut', { code: 'ümlaut' }, 'code'],
      ['a numeric code', { code: 12345 }, 'code'],
      ['an unknown field', { discount: 10 }, 'discount'],
    ])('rejects %s', async (_, fields, field) => {
      const body = { offerId: offer.id, affiliateId: c.affiliate.id, code: code(), ...fields };
      if (body.affiliateId === '%ADVERTISER%') body.affiliateId = c.advertiser.id;
      const res = await create(c.advertiser.apiKey, body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    });

    it('is refused to finance', async () => {
      const res = await create(c.finance.apiKey, { offerId: offer.id, affiliateId: c.affiliate.id, code: code() });
      expect(res.status).toBe(403);
    });
  });

  describe('vanity requests', () => {
    it('lets an affiliate request a code, pending until the advertiser approves', async () => {
      const wanted = code('JANE');
      const request = await created(c.affiliate.apiKey, { offerId: offer.id, code: wanted });
      expect(request).toMatchObject({ status: 'pending', affiliateId: c.affiliate.id, requestedBy: c.affiliate.id, decidedAt: null });
      const coupons = t.app.get(CouponsService);
      expect(await coupons.findActive(c.advertiser.id, wanted)).toBeNull();
      // A pending code is taken too.
      expect((await create(c.advertiser.apiKey, { offerId: offer.id, affiliateId: c.otherAffiliate.id, code: wanted })).status).toBe(409);

      for (const key of [c.affiliate.apiKey, c.finance.apiKey]) expect((await act(key, request.id, 'approve')).status).toBe(403);
      expect((await act(c.otherAdvertiser.apiKey, request.id, 'approve')).status).toBe(404);
      const approved = await act(c.advertiser.apiKey, request.id, 'approve');
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ status: 'active', decidedAt: expect.any(String) });
      expect(await coupons.findActive(c.advertiser.id, wanted.toUpperCase())).toEqual({ id: request.id, offerId: offer.id, affiliateId: c.affiliate.id, code: wanted });
      expect(await coupons.findActive(c.otherAdvertiser.id, wanted)).toBeNull();

      const again = await act(c.advertiser.apiKey, request.id, 'approve');
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('coupon_not_pending');
    });

    it('frees the code when the request is rejected', async () => {
      const wanted = code('NOPE');
      const request = await created(c.affiliate.apiKey, { offerId: offer.id, affiliateId: c.affiliate.id, code: wanted });
      const rejected = await act(t.adminKey, request.id, 'reject');
      expect(rejected.body.status).toBe('rejected');
      expect((await act(c.advertiser.apiKey, request.id, 'reject')).status).toBe(409);
      await created(c.otherAffiliate.apiKey, { offerId: offer.id, code: wanted.toLowerCase() });
    });

    it('needs access to the offer, an active account, and is for the affiliate itself', async () => {
      const gated = await createOffer(t, c.advertiser, { visibility: 'approval_required' });
      expect((await create(c.affiliate.apiKey, { offerId: gated.id, code: code() })).body.error.code).toBe('offer_access_required');
      const hidden = await createOffer(t, c.advertiser, { visibility: 'private' });
      expect((await create(c.affiliate.apiKey, { offerId: hidden.id, code: code() })).status).toBe(404);
      const forOther = await create(c.affiliate.apiKey, { offerId: offer.id, affiliateId: c.otherAffiliate.id, code: code() });
      expect(forOther.status).toBe(400);
      expect(forOther.body.error.code).toBe('field_not_allowed');

      const suspended = await createAffiliate(t);
      await setAffiliateStatus(t, suspended, 'suspended');
      expect((await create(suspended.apiKey, { offerId: offer.id, code: code() })).body.error.code).toBe('affiliate_suspended');
    });
  });

  describe('revocation', () => {
    it('revokes an active code for good: it stops attributing and stays taken', async () => {
      const wanted = code('GONE');
      const coupon = await created(c.advertiser.apiKey, { offerId: offer.id, affiliateId: c.affiliate.id, code: wanted });
      expect((await act(c.affiliate.apiKey, coupon.id, 'revoke')).status).toBe(403);
      expect((await act(c.otherAdvertiser.apiKey, coupon.id, 'revoke')).status).toBe(404);
      const revoked = await act(c.advertiser.apiKey, coupon.id, 'revoke');
      expect(revoked.status).toBe(200);
      expect(revoked.body.status).toBe('revoked');
      expect(await t.app.get(CouponsService).findActive(c.advertiser.id, wanted)).toBeNull();
      const twice = await act(t.adminKey, coupon.id, 'revoke');
      expect(twice.status).toBe(409);
      expect(twice.body.error.code).toBe('coupon_not_active');
      expect((await create(c.advertiser.apiKey, { offerId: offer.id, affiliateId: c.affiliate.id, code: wanted })).status).toBe(409);
      expect((await act(c.advertiser.apiKey, 'not-an-id', 'revoke')).status).toBe(404);
      const unknownAction = await t.http.post(`/v1/coupons/${coupon.id}/explode`).set(auth(c.advertiser.apiKey));
      expect(unknownAction.status).toBe(404);
    });
  });

  describe('reading', () => {
    let mine: CouponBody;
    let theirs: CouponBody;
    let pending: CouponBody;

    beforeAll(async () => {
      mine = await created(c.advertiser.apiKey, { offerId: offer.id, affiliateId: c.affiliate.id, code: code('READ') });
      theirs = await created(c.otherAdvertiser.apiKey, { offerId: otherOffer.id, affiliateId: c.otherAffiliate.id, code: code('READ') });
      pending = await created(c.affiliate.apiKey, { offerId: offer.id, code: code('READ') });
    });

    async function list(key: string, query: Record<string, string | number> = {}) {
      const res = await t.http
        .get('/v1/coupons')
        .query({ limit: 500, ...query })
        .set(auth(key));
      expect(res.status).toBe(200);
      return (res.body.data as CouponBody[]).map((c) => c.id);
    }

    it('scopes the list: affiliates and advertisers their own, admin and finance all', async () => {
      const affiliateView = await list(c.affiliate.apiKey);
      expect(affiliateView).toEqual(expect.arrayContaining([mine.id, pending.id]));
      expect(affiliateView).not.toContain(theirs.id);
      expect(await list(c.otherAffiliate.apiKey)).not.toContain(mine.id);
      const advertiserView = await list(c.advertiser.apiKey);
      expect(advertiserView).toEqual(expect.arrayContaining([mine.id, pending.id]));
      expect(advertiserView).not.toContain(theirs.id);
      for (const key of [t.adminKey, c.finance.apiKey]) expect(await list(key)).toEqual(expect.arrayContaining([mine.id, theirs.id, pending.id]));
      expect((await t.http.get('/v1/coupons')).status).toBe(401);
    });

    it('filters by offer and status, and pages with a cursor', async () => {
      expect(await list(c.advertiser.apiKey, { status: 'pending' })).toContain(pending.id);
      expect(await list(c.advertiser.apiKey, { status: 'pending' })).not.toContain(mine.id);
      expect(await list(t.adminKey, { offerId: otherOffer.id })).not.toContain(mine.id);
      const all = await list(c.advertiser.apiKey);
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await t.http
          .get('/v1/coupons')
          .query({ limit: 3, ...(cursor ? { cursor } : {}) })
          .set(auth(c.advertiser.apiKey));
        paged.push(...res.body.data.map((c: CouponBody) => c.id));
        cursor = res.body.nextCursor ?? undefined;
      } while (cursor);
      expect(paged).toEqual(all);
      expect((await t.http.get('/v1/coupons').query({ status: 'expired' }).set(auth(t.adminKey))).status).toBe(400);
    });

    it("reads one coupon; another principal's is a 404", async () => {
      const path = `/v1/coupons/${mine.id}`;
      for (const key of [c.affiliate.apiKey, c.advertiser.apiKey, t.adminKey, c.finance.apiKey]) expect((await t.http.get(path).set(auth(key))).status).toBe(200);
      for (const key of [c.otherAffiliate.apiKey, c.otherAdvertiser.apiKey]) {
        const res = await t.http.get(path).set(auth(key));
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('coupon_not_found');
      }
    });
  });
});
