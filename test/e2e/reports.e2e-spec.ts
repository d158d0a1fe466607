import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { Dimension, DIMENSIONS } from '../../src/modules/reports/dto/reports.dto';
import { RollupsService } from '../../src/modules/reports/rollups';
import { ClickBuffer } from '../../src/modules/tracking/click-buffer';
import { ClickIdService } from '../../src/modules/tracking/click-id.service';
import type { ClickStatus } from '../../src/modules/tracking/click.entity';
import type { Channel, SubValues } from '../../src/modules/tracking/tracking-link.entity';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createOffer, OfferHandle, PrincipalHandle } from '../support/factories';
import { Cast, click, createCast, createLink, flushClicks, LinkHandle } from '../support/tracking.factories';

const HOUR = 3600_000;
const GB = '81.2.69.142';
const US = '8.8.8.8';
// A home network (Deutsche Telekom): a data-centre address would hold its conversion for review (README, "Traffic quality").
const DE = '84.128.0.1';
const day = (at: Date | number) => new Date(at).toISOString().slice(0, 10);
const midnight = (at: number) => Math.floor(at / (24 * HOUR)) * 24 * HOUR;

type Row = Record<string, unknown>;
interface Link extends LinkHandle {
  advertiserId: string;
  channel: Channel;
}
interface ClickSpec {
  link: Link;
  at: Date;
  ip?: string | null;
  subs?: Partial<SubValues>;
  status?: ClickStatus;
  unique?: boolean;
}

const stats = (t: TestApp, key: string, query: Record<string, string>) => t.http.get('/v1/reports/stats').query(query).set(auth(key));

