import { ClickPartitionsService, partitionName } from '../../src/modules/tracking/click-partitions.service';
import { ClicksService } from '../../src/modules/tracking/clicks.service';
import { LinksService } from '../../src/modules/tracking/links.service';
import { createTestApp, TestApp } from '../support/create-test-app';
import { auth, createFinanceUser, PrincipalHandle } from '../support/factories';
import { click, createLink, createLinkedSetup, flushClicks, LinkHandle } from '../support/tracking.factories';

const DAY_MS = 86_400_000;

interface ClickBody {
  id: string;
  clickedAt: string;
  linkId: string;
  ip: string | null;
  [key: string]: unknown;
}

describe('clicks', () => {
  let t: TestApp;
  let setup: Awaited<ReturnType<typeof createLinkedSetup>>;
  let other: Awaited<ReturnType<typeof createLinkedSetup>>;
  let secondLink: LinkHandle;
  let finance: PrincipalHandle;
  const mine: string[] = [];
  const theirs: string[] = [];

  const clickId = (res: { headers: Record<string, string> }) => new URL(res.headers.location).searchParams.get('cid') as string;

  beforeAll(async () => {
    t = await createTestApp();
    [setup, other, finance] = await Promise.all([createLinkedSetup(t), createLinkedSetup(t), createFinanceUser(t)]);
    secondLink = await createLink(t, setup.affiliate, setup.offer.id, { sub1: 'second' });
    const ips = ['203.0.113.77', '2001:db8:abcd:12::1'];
    for (let i = 0; i < 6; i++) {
      const code = i % 3 === 2 ? secondLink.code : setup.link.code;
      mine.push(clickId(await click(t, code, { sub2: `n${i}` }, { 'X-Forwarded-For': ips[i % 2], 'User-Agent': `UA ${i}` })));
    }
    for (let i = 0; i < 2; i++) theirs.push(clickId(await click(t, other.link.code, {}, { 'X-Forwarded-For': '198.51.100.5' })));
    await flushClicks(t);
  });
  afterAll(() => t.close());

  async function list(key: string, query: Record<string, string | number> = {}) {
    const res = await t.http.get('/v1/clicks').query(query).set(auth(key));
    expect(res.status).toBe(200);
    return res.body as { data: ClickBody[]; nextCursor: string | null };
  }
  const ids = (page: { data: ClickBody[] }) => page.data.map((c) => c.id);

  describe('GET /v1/clicks', () => {
    it('shows an affiliate its own clicks, newest first, with a network-truncated IP', async () => {
      const page = await list(setup.affiliate.apiKey);
      expect(ids(page)).toEqual([...mine].reverse());
      const newest = page.data[0];
      expect(newest).toEqual({
        id: mine[5],
        clickedAt: expect.any(String),
        linkId: secondLink.id,
        offerId: setup.offer.id,
        affiliateId: setup.affiliate.id,
        channel: 'other',
        sub1: 'second',
        sub2: 'n5',
        sub3: null,
        sub4: null,
        sub5: null,
        ip: '2001:db8:abcd::',
        userAgent: 'UA 5',
        referrer: null,
        unique: true,
        status: 'ok',
        // Decided with the batch (README, "Traffic quality"): "UA 5" is no browser's user agent.
        risk: { score: 35, reasons: [{ code: 'bot_user_agent', detail: 'user agent "UA 5"' }] },
      });
      expect(page.data[1].ip).toBe('203.0.113.0');
    });

    it('shows an advertiser the clicks on its offers (truncated IP), an admin all (full IP)', async () => {
      expect(ids(await list(setup.advertiser.apiKey))).toEqual([...mine].reverse());
      expect(ids(await list(other.advertiser.apiKey))).toEqual([...theirs].reverse());
      const all = await list(t.adminKey, { limit: 500 });
      expect(ids(all)).toEqual(expect.arrayContaining([...mine, ...theirs]));
      expect(all.data.find((c) => c.id === mine[4])?.ip).toBe('203.0.113.77');
      expect(all.data.find((c) => c.id === mine[5])?.ip).toBe('2001:db8:abcd:12::1');
    });

    it("never shows one principal another's clicks, whatever the filter", async () => {
      const filters: Record<string, string>[] = [{ linkId: other.link.id }, { offerId: other.offer.id }, { affiliateId: other.affiliate.id }];
      for (const query of filters) {
        expect(ids(await list(setup.affiliate.apiKey, query))).toEqual([]);
        expect(ids(await list(setup.advertiser.apiKey, query))).toEqual([]);
      }
      expect(ids(await list(other.affiliate.apiKey))).toEqual([...theirs].reverse());
    });

    it('is refused to finance and to callers without a key', async () => {
      const res = await t.http.get('/v1/clicks').set(auth(finance.apiKey));
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
      expect((await t.http.get('/v1/clicks')).status).toBe(401);
    });

    it('filters by link, offer, affiliate, sub ids and time', async () => {
      const key = setup.affiliate.apiKey;
      expect(ids(await list(key, { linkId: secondLink.id }))).toEqual([mine[5], mine[2]]);
      expect(ids(await list(t.adminKey, { offerId: other.offer.id }))).toEqual([...theirs].reverse());
      expect(ids(await list(setup.advertiser.apiKey, { affiliateId: setup.affiliate.id })).length).toBe(6);
      expect(ids(await list(key, { sub2: 'n3' }))).toEqual([mine[3]]);
      expect(ids(await list(key, { sub1: 'second', sub2: 'n2' }))).toEqual([mine[2]]);
      const future = new Date(Date.now() + DAY_MS).toISOString();
      const past = new Date(Date.now() - DAY_MS).toISOString();
      expect(ids(await list(key, { from: future }))).toEqual([]);
      expect(ids(await list(key, { from: past, to: future })).length).toBe(6);
      expect(ids(await list(key, { to: past }))).toEqual([]);
    });

    it('pages with a cursor on (clicked_at, id) without repeats or gaps', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: ClickBody[]; nextCursor: string | null } = await list(setup.advertiser.apiKey, { limit: 4, ...(cursor ? { cursor } : {}) });
        seen.push(...ids(page));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...mine].reverse());
    });

    it.each([
      ['a word for a date', { from: 'yesterday' }, 'from'],
      ['an impossible date', { to: '2025-13-45' }, 'to'],
      ['a malformed link id', { linkId: 'x' }, 'linkId'],
      ['a page over 500', { limit: 501 }, 'limit'],
      ['a 256-character sub id', { sub1: 'x'.repeat(256) }, 'sub1'],
      ['an unknown filter', { ip: '1.2.3.4' }, 'ip'],
    ])('rejects %s', async (_, query, field) => {
      const res = await t.http.get('/v1/clicks').query(query).set(auth(t.adminKey));
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    });

    it('rejects a cursor it did not issue', async () => {
      for (const cursor of ['garbage', Buffer.from('1.2.3').toString('base64url'), Buffer.from("9' OR 1=1 --.x").toString('base64url')]) {
        const res = await t.http.get('/v1/clicks').query({ cursor }).set(auth(t.adminKey));
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_cursor');
      }
    });
  });

  describe('for conversions', () => {
    it('finds a stored click by id and time, and nothing for another time', async () => {
      const clicks = t.app.get(ClicksService);
      const row = await t.dataSource.query('SELECT clicked_at FROM clicks WHERE id = $1', [mine[0]]);
      const found = await clicks.find(mine[0], row[0].clicked_at);
      expect(found).toMatchObject({ id: mine[0], linkId: setup.link.id, affiliateId: setup.affiliate.id, sub2: 'n0', isUnique: true, status: 'ok' });
      expect(await clicks.find(mine[0], new Date(row[0].clicked_at.getTime() + 1))).toBeNull();
      expect(await clicks.find('nope', new Date())).toBeNull();
    });

    it('answers the context of a link, and null for unknown or malformed ids', async () => {
      const links = t.app.get(LinksService);
      expect(await links.context(secondLink.id)).toEqual({
        linkId: secondLink.id,
        offerId: setup.offer.id,
        affiliateId: setup.affiliate.id,
        advertiserId: setup.advertiser.id,
        channel: 'other',
        sub1: 'second',
        sub2: null,
        sub3: null,
        sub4: null,
        sub5: null,
      });
      expect(await links.context('00000000-0000-4000-8000-000000000000')).toBeNull();
      expect(await links.context('not-a-uuid')).toBeNull();
    });
  });

  describe('partitions', () => {
    it('has daily partitions for today and the next 7 days, and creating them again is a no-op', async () => {
      const partitions = t.app.get(ClickPartitionsService);
      const rows: { name: string }[] = await t.dataSource.query(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'clicks'::regclass`,
      );
      const names = rows.map((r) => r.name);
      for (let d = 0; d <= 7; d++) expect(names).toContain(partitionName(new Date(Date.now() + d * DAY_MS)));
      expect(names).toContain('clicks_default');
      const again = await Promise.all([partitions.ensure(), partitions.ensure(), partitions.ensure()]);
      expect(again).toEqual([[], [], []]);
    });

    it("moves clicks that landed in the default partition into their day's partition when it is created", async () => {
      const day = new Date(Date.now() + 40 * DAY_MS);
      await t.dataSource.query(
        `INSERT INTO clicks (id, clicked_at, link_id, offer_id, affiliate_id, advertiser_id, channel, is_unique)
         VALUES ('future-click', $1, $2, $3, $4, $5, 'other', true)`,
        [day.toISOString(), setup.link.id, setup.offer.id, setup.affiliate.id, setup.advertiser.id],
      );
      const created = await Promise.all([t.app.get(ClickPartitionsService).ensure(day, 1), t.app.get(ClickPartitionsService).ensure(day, 1)]);
      expect(created.flat()).toEqual([partitionName(day)]);
      const [row] = await t.dataSource.query(`SELECT tableoid::regclass::text AS part FROM clicks WHERE id = 'future-click'`);
      expect(row.part).toBe(partitionName(day));
    });
  });
});
