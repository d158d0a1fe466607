import { CommissionsService } from '../../src/modules/commissions/commissions.service';
import { intakeFacts, intakeFactsMany, IntakeQuery } from '../../src/modules/quality/quality-facts';
import { QualityJobs } from '../../src/modules/quality/quality.jobs';
import { QualityService } from '../../src/modules/quality/quality.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createOffer, OfferHandle } from '../support/factories';
import { Cast, click, createCast, createLink, flushClicks } from '../support/tracking.factories';

const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const HOME_GB = '81.2.69.142';
const HOME_BR = '200.160.2.3';
/** DigitalOcean (AS14061), listed in hosting-asns.txt. */
const DATACENTRE = (n: number) => `5.101.96.${n}`;

/** Traffic quality through the real API: signals, scores, the offer's policy, appeals, the review queue and the quality report. */
describe('traffic quality', () => {
  let t: TestApp;
  let c: Cast;
  let offer: OfferHandle;
  let otherOffer: OfferHandle;
  let n = 0;
  const txn = () => `Q-${Date.now().toString(36)}-${++n}`;
  let ipCounter = 10;
  /** An address of its own per honest click, so no flood builds up across tests. */
  const homeIp = () => `81.2.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;

  /** A click through the redirect; answers its click id and cookie. */
  async function clickOn(
    offerId: string,
    headers: Record<string, string>,
    query: Record<string, string> = {},
    affiliate = c.affiliate,
  ): Promise<{ clickId: string; cookie: string }> {
    const link = await createLink(t, affiliate, offerId);
    const res = await click(t, link.code, query, { 'user-agent': BROWSER, ...headers });
    expect(res.status).toBe(302);
    const cookie = ((res.headers['set-cookie'] as unknown as string[]) ?? []).find((x) => x.startsWith('afx_click=')) ?? '';
    return { clickId: new URL(res.headers.location).searchParams.get('cid') as string, cookie: cookie.split(';')[0] };
  }

  const convert = (body: Record<string, unknown>, key = c.advertiser.apiKey) =>
    t.http
      .post('/v1/conversions')
      .set(auth(key))
      .send({ goal: 'lead', txnId: txn(), ...body });
  const codes = (body: { risk: { reasons: { code: string }[] } | null }) => (body.risk?.reasons ?? []).map((r) => r.code);
  const get = (id: string, key = c.advertiser.apiKey) => t.http.get(`/v1/conversions/${id}`).set(auth(key));
  const appeal = (id: string, message: unknown, key = c.affiliate.apiKey) => t.http.post(`/v1/conversions/${id}/appeals`).set(auth(key)).send({ message });
  const resolve = (id: string, appealId: string, body: Record<string, unknown>, key = c.advertiser.apiKey) =>
    t.http.post(`/v1/conversions/${id}/appeals/${appealId}/resolve`).set(auth(key)).send(body);
  const ledgerKinds = async (id: string) =>
    ((await t.dataSource.query(`SELECT kind FROM journal_entries WHERE cause_type = 'conversion' AND cause_id = $1 ORDER BY kind`, [id])) as { kind: string }[]).map((r) => r.kind);

  /** A conversion held for review: a bot click from a data-centre range. */
  async function heldConversion(): Promise<string> {
    const { clickId } = await clickOn(offer.id, { 'x-forwarded-for': DATACENTRE(200), 'user-agent': 'curl/8.4.0' });
    await flushClicks(t);
    const res = await convert({ clickId });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'pending', hold: 'review' });
    return res.body.id;
  }

  beforeAll(async () => {
    t = await createTestApp();
    c = await createCast(t);
    offer = await createOffer(t, c.advertiser, { lockPeriodDays: 0 });
    otherOffer = await createOffer(t, c.otherAdvertiser, { lockPeriodDays: 0 });
  });
  afterAll(() => t.close());

  describe('click signals, at write time', () => {
    it('an honest click from a home network with a browser scores 0', async () => {
      await clickOn(offer.id, { 'x-forwarded-for': homeIp() }, { sub1: 'honest' });
      await flushClicks(t);
      const res = await t.http.get('/v1/clicks').query({ sub1: 'honest' }).set(auth(c.affiliate.apiKey));
      expect(res.body.data[0].risk).toEqual({ score: 0, reasons: [] });
    });

    it('bot_user_agent and datacenter_ip fire on a script from a hosting network', async () => {
      await clickOn(offer.id, { 'x-forwarded-for': DATACENTRE(1), 'user-agent': 'python-requests/2.31' }, { sub1: 'script' });
      await flushClicks(t);
      const res = await t.http.get('/v1/clicks').query({ sub1: 'script' }).set(auth(c.advertiser.apiKey));
      expect(res.body.data[0].risk).toEqual({
        score: 61,
        reasons: [
          { code: 'bot_user_agent', detail: 'user agent "python-requests/2.31"' },
          { code: 'datacenter_ip', detail: 'AS14061 DigitalOcean, LLC' },
        ],
      });
    });

    it('ip_flood fires once one IP passes 20 clicks in an hour, across batches (the quality job); quiet up to 20', async () => {
      const link = await createLink(t, c.affiliate, offer.id);
      const ip = homeIp();
      for (let i = 0; i < 20; i++) {
        await click(t, link.code, { sub1: 'flood' }, { 'x-forwarded-for': ip, 'user-agent': BROWSER });
        if (i % 7 === 0) await flushClicks(t);
      }
      await flushClicks(t);
      expect(await t.app.get(QualityService).markFloods()).toBe(0);
      const quiet = await t.http.get('/v1/clicks').query({ sub1: 'flood', linkId: link.id }).set(auth(c.affiliate.apiKey));
      expect(quiet.body.data.every((k: { risk: { score: number } }) => k.risk.score === 0)).toBe(true);

      await click(t, link.code, { sub1: 'flood' }, { 'x-forwarded-for': ip, 'user-agent': BROWSER });
      await flushClicks(t);
      expect(await t.app.get(QualityService).markFloods()).toBe(21);
      const flooded = await t.http.get('/v1/clicks').query({ sub1: 'flood', linkId: link.id, limit: '50' }).set(auth(c.affiliate.apiKey));
      expect(flooded.body.data).toHaveLength(21);
      for (const k of flooded.body.data) expect(k.risk.reasons).toEqual([{ code: 'ip_flood', detail: '21 clicks from one IP within an hour (more than 20)' }]);
    });
    it('sub_flood fires once one sub id of a link passes 500 clicks in an hour, whatever the IPs (the quality job); quiet up to 500', async () => {
      const link = await createLink(t, c.affiliate, offer.id);
      const burst = async (count: number) => {
        for (let i = 0; i < count; i += 25) {
          await Promise.all(Array.from({ length: Math.min(25, count - i) }, () => click(t, link.code, { sub1: 'viral' }, { 'x-forwarded-for': homeIp(), 'user-agent': BROWSER })));
          await flushClicks(t);
        }
      };
      await burst(500);
      await t.app.get(QualityService).markFloods();
      const viral = () => t.dataSource.query(`SELECT risk_reasons FROM clicks WHERE link_id = $1`, [link.id]) as Promise<{ risk_reasons: { code: string; detail: string }[] }[]>;
      const quiet = await viral();
      expect(quiet).toHaveLength(500);
      expect(quiet.every((k) => k.risk_reasons === null)).toBe(true);

      await burst(1);
      await t.app.get(QualityService).markFloods();
      const flooded = await viral();
      expect(flooded.every((k) => k.risk_reasons.some((r) => r.code === 'sub_flood' && r.detail === '501 clicks on sub1 "viral" within an hour (more than 500)'))).toBe(true);
    }, 60_000);
  });

  describe('conversion signals and the policy', () => {
    it("the click's risk travels into its conversion; bot + data centre reach the default hold: pending, hold review, never auto-approved", async () => {
      const id = await heldConversion();
      const res = await get(id);
      expect(codes(res.body)).toEqual(['bot_user_agent', 'datacenter_ip', 'fast_conversion']);
      expect(res.body.risk.score).toBeGreaterThanOrEqual(60);
      await t.dataSource.query(`UPDATE conversions SET approve_after = now() - interval '1 day' WHERE id = $1`, [id]);
      await t.app.get(CommissionsService).approveDue();
      expect((await get(id)).body).toMatchObject({ status: 'pending', hold: 'review' });
    });

    it('an honest conversion is neither held nor rejected, and its lock-0 offer approves it', async () => {
      const { clickId } = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
      await flushClicks(t);
      const res = await convert({ clickId, customerId: 'honest-customer' });
      expect(res.body).toMatchObject({ status: 'approved', hold: null });
      expect(codes(res.body)).toEqual(['fast_conversion']);
    });

    it('rejectAbove rejects with reason risk, naming the codes', async () => {
      const strict = await createOffer(t, c.advertiser, { lockPeriodDays: 0, quality: { rejectAbove: 60 } });
      expect(strict.quality).toEqual({ holdAbove: 60, rejectAbove: 60 });
      const { clickId } = await clickOn(strict.id, { 'x-forwarded-for': DATACENTRE(2), 'user-agent': 'curl/8.4.0' });
      await flushClicks(t);
      const res = await convert({ clickId });
      expect(res.body).toMatchObject({ status: 'rejected', reason: 'risk', reasonDetail: 'bot_user_agent, datacenter_ip, fast_conversion' });
      expect(await ledgerKinds(res.body.id)).toEqual([]);
    });

    it('quality: bad policy values are refused with 400', async () => {
      for (const quality of [{ holdAbove: 101 }, { rejectAbove: -1 }, { holdAbove: 'x' }]) {
        expect((await t.http.patch(`/v1/offers/${offer.id}`).set(auth(c.advertiser.apiKey)).send({ quality })).status).toBe(400);
      }
    });

    it('fast_conversion fires right after the click; quiet after a plausible wait', async () => {
      const { clickId } = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
      await new Promise((r) => setTimeout(r, 5200));
      const res = await convert({ clickId });
      expect(codes(res.body)).toEqual([]);
      expect(res.body.risk).toEqual({ score: 0, reasons: [] });
    }, 15_000);

    it('duplicate_customer fires when a customer converts for a second affiliate; quiet for the same affiliate again', async () => {
      const customerId = `cust-${txn()}`;
      const first = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
      await flushClicks(t);
      expect(codes((await convert({ clickId: first.clickId, customerId })).body)).not.toContain('duplicate_customer');
      const again = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
      await flushClicks(t);
      expect(codes((await convert({ clickId: again.clickId, customerId })).body)).not.toContain('duplicate_customer');
      const other = await clickOn(offer.id, { 'x-forwarded-for': homeIp() }, {}, c.otherAffiliate);
      await flushClicks(t);
      const res = await convert({ clickId: other.clickId, customerId });
      expect(res.body.risk.reasons).toContainEqual({ code: 'duplicate_customer', detail: 'this customer converted before for 1 other affiliate of the advertiser' });
    });

    it("self_referral fires when the customer id is the affiliate's own e-mail or its SHA-256; quiet for another customer", async () => {
      const [{ email }] = await t.dataSource.query(`SELECT email FROM principals WHERE id = $1`, [c.affiliate.id]);
      const { createHash } = await import('node:crypto');
      for (const customerId of [email.toUpperCase(), createHash('sha256').update(email.toLowerCase()).digest('hex')]) {
        const { clickId } = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
        const res = await convert({ clickId, customerId });
        expect(codes(res.body)).toContain('self_referral');
        expect(res.body).toMatchObject({ status: 'pending', hold: 'review' });
      }
      const { clickId } = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
      expect(codes((await convert({ clickId, customerId: 'someone-else@example.test' })).body)).not.toContain('self_referral');
    });

    it('geo_mismatch fires when the pixel comes from another country than the click; quiet from the same one', async () => {
      const mismatch = await clickOn(offer.id, { 'x-forwarded-for': HOME_GB });
      await flushClicks(t);
      const txnId = txn();
      expect((await t.http.get('/pixel.gif').query({ goal: 'lead', txn_id: txnId }).set('cookie', mismatch.cookie).set('x-forwarded-for', HOME_BR)).status).toBe(200);
      const [row] = await t.dataSource.query(`SELECT risk_reasons FROM conversions WHERE txn_id = $1`, [txnId]);
      expect(row.risk_reasons).toContainEqual({ code: 'geo_mismatch', detail: 'clicked from GB, converted from BR' });

      const same = await clickOn(offer.id, { 'x-forwarded-for': '81.2.69.150' });
      await flushClicks(t);
      const sameTxn = txn();
      await t.http.get('/pixel.gif').query({ goal: 'lead', txn_id: sameTxn }).set('cookie', same.cookie).set('x-forwarded-for', HOME_GB);
      const [quiet] = await t.dataSource.query(`SELECT risk_reasons FROM conversions WHERE txn_id = $1`, [sameTxn]);
      expect((quiet.risk_reasons as { code: string }[]).map((r) => r.code)).not.toContain('geo_mismatch');
    });

    it('reads the intake facts of concurrent conversions together, each as it would alone', async () => {
      // Every conversion the tests above made (stored and unstored clicks, customers of several
      // affiliates, the affiliate's own e-mail), plus the affiliate's e-mail and a session address as a pixel's.
      const rows: {
        click_id: string | null;
        clicked_at: Date | null;
        advertiser_id: string;
        affiliate_id: string;
        customer_id: string | null;
        ip: string | null;
        source: string;
      }[] = await t.dataSource.query(
        `SELECT click_id, clicked_at, advertiser_id, affiliate_id, customer_id, host(ip) AS ip, source FROM conversions WHERE affiliate_id IS NOT NULL ORDER BY id`,
      );
      const [{ email }] = await t.dataSource.query(`SELECT email FROM principals WHERE id = $1`, [c.affiliate.id]);
      const queries: IntakeQuery[] = rows.map((r) => ({
        clickId: r.clicked_at ? r.click_id : null,
        clickedAt: r.clicked_at,
        advertiserId: r.advertiser_id,
        affiliateId: r.affiliate_id,
        customerId: r.customer_id,
        customerIp: r.source === 'pixel' ? r.ip : null,
      }));
      queries.push({ clickId: 'not-a-click', clickedAt: new Date(), advertiserId: c.advertiser.id, affiliateId: c.affiliate.id, customerId: email, customerIp: '81.2.69.142' });
      expect(queries.length).toBeGreaterThan(10);
      const alone = [];
      for (const q of queries) alone.push(await intakeFacts(t.dataSource.manager, q));
      const together = await intakeFactsMany(t.dataSource.manager, queries);
      expect(together).toEqual(alone);
      // The facts differ from one conversion to another: the comparison compares something.
      expect(new Set(alone.map((f) => JSON.stringify(f))).size).toBeGreaterThan(2);
    });

    it('sub_anomaly fires (the quality job) on a sub id converting far above the offer, and holds its pending conversions; quiet for the others', async () => {
      const subOffer = await createOffer(t, c.advertiser, { lockPeriodDays: 30, quality: { holdAbove: 50 } });
      for (let i = 0; i < 40; i++) await clickOn(subOffer.id, { 'x-forwarded-for': homeIp() }, { sub1: 'cold' });
      const cold = await clickOn(subOffer.id, { 'x-forwarded-for': homeIp() }, { sub1: 'cold' });
      const hot: string[] = [];
      for (let i = 0; i < 5; i++) hot.push((await clickOn(subOffer.id, { 'x-forwarded-for': homeIp() }, { sub1: 'hot' })).clickId);
      await flushClicks(t);
      const hotIds: string[] = [];
      for (const clickId of hot) hotIds.push((await convert({ clickId })).body.id);
      const coldId = (await convert({ clickId: cold.clickId })).body.id;
      await t.app.get(QualityService).checkPending();
      const hotView = (await get(hotIds[4])).body;
      expect(hotView.risk.reasons).toContainEqual({ code: 'sub_anomaly', detail: 'sub1 "hot" converts 100% of its clicks; the offer 13%' });
      expect(codes((await get(coldId)).body)).not.toContain('sub_anomaly');
      expect(hotView).toMatchObject({ status: 'pending', hold: 'review' });
      expect(hotView.events.at(-1).reason).toBe('held for review (risk 51: fast_conversion, sub_anomaly)');
      expect((await get(coldId)).body.hold).toBeNull();
    });

    it("the quality job rejects (reason risk) a pending conversion whose completed score reaches the offer's rejectAbove; the others stay", async () => {
      const subOffer = await createOffer(t, c.advertiser, { lockPeriodDays: 30, quality: { holdAbove: 50, rejectAbove: 50 } });
      for (let i = 0; i < 40; i++) await clickOn(subOffer.id, { 'x-forwarded-for': homeIp() }, { sub1: 'cold' });
      const cold = await clickOn(subOffer.id, { 'x-forwarded-for': homeIp() }, { sub1: 'cold' });
      const hot: string[] = [];
      for (let i = 0; i < 5; i++) hot.push((await clickOn(subOffer.id, { 'x-forwarded-for': homeIp() }, { sub1: 'hot' })).clickId);
      await flushClicks(t);
      const hotIds: string[] = [];
      for (const clickId of hot) hotIds.push((await convert({ clickId })).body.id);
      const coldId = (await convert({ clickId: cold.clickId })).body.id;
      // Intake alone stays under rejectAbove: pending.
      expect((await get(hotIds[4])).body.status).toBe('pending');
      const done = await t.app.get(QualityJobs).check();
      expect(done.rejected).toBeGreaterThanOrEqual(1);
      const hotView = (await get(hotIds[4])).body;
      expect(hotView).toMatchObject({ status: 'rejected', reason: 'risk', hold: null });
      expect(hotView.events.at(-1)).toMatchObject({ actorType: 'system', toStatus: 'rejected' });
      expect((await get(coldId)).body).toMatchObject({ status: 'pending', hold: null });
    });

    it('coupon_leak fires (the quality job) on a coupon used mostly without a click; quiet when clicks stand behind its uses', async () => {
      const coupon = async (code: string) => (await t.http.post('/v1/coupons').set(auth(c.advertiser.apiKey)).send({ offerId: offer.id, affiliateId: c.affiliate.id, code })).body;
      const leaked = await coupon(`LEAK${n}`);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await convert({ coupon: leaked.code })).body.id);
      const honest = await coupon(`TRUE${n}`);
      const honestIds: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { clickId } = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
        honestIds.push((await convert({ coupon: honest.code, clickId: i < 4 ? clickId : undefined })).body.id);
      }
      await t.app.get(QualityService).checkPending();
      expect((await get(ids[4])).body.risk.reasons).toContainEqual({ code: 'coupon_leak', detail: `coupon ${leaked.code}: 5 of its 5 uses in 30 days came without a click` });
      expect(codes((await get(honestIds[4])).body)).not.toContain('coupon_leak');
    });
  });

  describe('appeals', () => {
    it('an affiliate appeals its held conversion; the advertiser approves; each step is an event; the commission is posted', async () => {
      const id = await heldConversion();
      const opened = await appeal(id, '  Real customers from our newsletter.  ');
      expect(opened.status).toBe(201);
      expect(opened.body).toMatchObject({ id: expect.any(String), status: 'open', message: 'Real customers from our newsletter.' });
      expect((await appeal(id, 'again')).status).toBe(409);

      const resolved = await resolve(id, opened.body.id, { decision: 'approve', message: 'Order ids check out.' });
      expect(resolved.status).toBe(200);
      expect(resolved.body).toMatchObject({ status: 'approved', resolution: 'Order ids check out.' });
      const view = (await get(id, c.affiliate.apiKey)).body;
      expect(view).toMatchObject({ status: 'approved', hold: null });
      expect(view.events.map((e: { reason: string }) => e.reason)).toEqual([null, 'appeal opened: Real customers from our newsletter.', 'appeal approved: Order ids check out.']);
      expect(await ledgerKinds(id)).toEqual(['approval', 'commission']);
      expect((await resolve(id, opened.body.id, { decision: 'approve', message: 'twice' })).status).toBe(409);
      expect((await appeal(id, 'approved already')).status).toBe(409);
    });

    it('a conversion rejected for its risk is approved on appeal, posting its commission; a rejected appeal keeps it rejected', async () => {
      const strict = await createOffer(t, c.advertiser, { lockPeriodDays: 0, quality: { rejectAbove: 50 } });
      const rejectedOne = async () => {
        const { clickId } = await clickOn(strict.id, { 'x-forwarded-for': DATACENTRE(3), 'user-agent': 'curl/8.4.0' });
        await flushClicks(t);
        return (await convert({ clickId })).body.id as string;
      };
      const a = await rejectedOne();
      const ap = await appeal(a, 'Please look again.');
      expect((await resolve(a, ap.body.id, { decision: 'approve', message: 'Fine.' })).status).toBe(200);
      expect((await get(a)).body.status).toBe('approved');
      expect(await ledgerKinds(a)).toEqual(['approval', 'commission']);

      const b = await rejectedOne();
      const bp = await appeal(b, 'Please look again.');
      expect((await resolve(b, bp.body.id, { decision: 'reject', message: 'Servers do not buy tents.' })).body.status).toBe('rejected');
      const view = (await get(b)).body;
      expect(view.status).toBe('rejected');
      expect(view.events.at(-1).reason).toBe('appeal rejected: Servers do not buy tents.');
      // A second appeal after the first was decided is allowed (one open at a time).
      expect((await appeal(b, 'New evidence.')).status).toBe(201);
    });

    it('bad input: empty or oversized message → 400; nothing written', async () => {
      const id = await heldConversion();
      for (const message of ['', '   ', 'x'.repeat(2001), undefined, 42]) {
        const res = await appeal(id, message);
        expect(res.status).toBe(400);
      }
      expect(await t.dataSource.query(`SELECT 1 FROM conversion_appeals WHERE conversion_id = $1`, [id])).toEqual([]);
      const ok = await appeal(id, 'fine');
      for (const body of [{ decision: 'maybe', message: 'x' }, { decision: 'approve', message: '' }, { decision: 'approve' }]) {
        expect((await resolve(id, ok.body.id, body)).status).toBe(400);
      }
    });

    it('roles and scope: others → 404, wrong roles → 403, not appealable → 409', async () => {
      const id = await heldConversion();
      expect((await appeal(id, 'mine?', c.otherAffiliate.apiKey)).status).toBe(404);
      for (const key of [c.advertiser.apiKey, c.finance.apiKey, t.adminKey]) expect((await appeal(id, 'x', key)).status).toBe(403);
      const honest = await clickOn(offer.id, { 'x-forwarded-for': homeIp() });
      const approved = (await convert({ clickId: honest.clickId })).body.id;
      expect((await appeal(approved, 'x')).status).toBe(409);
      expect((await appeal('00000000-0000-4000-8000-000000000000', 'x')).status).toBe(404);

      const opened = await appeal(id, 'please');
      expect((await resolve(id, opened.body.id, { decision: 'approve', message: 'x' }, c.otherAdvertiser.apiKey)).status).toBe(404);
      for (const key of [c.affiliate.apiKey, c.finance.apiKey]) expect((await resolve(id, opened.body.id, { decision: 'approve', message: 'x' }, key)).status).toBe(403);
      expect((await resolve(id, '00000000-0000-4000-8000-000000000000', { decision: 'approve', message: 'x' })).status).toBe(404);
      expect((await t.http.get(`/v1/conversions/${id}/appeals`).set(auth(c.otherAffiliate.apiKey))).status).toBe(404);
      const listed = await t.http.get(`/v1/conversions/${id}/appeals`).set(auth(c.advertiser.apiKey));
      expect(listed.body.data).toHaveLength(1);
      // An admin decides any.
      expect((await resolve(id, opened.body.id, { decision: 'reject', message: 'no' }, t.adminKey)).body.status).toBe('rejected');
      expect((await get(id)).body).toMatchObject({ status: 'rejected', reason: 'risk', hold: null });
    });
  });

  describe('the review queue', () => {
    it('lists held conversions by reason and decides them in bulk; others are not found', async () => {
      const [a, b] = [await heldConversion(), await heldConversion()];
      const queue = await t.http.get('/v1/conversions').query({ hold: 'review', riskReason: 'datacenter_ip', limit: '100' }).set(auth(c.advertiser.apiKey));
      expect(queue.body.data.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining([a, b]));
      const none = await t.http.get('/v1/conversions').query({ hold: 'review', riskReason: 'coupon_leak' }).set(auth(c.advertiser.apiKey));
      expect(none.body.data.map((x: { id: string }) => x.id)).not.toContain(a);
      expect((await t.http.get('/v1/conversions').query({ riskReason: 'nope' }).set(auth(c.advertiser.apiKey))).status).toBe(400);

      const decide = (body: Record<string, unknown>, key = c.advertiser.apiKey) => t.http.post('/v1/quality/decisions').set(auth(key)).send(body);
      for (const key of [c.affiliate.apiKey, c.finance.apiKey]) expect((await decide({ ids: [a], decision: 'approve' }, key)).status).toBe(403);
      expect((await decide({ ids: [a], decision: 'approve' }, c.otherAdvertiser.apiKey)).body.data).toEqual([{ id: a, error: 'conversion_not_found' }]);
      expect((await decide({ ids: [], decision: 'approve' })).status).toBe(400);
      expect((await decide({ ids: ['nope'], decision: 'approve' })).status).toBe(400);
      const done = await decide({ ids: [a, b], decision: 'approve' });
      expect(done.body.data).toEqual([
        { id: a, status: 'approved' },
        { id: b, status: 'approved' },
      ]);
      expect((await decide({ ids: [a], decision: 'reject' }, t.adminKey)).body.data).toEqual([{ id: a, status: 'rejected' }]);
    });
  });

  describe('the quality report', () => {
    const today = new Date().toISOString().slice(0, 10);
    const report = (key: string, query: Record<string, string> = {}) =>
      t.http
        .get('/v1/reports/quality')
        .query({ from: today, to: today, ...query })
        .set(auth(key));

    it('groups by affiliate, offer, sub1, channel and country with clicks, conversions, held, rejected and reasons; scoped like stats', async () => {
      const mine = await report(c.advertiser.apiKey, { groupBy: 'affiliate,offer' });
      expect(mine.status).toBe(200);
      const row = mine.body.data.find((r: { affiliateId: string; offerId: string }) => r.affiliateId === c.affiliate.id && r.offerId === offer.id);
      expect(row).toMatchObject({ clicks: expect.any(Number), conversions: expect.any(Number), held: expect.any(Number), rejected: expect.any(Number) });
      expect(row.reasons.datacenter_ip).toBeGreaterThan(0);
      expect(row.reasons.ip_flood).toBeGreaterThanOrEqual(21);
      for (const r of mine.body.data) expect([offer.id]).toEqual(expect.arrayContaining([r.offerId === otherOffer.id ? 'leak' : offer.id]));

      const byCountry = await report(t.adminKey, { groupBy: 'country,channel,sub1' });
      expect(byCountry.body.data.some((r: { country: string }) => r.country === 'NL')).toBe(true);
      const affiliate = await report(c.affiliate.apiKey, { groupBy: 'affiliate' });
      expect(affiliate.body.data.map((r: { affiliateId: string }) => r.affiliateId)).toEqual([c.affiliate.id]);
      expect((await report(c.otherAdvertiser.apiKey, { offerId: offer.id })).body.data).toEqual([]);
      expect((await report(c.otherAffiliate.apiKey, { affiliateId: c.affiliate.id })).body.data).toEqual([]);
      expect((await report(c.finance.apiKey)).status).toBe(200);
    });

    it('stats rows gain held and riskRejected, scoped like the rest of the stats', async () => {
      const counts = async (where: string, params: unknown[]) =>
        (
          await t.dataSource.query(
            `SELECT count(*) FILTER (WHERE status = 'pending' AND hold = 'review')::int AS held, count(*) FILTER (WHERE status = 'rejected' AND reason = 'risk')::int AS "riskRejected"
             FROM conversions WHERE ${where}`,
            params,
          )
        )[0];
      const stats = (key: string, query: Record<string, string> = {}) =>
        t.http
          .get('/v1/reports/stats')
          .query({ from: today, to: today, timezone: 'UTC', ...query })
          .set(auth(key));
      const mine = await stats(c.advertiser.apiKey, { groupBy: 'offer' });
      const row = mine.body.data.find((r: { offerId: string }) => r.offerId === offer.id);
      const expected = await counts('offer_id = $1', [offer.id]);
      expect(expected.held).toBeGreaterThan(0);
      expect(row).toMatchObject(expected);
      const all = await counts('advertiser_id = $1', [c.advertiser.id]);
      expect((await stats(c.advertiser.apiKey)).body.data[0]).toMatchObject(all);
      expect(all.riskRejected).toBeGreaterThan(0);
      const theirs = await stats(c.otherAdvertiser.apiKey, { offerId: offer.id });
      expect(theirs.body.data).toEqual([]);
      const affiliateRows = (await stats(c.affiliate.apiKey, { groupBy: 'affiliate' })).body.data;
      expect(affiliateRows.map((r: { affiliateId: string }) => r.affiliateId)).toEqual([c.affiliate.id]);
      expect(affiliateRows[0]).toMatchObject(await counts('affiliate_id = $1', [c.affiliate.id]));
    });

    it('bad input → 400', async () => {
      expect((await report(c.advertiser.apiKey, { groupBy: 'planet' })).status).toBe(400);
      expect((await report(c.advertiser.apiKey, { from: '2026-13-01' })).status).toBe(400);
      expect((await report(c.advertiser.apiKey, { from: '2020-01-01' })).status).toBe(400);
    });
  });
});