async function report(t: TestApp, key: string, query: Record<string, string>): Promise<{ data: Row[]; totals: Row & { byCurrency: Row[] } }> {
  const res = await stats(t, key, query);
  if (res.status !== 200) throw new Error(`stats: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function linkOf(t: TestApp, affiliate: PrincipalHandle, offer: OfferHandle, advertiser: PrincipalHandle, body: Record<string, unknown>): Promise<Link> {
  return { ...(await createLink(t, affiliate, offer.id, body)), advertiserId: advertiser.id } as Link;
}

/** Clicks through the real click buffer (its hook writes the rollups), at chosen times; answers their click ids. */
async function writeClicks(t: TestApp, specs: ClickSpec[]): Promise<string[]> {
  const buffer = t.app.get(ClickBuffer);
  const clickIds = t.app.get(ClickIdService);
  const ids: string[] = [];
  for (const { link, at, ip = null, subs = {}, status = 'ok', unique = true } of specs) {
    const id = clickIds.issue(link.id, at);
    ids.push(id);
    await buffer.push({
      id,
      clickedAt: at,
      linkId: link.id,
      offerId: link.offerId,
      affiliateId: link.affiliateId,
      advertiserId: link.advertiserId,
      channel: link.channel,
      sub1: null,
      sub2: null,
      sub3: null,
      sub4: null,
      sub5: null,
      ...subs,
      ip,
      userAgent: 'Mozilla/5.0 (reports)',
      referrer: null,
      status,
      isUnique: unique,
    });
  }
  await buffer.flush();
  return ids;
}

let txn = 0;
async function postback(t: TestApp, advertiser: PrincipalHandle, clickId: string, params: Record<string, string>): Promise<string> {
  const res = await t.http.get('/postback').query({ token: advertiser.postbackToken, click_id: clickId, txn_id: `R-${++txn}-${Date.now()}`, ...params });
  if (res.status !== 201) throw new Error(`postback: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

async function move(t: TestApp, conversionId: string, action: 'approve' | 'reject' | 'reverse'): Promise<void> {
  const res = await t.http.post(`/v1/conversions/${conversionId}/${action}`).set(auth(t.adminKey)).send({});
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
}

const rebuild = (t: TestApp, body: Record<string, string>) => t.http.post('/v1/reports/rebuild').set(auth(t.adminKey)).send(body);

/** The rows of `data` matching `where` (a subset of fields). */
const rowsWhere = (data: Row[], where: Row) => data.filter((row) => Object.entries(where).every(([k, v]) => row[k] === v));
const only = (data: Row[], where: Row) => {
  const found = rowsWhere(data, where);
  if (found.length !== 1) throw new Error(`${found.length} rows match ${JSON.stringify(where)} in ${JSON.stringify(data)}`);
  return found[0];
};
const counts = (row: Row) => ({ clicks: row.clicks, conversions: row.conversions });

describe('reports', () => {
  /**
   * A fixed network: advertiser A's USD offer and B's EUR offer; affiliate X sends traffic to
   * both, Y to A's only. Clicks yesterday (through the click buffer), conversions now (postbacks).
   */
  describe('a known network', () => {
    let t: TestApp;
    let cast: Cast;
    let usd: OfferHandle;
    let eur: OfferHandle;
    let window: Record<string, string>;
    const y0 = midnight(Date.now()) - 24 * HOUR;
    const yesterday = day(y0);
    const today = day(Date.now());

    beforeAll(async () => {
      t = await createTestApp();
      cast = await createCast(t);
      const { advertiser: a, otherAdvertiser: b, affiliate: x, otherAffiliate: y } = cast;
      [usd, eur] = await Promise.all([createOffer(t, a), createOffer(t, b, { currency: 'EUR' })]);
      const [xa, xb, ya] = await Promise.all([linkOf(t, x, usd, a, { channel: 'email' }), linkOf(t, x, eur, b, { channel: 'seo' }), linkOf(t, y, usd, a, { channel: 'social' })]);
      const at = (h: number, m: number) => new Date(y0 + h * HOUR + m * 60_000);
      const [c1, c2, c3, , c5, , c7] = await writeClicks(t, [
        { link: xa, at: at(9, 15), ip: GB, subs: { sub1: 'a1', sub2: 'a2', sub3: 'a3', sub4: 'a4', sub5: 'a5' } },
        { link: xa, at: at(9, 45), ip: GB, subs: { sub1: 'a1' } },
        { link: xa, at: at(10, 5), ip: GB, subs: { sub1: 'b1' }, unique: false },
        { link: xa, at: at(23, 30), ip: US, subs: { sub1: 'b1' }, status: 'offer_paused' },
        { link: xb, at: at(9, 20) },
        { link: xb, at: at(11, 0) },
        { link: ya, at: at(10, 10), ip: DE },
        { link: ya, at: at(10, 20), ip: DE },
        { link: ya, at: at(10, 30), ip: DE },
      ]);
      await postback(t, a, c1, { goal: 'sale', amount: '100.00', currency: 'USD' }); // 1500 / 1000, pending
      await move(t, await postback(t, a, c2, { goal: 'lead' }), 'approve'); // 500 / 300
      await move(t, await postback(t, a, c3, { goal: 'lead' }), 'reject');
      await postback(t, b, c5, { goal: 'lead' }); // EUR 500 / 300, pending
      await postback(t, a, c7, { goal: 'sale', amount: '50.00' }); // 750 / 500, pending
      window = { from: yesterday, to: today, timezone: 'UTC' };
    });
    afterAll(() => t.close());

    const USD_STAFF = {
      currency: 'USD',
      // The click on the paused offer is not a click: it counts in blockedClicks only.
      clicks: 6,
      uniqueClicks: 5,
      blockedClicks: 1,
      conversions: 4,
      pending: 2,
      approved: 1,
      rejected: 1,
      reversed: 0,
      held: 0,
      riskRejected: 0,
      saleAmount: 15000,
      revenue: 2750,
      payout: 1800,
      margin: 950,
      conversionRate: 0.6667,
      approvalRate: 0.5,
      epc: 300,
      cpa: 1125,
      cpl: 500,
      roi: 4.4545,
    };
    const EUR_STAFF = {
      currency: 'EUR',
      clicks: 2,
      uniqueClicks: 2,
      blockedClicks: 0,
      conversions: 1,
      pending: 1,
      approved: 0,
      rejected: 0,
      reversed: 0,
      held: 0,
      riskRejected: 0,
      saleAmount: 0,
      revenue: 500,
      payout: 300,
      margin: 200,
      conversionRate: 0.5,
      approvalRate: null,
      epc: 150,
      cpa: null,
      cpl: 500,
      roi: -1,
    };
    /** What an advertiser sees: no margin, and nothing of what the affiliate earns (payout, EPC). */
    const asAdvertiser = ({ margin: _m, payout: _p, epc: _e, ...row }: Row) => row;

    it('answers admin and finance every currency with margin, and totals that add up', async () => {
      for (const key of [t.adminKey, cast.finance.apiKey]) {
        const body = await report(t, key, window);
        expect(body.data).toEqual([EUR_STAFF, USD_STAFF]);
        expect(body.totals).toEqual({
          clicks: 8,
          uniqueClicks: 7,
          blockedClicks: 1,
          conversions: 5,
          pending: 3,
          approved: 1,
          rejected: 1,
          reversed: 0,
          held: 0,
          riskRejected: 0,
          conversionRate: 0.625,
          approvalRate: 0.5,
          byCurrency: [EUR_STAFF, USD_STAFF],
        });
      }
    });

    it('shows an advertiser its own offers, its cost as revenue and its ROI, but no margin, payout or EPC', async () => {
      expect((await report(t, cast.advertiser.apiKey, window)).data).toEqual([asAdvertiser(USD_STAFF)]);
      expect((await report(t, cast.otherAdvertiser.apiKey, window)).data).toEqual([asAdvertiser(EUR_STAFF)]);
    });

    it("shows an affiliate its own traffic, what it earns per result, and nothing of the advertiser's money", async () => {
      const x = await report(t, cast.affiliate.apiKey, window);
      expect(x.data).toEqual([
        {
          currency: 'EUR',
          clicks: 2,
          uniqueClicks: 2,
          blockedClicks: 0,
          conversions: 1,
          pending: 1,
          approved: 0,
          rejected: 0,
          reversed: 0,
          held: 0,
          riskRejected: 0,
          saleAmount: 0,
          payout: 300,
          conversionRate: 0.5,
          approvalRate: null,
          epc: 150,
          cpa: null,
          cpl: 300,
        },
        {
          currency: 'USD',
          clicks: 3,
          uniqueClicks: 2,
          blockedClicks: 1,
          conversions: 3,
          pending: 1,
          approved: 1,
          rejected: 1,
          reversed: 0,
          held: 0,
          riskRejected: 0,
          saleAmount: 10000,
          payout: 1300,
          conversionRate: 1,
          approvalRate: 0.5,
          epc: 433.33,
          cpa: 1000,
          cpl: 300,
        },
      ]);
      const y = await report(t, cast.otherAffiliate.apiKey, { ...window, groupBy: 'offer,affiliate,advertiser' });
      expect(y.data).toEqual([
        {
          offerId: usd.id,
          affiliateId: cast.otherAffiliate.id,
          advertiserId: cast.advertiser.id,
          currency: 'USD',
          clicks: 3,
          uniqueClicks: 3,
          blockedClicks: 0,
          conversions: 1,
          pending: 1,
          approved: 0,
          rejected: 0,
          reversed: 0,
          held: 0,
          riskRejected: 0,
          saleAmount: 5000,
          payout: 500,
          conversionRate: 0.3333,
          approvalRate: null,
          epc: 166.67,
          cpa: 500,
          cpl: null,
        },
      ]);
      for (const row of [...x.data, ...y.data, ...x.totals.byCurrency]) for (const field of ['revenue', 'margin', 'roi']) expect(row).not.toHaveProperty(field);
    });

    it("answers no rows for another principal's ids, as for unknown ones, and narrows by one's own", async () => {
      const { advertiser, otherAdvertiser, affiliate, otherAffiliate } = cast;
      const empty = {
        clicks: 0,
        uniqueClicks: 0,
        blockedClicks: 0,
        conversions: 0,
        pending: 0,
        approved: 0,
        rejected: 0,
        reversed: 0,
        held: 0,
        riskRejected: 0,
        conversionRate: null,
        approvalRate: null,
        byCurrency: [],
      };
      for (const [key, filter] of [
        [affiliate.apiKey, { affiliateId: otherAffiliate.id }],
        [otherAffiliate.apiKey, { offerId: eur.id }],
        [advertiser.apiKey, { offerId: eur.id }],
        [advertiser.apiKey, { advertiserId: otherAdvertiser.id }],
        [t.adminKey, { affiliateId: advertiser.id }],
      ] as const) {
        const body = await report(t, key, { ...window, ...filter });
        expect(body).toEqual({ data: [], totals: empty });
      }
      expect((await report(t, affiliate.apiKey, { ...window, offerId: eur.id })).data).toEqual([expect.objectContaining({ currency: 'EUR', clicks: 2 })]);
      expect((await report(t, advertiser.apiKey, { ...window, affiliateId: affiliate.id })).data).toEqual([
        expect.objectContaining({ currency: 'USD', clicks: 3, conversions: 3 }),
      ]);
      expect((await report(t, t.adminKey, { ...window, advertiserId: otherAdvertiser.id, currency: 'EUR' })).data).toEqual([EUR_STAFF]);
      expect((await report(t, t.adminKey, { ...window, currency: 'JPY' })).data).toEqual([]);
      await stats(t, 'afx_aff_not-a-key', window).expect(401);
    });

    it('groups by day and hour in the time zone', async () => {
      const days = await report(t, t.adminKey, { ...window, groupBy: 'day' });
      expect(days.data.map((r) => [r.day, r.currency, r.clicks, r.conversions])).toEqual([
        [yesterday, 'EUR', 2, 0],
        [yesterday, 'USD', 6, 0],
        [today, 'EUR', 0, 1],
        [today, 'USD', 0, 4],
      ]);
      const hours = await report(t, t.adminKey, { ...window, groupBy: 'hour', currency: 'USD' });
      expect(hours.data.slice(0, 3).map((r) => [r.hour, r.clicks])).toEqual([
        [`${yesterday}T09:00:00+00:00`, 2],
        [`${yesterday}T10:00:00+00:00`, 4],
        [`${yesterday}T23:00:00+00:00`, 0],
      ]);
      // Tokyo is 9 hours ahead: yesterday's 23:30 UTC is today there.
      const tokyo = await report(t, t.adminKey, { from: yesterday, to: today, timezone: 'Asia/Tokyo', groupBy: 'hour,day', currency: 'USD' });
      expect(only(tokyo.data, { hour: `${today}T08:00:00+09:00` })).toMatchObject({ day: today, clicks: 0, blockedClicks: 1 });
      expect(only(tokyo.data, { hour: `${yesterday}T18:00:00+09:00` })).toMatchObject({ day: yesterday, clicks: 2 });
    });

    it('groups by offer, goal, affiliate, advertiser and channel', async () => {
      const { advertiser, otherAdvertiser, affiliate, otherAffiliate } = cast;
      const by = async (groupBy: string) => (await report(t, t.adminKey, { ...window, groupBy })).data;
      const offers = await by('offer');
      expect(offers.map((r) => [r.offerId, r.currency, r.clicks, r.conversions])).toEqual(
        [
          [usd.id, 'USD', 6, 4],
          [eur.id, 'EUR', 2, 1],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      // Clicks have no goal: they stay on the row with goal null; the goals hold the conversions.
      expect((await by('goal')).map((r) => [r.goal, r.currency, r.clicks, r.conversions, r.approved, r.rejected, r.cpa, r.cpl])).toEqual([
        ['lead', 'EUR', 0, 1, 0, 0, null, 500],
        ['lead', 'USD', 0, 2, 1, 1, null, 500],
        ['sale', 'USD', 0, 2, 0, 0, 1125, null],
        [null, 'EUR', 2, 0, 0, 0, null, null],
        [null, 'USD', 6, 0, 0, 0, null, null],
      ]);
      const affiliates = await by('affiliate');
      expect(counts(only(affiliates, { affiliateId: affiliate.id, currency: 'USD' }))).toEqual({ clicks: 3, conversions: 3 });
      expect(counts(only(affiliates, { affiliateId: affiliate.id, currency: 'EUR' }))).toEqual({ clicks: 2, conversions: 1 });
      expect(counts(only(affiliates, { affiliateId: otherAffiliate.id, currency: 'USD' }))).toEqual({ clicks: 3, conversions: 1 });
      expect(affiliates).toHaveLength(3);
      const advertisers = await by('advertiser');
      expect(advertisers.map((r) => [r.advertiserId, r.currency])).toEqual(
        expect.arrayContaining([
          [advertiser.id, 'USD'],
          [otherAdvertiser.id, 'EUR'],
        ]),
      );
      expect(advertisers).toHaveLength(2);
      expect((await by('channel')).map((r) => [r.channel, r.currency, r.clicks, r.conversions])).toEqual([
        ['email', 'USD', 3, 3],
        ['seo', 'EUR', 2, 1],
        ['social', 'USD', 3, 1],
      ]);
    });

    it('groups by each sub id and by country, conversions following their click', async () => {
      const by = async (groupBy: string) => (await report(t, t.adminKey, { ...window, groupBy })).data.map((r) => [r[groupBy], r.currency, r.clicks, r.conversions]);
      expect(await by('sub1')).toEqual([
        ['a1', 'USD', 2, 2],
        ['b1', 'USD', 1, 1],
        [null, 'EUR', 2, 1],
        [null, 'USD', 3, 1],
      ]);
      for (const sub of ['sub2', 'sub3', 'sub4', 'sub5']) {
        expect(await by(sub)).toEqual([
          [`a${sub.slice(3)}`, 'USD', 1, 1],
          [null, 'EUR', 2, 1],
          [null, 'USD', 5, 3],
        ]);
      }
      expect(await by('country')).toEqual([
        ['DE', 'USD', 3, 1],
        ['GB', 'USD', 3, 3],
        ['US', 'USD', 0, 0],
        [null, 'EUR', 2, 1],
      ]);
      const four = await report(t, t.adminKey, { ...window, groupBy: 'day,channel,country,sub1' });
      expect(only(four.data, { day: yesterday, channel: 'email', country: 'GB', sub1: 'a1' })).toMatchObject({ clicks: 2, conversions: 0 });
      expect(only(four.data, { day: today, channel: 'email', country: 'GB', sub1: 'a1' })).toMatchObject({ clicks: 0, conversions: 2, saleAmount: 10000 });
      // Whatever the grouping, the totals are the same.
      expect(four.totals).toEqual((await report(t, t.adminKey, window)).totals);
    });

    it('refuses bad input with 400 and says which field', async () => {
      const bad: [Record<string, string>, string][] = [
        [{ groupBy: 'day,week' }, 'groupBy'],
        [{ groupBy: 'day,day' }, 'groupBy'],
        [{ groupBy: 'day,offer,goal,affiliate,channel' }, 'groupBy'],
        [{ timezone: 'Mars/Olympus' }, 'timezone'],
        [{ timezone: '+05:30' }, 'timezone'],
        [{ timezone: 'CET' }, 'timezone'],
        [{ from: today, to: yesterday }, 'to'],
        [{ from: '2026-02-30' }, 'from'],
        [{ to: 'today' }, 'to'],
        [{ from: '2024-01-01', to: '2026-01-01' }, 'to'],
        [{ currency: 'usd' }, 'currency'],
        [{ offerId: 'nope' }, 'offerId'],
        [{ sort: 'clicks' }, 'sort'],
      ];
      for (const [query, field] of bad) {
        const res = await stats(t, t.adminKey, { ...window, ...query });
        expect([res.status, res.body.error.details.map((d: { field: string }) => d.field)]).toEqual([400, expect.arrayContaining([field])]);
      }
      await stats(t, t.adminKey, { to: today }).expect(400);
    });

    it('lets only an admin rebuild, over a checked range', async () => {
      for (const key of [cast.finance.apiKey, cast.advertiser.apiKey, cast.affiliate.apiKey]) {
        await t.http.post('/v1/reports/rebuild').set(auth(key)).send(window).expect(403);
      }
      await rebuild(t, { from: today, to: yesterday }).expect(400);
      const before = await report(t, t.adminKey, { ...window, groupBy: 'hour,country,sub1' });
      const res = await rebuild(t, window).expect(200);
      expect(res.body).toEqual({ from: `${yesterday}T00:00:00.000Z`, to: new Date(midnight(Date.now()) + 24 * HOUR).toISOString() });
      expect(await report(t, t.adminKey, { ...window, groupBy: 'hour,country,sub1' })).toEqual(before);
    });
  });

  describe('freshness and time zones', () => {
    let t: TestApp;
    let cast: Cast;

    beforeAll(async () => {
      t = await createTestApp();
      cast = await createCast(t);
    });
    afterAll(() => t.close());

    it('shows a click once it is flushed, and a postback and its status changes at once', async () => {
      const offer = await createOffer(t, cast.advertiser);
      const link = await createLink(t, cast.affiliate, offer.id, { channel: 'native' });
      const now = { from: day(Date.now()), to: day(Date.now()), timezone: 'UTC', offerId: offer.id, groupBy: 'country,sub1,channel' };
      const res = await click(t, link.code, { sub1: 'fresh' }, { 'X-Forwarded-For': GB }).expect(302);
      await flushClicks(t);
      expect((await report(t, cast.affiliate.apiKey, now)).data).toEqual([expect.objectContaining({ country: 'GB', sub1: 'fresh', channel: 'native', clicks: 1, conversions: 0 })]);

      const clickId = new URL(res.headers.location).searchParams.get('cid') as string;
      const id = await postback(t, cast.advertiser, clickId, { goal: 'lead' });
      const after = await report(t, cast.advertiser.apiKey, now);
      expect(after.data).toEqual([expect.objectContaining({ country: 'GB', sub1: 'fresh', clicks: 1, conversions: 1, pending: 1, revenue: 500 })]);
      expect(after.data[0]).not.toHaveProperty('payout');
      await move(t, id, 'reverse');
      expect((await report(t, cast.advertiser.apiKey, now)).data).toEqual([expect.objectContaining({ conversions: 1, pending: 0, reversed: 1, revenue: 0 })]);

      // Folding the deltas into the rollups changes no figure.
      const before = await report(t, t.adminKey, now);
      await t.app.get(RollupsService).compact();
      await t.app.get(RollupsService).compact();
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM report_conversion_deltas`);
      expect(n).toBe(0);
      expect(await report(t, t.adminKey, now)).toEqual(before);
    });

    /**
     * Europe/Berlin springs forward at 01:00 UTC on 2026-03-29 (a 23-hour day) and falls back at
     * 01:00 UTC on 2026-10-25 (25 hours). The same clicks are written twice: as raw rows through
     * SQL, then rebuilt; and through the click buffer, whose hook writes the rollups.
     */
    describe('across DST changes in Europe/Berlin', () => {
      const spring = ['2026-03-28T22:30:00Z', '2026-03-28T23:30:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z', '2026-03-29T21:30:00Z', '2026-03-29T22:30:00Z'];
      const autumn = ['2026-10-24T21:30:00Z', '2026-10-24T22:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z', '2026-10-25T22:30:00Z', '2026-10-25T23:30:00Z'];
      let raw: OfferHandle;
      let hooked: OfferHandle;

      beforeAll(async () => {
        [raw, hooked] = await Promise.all([createOffer(t, cast.advertiser), createOffer(t, cast.advertiser)]);
        const rawLink = await linkOf(t, cast.affiliate, raw, cast.advertiser, { channel: 'email' });
        const hookedLink = await linkOf(t, cast.affiliate, hooked, cast.advertiser, { channel: 'email' });
        const times = [...spring, ...autumn];
        await insertRaw(t.dataSource, rawLink, times);
        await writeClicks(
          t,
          times.map((at) => ({ link: hookedLink, at: new Date(at) })),
        );
        for (const [from, to] of [
          ['2026-03-28', '2026-03-30'],
          ['2026-10-24', '2026-10-26'],
        ])
          await rebuild(t, { from, to, timezone: 'Europe/Berlin' }).expect(200);
      });

      const berlin = async (offer: OfferHandle, from: string, to: string, groupBy: string) =>
        (await report(t, t.adminKey, { from, to, timezone: 'Europe/Berlin', groupBy, offerId: offer.id })).data;

      it('cuts a 23-hour day and a 25-hour day at local midnight', async () => {
        for (const offer of [raw, hooked]) {
          expect((await berlin(offer, '2026-03-28', '2026-03-30', 'day')).map((r) => [r.day, r.clicks])).toEqual([
            ['2026-03-28', 1],
            ['2026-03-29', 4],
            ['2026-03-30', 1],
          ]);
          expect((await berlin(offer, '2026-10-24', '2026-10-26', 'day')).map((r) => [r.day, r.clicks])).toEqual([
            ['2026-10-24', 1],
            ['2026-10-25', 4],
            ['2026-10-26', 1],
          ]);
          // The same clicks fall on other days in UTC.
          const utc = await report(t, t.adminKey, { from: '2026-03-28', to: '2026-03-30', timezone: 'UTC', groupBy: 'day', offerId: offer.id });
          expect(utc.data.map((r) => [r.day, r.clicks])).toEqual([
            ['2026-03-28', 2],
            ['2026-03-29', 4],
          ]);
        }
        // Conversions (raw rows only) follow the same days: one on each DST day.
        const conversions = (await berlin(raw, '2026-03-28', '2026-10-26', 'day')).filter((r) => Number(r.conversions) > 0);
        expect(conversions.map((r) => [r.day, r.conversions, r.approved, r.rejected])).toEqual([
          ['2026-03-29', 1, 1, 0],
          ['2026-10-25', 1, 0, 1],
        ]);
      });

      it('labels local hours with their offset: no 02:00 in spring, two in autumn', async () => {
        for (const offer of [raw, hooked]) {
          expect((await berlin(offer, '2026-03-29', '2026-03-29', 'hour')).map((r) => r.hour)).toEqual([
            '2026-03-29T00:00:00+01:00',
            '2026-03-29T01:00:00+01:00',
            '2026-03-29T03:00:00+02:00',
            '2026-03-29T23:00:00+02:00',
          ]);
          expect((await berlin(offer, '2026-10-25', '2026-10-25', 'hour')).map((r) => r.hour)).toEqual([
            '2026-10-25T00:00:00+02:00',
            '2026-10-25T02:00:00+02:00',
            '2026-10-25T02:00:00+01:00',
            '2026-10-25T23:00:00+01:00',
          ]);
        }
      });

      it('starts days at the first whole UTC hour in half-hour zones (the documented limit)', async () => {
        const kolkata = await report(t, t.adminKey, { from: '2026-03-29', to: '2026-03-29', timezone: 'Asia/Kolkata', groupBy: 'hour', offerId: raw.id });
        // 2026-03-28T22:30Z is 04:00 in Kolkata, but its hour bucket (22:00Z) is labelled 03:30.
        expect(kolkata.data.map((r) => r.hour)).toEqual(['2026-03-29T03:30:00+05:30', '2026-03-29T04:30:00+05:30', '2026-03-29T05:30:00+05:30', '2026-03-29T06:30:00+05:30']);
      });
    });
  });

  /** Random clicks, conversions and status changes: the report always equals GROUP BY on the raw rows. */
  describe('rollups against the raw rows', () => {
    let t: TestApp;
    let links: Link[];
    let advertisers: Record<string, PrincipalHandle>;

    beforeAll(async () => {
      t = await createTestApp();
      const cast = await createCast(t);
      const offers = await Promise.all([createOffer(t, cast.advertiser), createOffer(t, cast.otherAdvertiser, { currency: 'EUR', lockPeriodDays: 0 })]);
      const owners = [cast.advertiser, cast.otherAdvertiser];
      links = await Promise.all(
        [cast.affiliate, cast.otherAffiliate].flatMap((affiliate, i) =>
          offers.map((offer, j) => linkOf(t, affiliate, offer, owners[j], { channel: (['email', 'seo', 'social'] as const)[(i + j) % 3] })),
        ),
      );
      advertisers = Object.fromEntries(owners.map((o) => [o.id, o]));
    });
    afterAll(() => t.close());

    const clickArb = fc.record({
      link: fc.nat(3),
      minutesAgo: fc.integer({ min: 2, max: 4 * 24 * 60 }),
      sub1: fc.constantFrom(null, 'x', 'y'),
      sub2: fc.constantFrom(null, 'z'),
      ip: fc.constantFrom(null, GB, US, DE, '2a01:4f8::1', '10.0.0.1'),
      blocked: fc.boolean(),
      unique: fc.boolean(),
    });
    const conversionArb = fc.record({
      click: fc.nat(),
      goal: fc.constantFrom('sale', 'lead'),
      cents: fc.integer({ min: 1, max: 100_000 }),
      then: fc.constantFrom('none', 'approve', 'reject', 'reverse', 'approve,reverse', 'approve,pay'),
    });

    it('equals GROUP BY on raw clicks and conversions, live, folded and rebuilt', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(clickArb, { minLength: 1, maxLength: 25 }),
          fc.array(conversionArb, { maxLength: 6 }),
          fc.subarray([...DIMENSIONS], { maxLength: 3 }),
          fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'),
          fc.nat(4),
          async (clicks, conversions, groupBy, timezone, daysBack) => {
            const now = Date.now();
            const specs = clicks.map((c) => ({
              link: links[c.link],
              at: new Date(now - c.minutesAgo * 60_000),
              ip: c.ip,
              subs: { sub1: c.sub1, sub2: c.sub2 },
              status: (c.blocked ? 'link_archived' : 'ok') as ClickStatus,
              unique: c.unique,
            }));
            const ids = await writeClicks(t, specs);
            for (const c of conversions) {
              const i = c.click % ids.length;
              const amount = { amount: (c.cents / 100).toFixed(2) };
              const id = await postback(t, advertisers[specs[i].link.advertiserId], ids[i], { goal: c.goal, ...amount });
              const [{ status }] = await t.dataSource.query(`SELECT status FROM conversions WHERE id = $1`, [id]);
              for (const step of c.then.split(',')) {
                if (step === 'none' || (step === 'approve' && status === 'approved')) continue;
                // What a payout run does to approved conversions, in bulk and through no hook: the report must not move.
                if (step === 'pay') await t.dataSource.query(`UPDATE conversions SET status = 'paid' WHERE id = $1`, [id]);
                else await move(t, id, step as 'approve' | 'reject' | 'reverse');
              }
            }
            const query = { from: day(now - daysBack * 24 * HOUR), to: day(now), timezone, ...(groupBy.length ? { groupBy: groupBy.join(',') } : {}) };
            const expected = await oracle(t.dataSource, groupBy, query);
            expect(comparable(await report(t, t.adminKey, query), groupBy)).toEqual(expected);
            await t.app.get(RollupsService).compact();
            expect(comparable(await report(t, t.adminKey, query), groupBy)).toEqual(expected);
            await rebuild(t, { from: day(now - 5 * 24 * HOUR), to: day(now), timezone: 'UTC' }).expect(200);
            expect(comparable(await report(t, t.adminKey, query), groupBy)).toEqual(expected);
          },
        ),
        { numRuns: 10 },
      );
    });
  });
});

const COUNTERS = ['clicks', 'uniqueClicks', 'blockedClicks', 'pending', 'approved', 'rejected', 'reversed', 'saleAmount', 'revenue', 'payout'];

/** Report rows as `dims|currency → counters`, hours as instants. */
function comparable(body: { data: Row[] }, groupBy: Dimension[]): Record<string, number[]> {
  const names: Record<string, string> = { offer: 'offerId', affiliate: 'affiliateId', advertiser: 'advertiserId' };
  return Object.fromEntries(
    body.data.map((row) => {
      const key = groupBy.map((d) => (d === 'hour' ? new Date(String(row.hour)).toISOString() : row[names[d] ?? d])).concat(row.currency);
      return [JSON.stringify(key), COUNTERS.map((c) => Number(row[c]))];
    }),
  );
}

/** The same figures straight from clicks and conversions, written independently of the rollup SQL. */
async function oracle(db: DataSource, groupBy: Dimension[], query: { from: string; to: string; timezone: string }): Promise<Record<string, number[]>> {
  const dims: Record<Dimension, string> = {
    hour: `to_char(date_trunc('hour', f.at, 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
    day: `to_char(f.at AT TIME ZONE $1, 'YYYY-MM-DD')`,
    offer: 'f.offer_id::text',
    goal: 'f.goal',
    affiliate: 'f.affiliate_id::text',
    advertiser: 'f.advertiser_id::text',
    channel: `nullif(f.channel, '')`,
    sub1: 'f.sub1',
    sub2: 'f.sub2',
    sub3: 'f.sub3',
    sub4: 'f.sub4',
    sub5: 'f.sub5',
    country: 'f.country',
  };
  const accepted = `c.status IN ('pending', 'approved', 'paid')`;
  const rows: Record<string, unknown>[] = await db.query(
    `WITH f AS (
       SELECT k.clicked_at AS at, k.offer_id, k.affiliate_id, o.advertiser_id, k.channel, NULL::text AS goal, o.currency::text AS currency,
              k.country, k.sub1, k.sub2, k.sub3, k.sub4, k.sub5,
              (k.status = 'ok')::int AS clicks, (k.is_unique AND k.status = 'ok')::int AS unique_clicks, (k.status <> 'ok')::int AS blocked, 0 AS pending, 0 AS approved, 0 AS rejected, 0 AS reversed,
              0 AS sale_amount, 0 AS revenue, 0 AS payout
         FROM clicks k JOIN offers o ON o.id = k.offer_id
       UNION ALL
       SELECT c.created_at, c.offer_id, c.affiliate_id, o.advertiser_id, coalesce(k.channel, l.channel), c.goal_key, c.currency,
              k.country, k.sub1, k.sub2, k.sub3, k.sub4, k.sub5,
              0, 0, 0, (c.status = 'pending')::int, (c.status IN ('approved', 'paid'))::int, (c.status = 'rejected')::int, (c.status = 'reversed')::int,
              CASE WHEN ${accepted} THEN coalesce(c.sale_amount, 0) ELSE 0 END, CASE WHEN ${accepted} THEN c.revenue ELSE 0 END, CASE WHEN ${accepted} THEN c.payout ELSE 0 END
         FROM conversions c JOIN offers o ON o.id = c.offer_id
         LEFT JOIN clicks k ON k.id = c.click_id LEFT JOIN tracking_links l ON l.id = c.link_id
        WHERE c.status <> 'unattributed')
     SELECT json_build_array(${[...groupBy.map((d) => dims[d]), 'f.currency'].join(', ')}) AS key,
            json_build_array(sum(clicks), sum(unique_clicks), sum(blocked), sum(pending), sum(approved), sum(rejected), sum(reversed), sum(sale_amount), sum(revenue), sum(payout)) AS counters
       FROM f
      WHERE f.at >= ($2::date::timestamp AT TIME ZONE $1) AND f.at < (($3::date + 1)::timestamp AT TIME ZONE $1)
      GROUP BY ${[...groupBy.map((d) => dims[d]), 'f.currency'].join(', ')}`,
    [query.timezone, query.from, query.to],
  );
  return Object.fromEntries(rows.map((r) => [JSON.stringify(r.key), (r.counters as (string | number)[]).map(Number)]));
}

/** Clicks at `times` and two conversions (one approved in spring, one rejected in autumn), as raw rows. */
async function insertRaw(db: DataSource, link: Link, times: string[]): Promise<void> {
  await db.query(
    `INSERT INTO clicks (id, clicked_at, link_id, offer_id, affiliate_id, advertiser_id, channel, is_unique, status)
     SELECT 'raw-' || n, at, $2, $3, $4, $5, $6, true, 'ok' FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(at, n)`,
    [times, link.id, link.offerId, link.affiliateId, link.advertiserId, link.channel],
  );
  await db.query(
    `INSERT INTO conversions (advertiser_id, offer_id, goal_key, affiliate_id, link_id, click_id, clicked_at, txn_id, currency, revenue, payout, status, source, created_at)
     VALUES ($1, $2, 'lead', $3, $4, 'raw-2', $5, 'raw-spring', 'USD', 500, 300, 'approved', 'api', '2026-03-28T23:45:00Z'),
            ($1, $2, 'lead', $3, $4, 'raw-10', $6, 'raw-autumn', 'USD', 500, 300, 'rejected', 'api', '2026-10-25T01:45:00Z')`,
    [link.advertiserId, link.offerId, link.affiliateId, link.id, times[1], times[9]],
  );
}
